/**
 * Binds the symbolic names of ./model.ts to wire values for one run: ids under a run-unique
 * 64-bit tag, and the run's two ledger numbers. Both come from node:crypto, not from the seed, so
 * a replay or a shrinking trial never meets the objects of an earlier run on a shared cluster.
 */
import crypto from 'node:crypto';
import {
  type Account,
  type AccountFilter,
  type QueryFilter,
  type Transfer,
  U128_MAX,
} from '../port';
import type {
  AccountFilterSpec,
  AccountSpec,
  LedgerRef,
  QueryFilterSpec,
  Ref,
  TransferSpec,
} from './model';

/** Ledger numbers below this are left to hand-written tests and fixtures. */
const RUN_LEDGER_MIN = 1000;
/** The second ledger is the first plus one, so both must fit a u32. */
const RUN_LEDGER_MAX = 0xffff_fffe;

const REF_KINDS: Record<string, bigint> = { A: 1n, T: 2n, U: 3n };

export interface Binding {
  /** Non-zero: every bound id is unique to this run. */
  readonly tag: bigint;
  readonly ledger: number;
}

export function freshBinding(): Binding {
  const tag = crypto.randomBytes(8).readBigUInt64LE() | 1n;
  const ledger = RUN_LEDGER_MIN + crypto.randomInt(RUN_LEDGER_MAX - RUN_LEDGER_MIN + 1);
  return { tag, ledger };
}

export function bindId(ref: Ref, b: Binding): bigint {
  if (ref === '0') return 0n;
  if (ref === 'MAX') return U128_MAX;
  const kind = REF_KINDS[ref.charAt(0)];
  const n = Number(ref.slice(1));
  if (kind === undefined || !Number.isInteger(n) || n < 0) throw new Error(`bad ref ${ref}`);
  return (b.tag << 64n) | (kind << 56n) | BigInt(n);
}

export function bindLedger(ref: LedgerRef, b: Binding): number {
  if (ref === 0) return 0;
  return ref === 'L' ? b.ledger : b.ledger + 1;
}

export function bindAccount(s: AccountSpec, b: Binding): Account {
  const account: Account = {
    id: bindId(s.id, b),
    debits_pending: 0n,
    debits_posted: 0n,
    credits_pending: 0n,
    credits_posted: 0n,
    user_data_128: s.user_data_128,
    user_data_64: s.user_data_64,
    user_data_32: s.user_data_32,
    reserved: s.reserved,
    ledger: bindLedger(s.ledger, b),
    code: s.code,
    flags: s.flags,
    timestamp: 0n,
  };
  if (s.nonzero !== undefined) account[s.nonzero] = 1n;
  return account;
}

export function bindTransfer(s: TransferSpec, b: Binding): Transfer {
  return {
    id: bindId(s.id, b),
    debit_account_id: bindId(s.debit, b),
    credit_account_id: bindId(s.credit, b),
    amount: s.amount,
    pending_id: bindId(s.pending, b),
    user_data_128: s.user_data_128,
    user_data_64: s.user_data_64,
    user_data_32: s.user_data_32,
    timeout: s.timeout,
    ledger: bindLedger(s.ledger, b),
    code: s.code,
    flags: s.flags,
    timestamp: 0n,
  };
}

/** Filters take their timestamps already resolved for one ledger (./timestamps.ts). */
export function bindAccountFilter(
  s: AccountFilterSpec,
  b: Binding,
  min: bigint,
  max: bigint,
): AccountFilter {
  return {
    account_id: bindId(s.account, b),
    user_data_128: s.user_data_128,
    user_data_64: s.user_data_64,
    user_data_32: s.user_data_32,
    code: s.code,
    timestamp_min: min,
    timestamp_max: max,
    limit: s.limit,
    flags: s.flags,
  };
}

export function bindQueryFilter(
  s: QueryFilterSpec,
  b: Binding,
  min: bigint,
  max: bigint,
): QueryFilter {
  return {
    user_data_128: s.user_data_128,
    user_data_64: s.user_data_64,
    user_data_32: s.user_data_32,
    ledger: bindLedger(s.ledger, b),
    code: s.code,
    timestamp_min: min,
    timestamp_max: max,
    limit: s.limit,
    flags: s.flags,
  };
}
