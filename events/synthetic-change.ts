/**
 * Synthetic ledger change events for the benchmarks of the change feed's projections: the change
 * event TigerBeetle's CDC job would send for `syntheticOutcome(sequence)` (./synthetic.ts) — the
 * same transfer id, accounts, amount and timestamp — so the two feeds describe one ledger.
 *
 * Balances are the accounts' exact totals as of the event, in closed form: debit account
 * `10_000 + sequence % accounts` has posted every earlier transfer of its residue class, and
 * credit account `1 + sequence % creditAccounts` every earlier transfer of its own class. Pure: a
 * sequence number always gives the same bytes.
 */
import type { ChangeAccount, LedgerChange } from './change';

export interface SyntheticChangeOptions {
  /** Distinct debit accounts (as `SyntheticOptions.accounts`). */
  accounts: number;
  /**
   * Distinct credit accounts; 1 (the default) is the outcomes' single house account, every
   * event's credit record then on one partition of the change topic (a hot account).
   */
  creditAccounts?: number;
}

/** As ./synthetic.ts: the same time base and amounts. */
const TIMESTAMP_BASE_NS = 1_763_700_000_000_000_000n;
const AMOUNT_BASE = 1n << 70n;
const TRANSFER_ID_BASE = 1n << 100n;
const DEBIT_ACCOUNT_BASE = 10_000n;

/** Sum of the amounts of sequences r, r + m, r + 2m, … up to and including `sequence`. */
function classTotal(sequence: bigint, modulus: bigint): bigint {
  const residue = sequence % modulus;
  const count = sequence / modulus + 1n;
  // Σ (AMOUNT_BASE + residue + j·m) for j in 0 … count − 1.
  return count * (AMOUNT_BASE + residue) + (modulus * count * (count - 1n)) / 2n;
}

function account(id: bigint, debits: bigint, credits: bigint): ChangeAccount {
  return {
    id,
    debitsPending: 0n,
    debitsPosted: debits,
    creditsPending: 0n,
    creditsPosted: credits,
    userData128: 0n,
    userData64: 0n,
    userData32: 0,
    code: 1,
    flags: 0,
    timestamp: TIMESTAMP_BASE_NS - 1_000n - id,
  };
}

export function syntheticChange(sequence: number, options: SyntheticChangeOptions): LedgerChange {
  const seq = BigInt(sequence);
  const accounts = BigInt(options.accounts);
  const creditAccounts = BigInt(options.creditAccounts ?? 1);
  const timestamp = TIMESTAMP_BASE_NS + seq;
  const amount = AMOUNT_BASE + seq;
  return {
    timestamp,
    type: 'single_phase',
    ledger: 1,
    transfer: {
      id: TRANSFER_ID_BASE + seq,
      amount,
      pendingId: 0n,
      userData128: 0n,
      userData64: 0n,
      userData32: 0,
      timeout: 0,
      code: 1,
      flags: 0,
      timestamp,
    },
    debitAccount: account(DEBIT_ACCOUNT_BASE + (seq % accounts), classTotal(seq, accounts), 0n),
    creditAccount: account(1n + (seq % creditAccounts), 0n, classTotal(seq, creditAccounts)),
  };
}
