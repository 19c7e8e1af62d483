/**
 * account-balance: TigerBeetle's four totals per account (debits/credits, pending/posted), keyed
 * by the TigerBeetle account id and carrying the journal line's account id, as the outcome events
 * moved them:
 *
 * | kind          | effect on both sides of each transfer                   |
 * |---------------|---------------------------------------------------------|
 * | `posted`      | posted += amount                                        |
 * | `held`        | pending += amount                                       |
 * | `hold_posted` | pending −= the held amount; posted += the amount posted |
 * | `hold_voided` | pending −= the held amount                              |
 * | `rejected`    | nothing                                                 |
 *
 * Sums and a maximum are independent of the order batches arrive in, so any replay of the same
 * events gives the same rows. A hold that TigerBeetle expires by timeout produces no event and
 * stays pending here (see the report in projections/src/read-models/README.md).
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { Projection, ProjectedEvent } from '../projection';
import { compareDecimal, maxDecimal, prepareBatch, type Posting } from './postings';

export const ACCOUNT_BALANCE_TABLES = {
  balance: 'rm_account_balance',
  holds: 'rm_account_balance_hold',
  applied: 'rm_account_balance_applied',
} as const;

interface Totals {
  accountId: string | null;
  ledger: number;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  lastTbTimestamp: string;
}

function accumulate(postings: readonly Posting[]): Map<string, Totals> {
  const totals = new Map<string, Totals>();
  for (const p of postings) {
    let row = totals.get(p.ledgerAccountId);
    if (row === undefined) {
      row = {
        accountId: p.accountId,
        ledger: p.ledger,
        debitsPending: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        creditsPosted: 0n,
        lastTbTimestamp: p.tbTimestamp,
      };
      totals.set(p.ledgerAccountId, row);
    }
    row.accountId ??= p.accountId;
    row.lastTbTimestamp = maxDecimal(row.lastTbTimestamp, p.tbTimestamp);
    if (p.side === 'DEBIT') {
      row.debitsPending += p.pending;
      row.debitsPosted += p.posted;
    } else {
      row.creditsPending += p.pending;
      row.creditsPosted += p.posted;
    }
  }
  return totals;
}

async function upsert(tx: Queryable, totals: Map<string, Totals>): Promise<void> {
  if (totals.size === 0) return;
  // Sorted keys: concurrent batches lock shared (hot) accounts in one order, so never deadlock.
  const keys = [...totals.keys()].sort(compareDecimal);
  const rows = keys.map((key) => totals.get(key)!);
  const column = (pick: (row: Totals) => unknown) => rows.map((row) => pick(row));
  // Rows first (zeros), then the deltas: a CHECK (≥ 0) is evaluated on an INSERT's proposed row
  // before ON CONFLICT, and a hold's release is a negative delta on an existing row.
  await tx.query(
    `INSERT INTO rm_account_balance (ledger_account_id, account_id, ledger, debits_pending,
       debits_posted, credits_pending, credits_posted, last_tb_timestamp)
     SELECT k, a, l, 0, 0, 0, 0, 0 FROM unnest($1::numeric[], $2::text[], $3::int[]) AS u(k, a, l)
     ON CONFLICT (ledger_account_id) DO NOTHING`,
    [keys, column((row) => row.accountId), column((row) => row.ledger)],
  );
  await tx.query(
    `UPDATE rm_account_balance AS b SET
       account_id = COALESCE(b.account_id, u.account_id),
       debits_pending = b.debits_pending + u.dp,
       debits_posted = b.debits_posted + u.dpo,
       credits_pending = b.credits_pending + u.cp,
       credits_posted = b.credits_posted + u.cpo,
       last_tb_timestamp = GREATEST(b.last_tb_timestamp, u.ts)
     FROM unnest($1::numeric[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[],
       $6::numeric[], $7::numeric[]) AS u(k, account_id, dp, dpo, cp, cpo, ts)
     WHERE b.ledger_account_id = u.k`,
    [
      keys,
      column((row) => row.accountId),
      column((row) => row.debitsPending.toString()),
      column((row) => row.debitsPosted.toString()),
      column((row) => row.creditsPending.toString()),
      column((row) => row.creditsPosted.toString()),
      column((row) => row.lastTbTimestamp),
    ],
  );
}

export const accountBalanceProjection: Projection = {
  name: 'account-balance',
  tables: [
    ACCOUNT_BALANCE_TABLES.balance,
    ACCOUNT_BALANCE_TABLES.holds,
    ACCOUNT_BALANCE_TABLES.applied,
  ],
  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    const { postings } = await prepareBatch(tx, ACCOUNT_BALANCE_TABLES, events);
    await upsert(tx, accumulate(postings));
  },
};
