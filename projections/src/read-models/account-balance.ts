/**
 * account-balance: per TigerBeetle account, its four totals and flags as of the latest change
 * event that named it (`rm_account_balance`, migration 0006). Each event carries the account's
 * balances as of itself, so a row is the ledger's own number, never a sum kept here: a hold that
 * expires, a raw transfer and a closing transfer all show, and a row can only move to a later
 * event (`last_tb_timestamp`), so redelivery, duplicates and any order of arrival give the same
 * row.
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { ChangeAccount } from '../../../events/change';
import { accountOf, type ProjectedChange } from '../changes/feed';
import type { Projection } from '../projection';

export const ACCOUNT_BALANCE_TABLES = { balance: 'rm_account_balance' } as const;

interface Latest {
  account: ChangeAccount;
  ledger: number;
  at: bigint;
}

/** Each account's latest state in the batch. */
function latestOf(records: readonly ProjectedChange[]): Latest[] {
  const latest = new Map<bigint, Latest>();
  for (const record of records) {
    const account = accountOf(record);
    const at = record.change.timestamp;
    const known = latest.get(account.id);
    if (known === undefined || known.at < at) {
      latest.set(account.id, { account, ledger: record.change.ledger, at });
    }
  }
  // Ascending ids: concurrent batches lock shared (hot) accounts in one order, so never deadlock.
  return [...latest.values()].sort((a, b) => (a.account.id < b.account.id ? -1 : 1));
}

export const accountBalanceProjection: Projection<ProjectedChange> = {
  name: 'account-balance',
  tables: [ACCOUNT_BALANCE_TABLES.balance],
  async apply(tx: Queryable, records: readonly ProjectedChange[]): Promise<void> {
    const rows = latestOf(records);
    if (rows.length === 0) return;
    const column = (pick: (row: Latest) => unknown) => rows.map((row) => String(pick(row)));
    await tx.query(
      `INSERT INTO rm_account_balance AS b (ledger_account_id, ledger, debits_pending,
         debits_posted, credits_pending, credits_posted, flags, last_tb_timestamp)
       SELECT * FROM unnest($1::numeric[], $2::bigint[], $3::numeric[], $4::numeric[],
         $5::numeric[], $6::numeric[], $7::int[], $8::numeric[])
       ON CONFLICT (ledger_account_id) DO UPDATE SET
         debits_pending = excluded.debits_pending, debits_posted = excluded.debits_posted,
         credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted,
         flags = excluded.flags, last_tb_timestamp = excluded.last_tb_timestamp
       WHERE b.last_tb_timestamp < excluded.last_tb_timestamp`,
      [
        column((r) => r.account.id),
        column((r) => r.ledger),
        column((r) => r.account.debitsPending),
        column((r) => r.account.debitsPosted),
        column((r) => r.account.creditsPending),
        column((r) => r.account.creditsPosted),
        column((r) => r.account.flags),
        column((r) => r.at),
      ],
    );
  },
};
