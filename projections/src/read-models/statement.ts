/**
 * statement: one row per account per change event that moved its posted totals — a single-phase
 * transfer or a hold's post — keyed and ordered by (TigerBeetle account, event timestamp,
 * transfer id), the keyset of statement pagination (`rm_statement_entry`, migration 0006).
 *
 * The running totals are the account's posted debits and credits AS OF the event, as TigerBeetle
 * sent them: no running sum is kept here, so rows are final when written whatever order they
 * arrive in, and a transfer this deployment never saw (raw, or a journal whose outcome was lost)
 * still appears, at its place, with the right balance. Journal, line and description are joined
 * when the statement is read (bridge/src/statements). Pending holds are not statement lines; a
 * hold shows once posted, at the post's timestamp.
 */
import type { Queryable } from '../../../core/postgres/pool';
import { accountOf, type ProjectedChange } from '../changes/feed';
import type { Projection } from '../projection';

export const STATEMENT_TABLES = { entries: 'rm_statement_entry' } as const;

const POSTS = new Set(['single_phase', 'two_phase_posted']);

export const statementProjection: Projection<ProjectedChange> = {
  name: 'statement',
  tables: [STATEMENT_TABLES.entries],
  async apply(tx: Queryable, records: readonly ProjectedChange[]): Promise<void> {
    const posts = records.filter((record) => POSTS.has(record.change.type));
    if (posts.length === 0) return;
    const column = (pick: (record: ProjectedChange) => unknown) =>
      posts.map((record) => String(pick(record)));
    await tx.query(
      `INSERT INTO rm_statement_entry (ledger_account_id, tb_timestamp, transfer_id, ledger, side,
         amount, type, running_debits, running_credits)
       SELECT * FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::bigint[],
         $5::text[], $6::numeric[], $7::text[], $8::numeric[], $9::numeric[])
       ON CONFLICT DO NOTHING`,
      [
        column((r) => accountOf(r).id),
        column((r) => r.change.timestamp),
        column((r) => r.change.transfer.id),
        column((r) => r.change.ledger),
        column((r) => (r.side === 'debit' ? 'DEBIT' : 'CREDIT')),
        column((r) => r.change.transfer.amount),
        column((r) => r.change.type),
        column((r) => accountOf(r).debitsPosted),
        column((r) => accountOf(r).creditsPosted),
      ],
    );
  },
};
