/**
 * Synthetic journal outcomes for the benchmarks of the event path (publisher, projections): a
 * posted 2-line journal per sequence number, with u128 ids and amounts above 2^64 as a real load
 * would carry, spread over `accounts` debit accounts and one credit account.
 */
import type { JournalOutcome } from './journal-model';
import { CreateTransferStatus } from '../ledger/port';
import { newTransfer } from '../ledger/records';

export interface SyntheticOptions {
  /** Prefix that makes journal ids unique to a run. */
  run: string;
  /** Distinct debit accounts. */
  accounts: number;
}

/** A fixed TigerBeetle-like time base (ns), so runs produce the same events for the same input. */
const TIMESTAMP_BASE_NS = 1_763_700_000_000_000_000n;

export function syntheticOutcome(sequence: number, options: SyntheticOptions): JournalOutcome {
  const journalId = `${options.run}-${sequence}`;
  const amount = (1n << 70n) + BigInt(sequence);
  const account = sequence % options.accounts;
  return {
    kind: 'posted',
    journalId,
    journal: {
      journalId,
      date: '2025-11-21',
      description: `Invoice ${sequence} settlement`,
      source: 'bench',
      pending: null,
      lines: [
        { lineNumber: 1, accountId: `acc-${account}`, lineType: 'DEBIT', amount },
        { lineNumber: 2, accountId: 'acc-house', lineType: 'CREDIT', amount },
      ],
    },
    transfers: [
      {
        transfer: newTransfer({
          id: (1n << 100n) + BigInt(sequence),
          debit_account_id: 10_000n + BigInt(account),
          credit_account_id: 1n,
          amount,
          ledger: 1,
          code: 1,
        }),
        debitLine: 1,
        creditLine: 2,
        status: CreateTransferStatus.created,
        timestamp: TIMESTAMP_BASE_NS + BigInt(sequence),
      },
    ],
  };
}
