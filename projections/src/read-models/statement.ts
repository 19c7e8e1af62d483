/**
 * statement: one row per account per posting (a journal's transfer, or a hold's post), keyed and
 * ordered by (account_id, tb_timestamp, transfer_id) — the keyset of statement pagination — with
 * the running debit and credit totals of the account through that row. The balance on the
 * account's normal side is computed when read (running credits − running debits for a
 * CREDIT-normal account, the reverse for DEBIT), so this model needs nothing but the events.
 *
 * Determinism: batches of different partitions arrive in any order, so a posting may land before
 * postings of the same account already stored. New rows are inserted with their running totals
 * (final when they come after every stored row of their account, the usual case); an account
 * where they do not is recomputed from its earliest new row onwards (a window sum), so every row
 * ends as the sum of all rows up to it, whatever the order of arrival.
 *
 * Holds (pending) are not statement lines: a hold shows once it is posted, at the post's
 * timestamp, with the lines and description of the hold.
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { Projection, ProjectedEvent } from '../projection';
import { compareDecimal, prepareBatch, type Posting } from './postings';

export const STATEMENT_TABLES = {
  entries: 'rm_statement_entry',
  holds: 'rm_statement_hold',
  applied: 'rm_statement_applied',
} as const;

interface Entry {
  accountId: string;
  tbTimestamp: string;
  transferId: string;
  posting: Posting;
}

function compareEntry(a: Entry, b: Entry): number {
  if (a.accountId !== b.accountId) return a.accountId < b.accountId ? -1 : 1;
  return compareDecimal(a.tbTimestamp, b.tbTimestamp) || compareDecimal(a.transferId, b.transferId);
}

function entriesOf(postings: readonly Posting[]): Entry[] {
  const entries: Entry[] = [];
  for (const posting of postings) {
    // Only posted money is a statement line; a posting whose hold was never seen has no line.
    if (posting.kind !== 'posted' && posting.kind !== 'hold_posted') continue;
    if (posting.accountId === null || posting.lineNumber === null) continue;
    entries.push({
      accountId: posting.accountId,
      tbTimestamp: posting.tbTimestamp,
      transferId: posting.transferId,
      posting,
    });
  }
  return entries.sort(compareEntry);
}

/** Joins, as `p`, the running totals of the account's last stored row before `start`'s key. */
function lastRowBefore(start: string): string {
  return `LEFT JOIN LATERAL (
      SELECT e.running_debits, e.running_credits FROM rm_statement_entry e
      WHERE e.account_id = ${start}.account_id
        AND (e.tb_timestamp, e.transfer_id) < (${start}.ts, ${start}.tid)
      ORDER BY e.tb_timestamp DESC, e.transfer_id DESC LIMIT 1
    ) p ON true`;
}

/**
 * Inserts the entries with their running totals: for each account, the totals of its last stored
 * row before its first new one, plus a window sum over the new rows. That is final when the new
 * rows come after every stored row of the account — the usual case, since TigerBeetle timestamps
 * grow — so each row is written once. Returns the accounts where they do not (a batch of another
 * partition already stored later rows, or a row is there already): those are recomputed.
 */
const INSERT = `
  WITH new AS (
    SELECT * FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::numeric[], $5::int[],
      $6::text[], $7::int[], $8::text[], $9::numeric[], $10::text[], $11::text[])
      AS n(account_id, tb_timestamp, transfer_id, ledger_account_id, ledger, journal_id,
           line_number, side, amount, kind, description)
  ), firsts AS (
    SELECT DISTINCT ON (account_id) account_id, tb_timestamp AS ts, transfer_id AS tid
    FROM new ORDER BY account_id, tb_timestamp, transfer_id
  ), base AS (
    SELECT f.account_id, f.ts, f.tid,
           COALESCE(p.running_debits, 0) AS d0, COALESCE(p.running_credits, 0) AS c0,
           EXISTS (SELECT 1 FROM rm_statement_entry e
                   WHERE e.account_id = f.account_id
                     AND (e.tb_timestamp, e.transfer_id) >= (f.ts, f.tid)) AS out_of_order
    FROM firsts f ${lastRowBefore('f')}
  ), inserted AS (
    INSERT INTO rm_statement_entry (account_id, tb_timestamp, transfer_id, ledger_account_id,
      ledger, journal_id, line_number, side, amount, kind, description, running_debits,
      running_credits)
    SELECT n.account_id, n.tb_timestamp, n.transfer_id, n.ledger_account_id, n.ledger,
           n.journal_id, n.line_number, n.side, n.amount, n.kind, n.description,
           b.d0 + sum(CASE WHEN n.side = 'DEBIT' THEN n.amount ELSE 0 END) OVER w,
           b.c0 + sum(CASE WHEN n.side = 'CREDIT' THEN n.amount ELSE 0 END) OVER w
    FROM new n JOIN base b ON b.account_id = n.account_id
    WINDOW w AS (PARTITION BY n.account_id ORDER BY n.tb_timestamp, n.transfer_id
                 ROWS UNBOUNDED PRECEDING)
    ON CONFLICT DO NOTHING
  )
  SELECT account_id, ts::text, tid::text FROM base WHERE out_of_order`;

interface Start {
  account_id: string;
  ts: string;
  tid: string;
}

async function insertEntries(tx: Queryable, entries: readonly Entry[]): Promise<Start[]> {
  const column = (pick: (entry: Entry) => unknown) => entries.map((entry) => pick(entry));
  const { rows } = await tx.query<Start>(INSERT, [
    column((e) => e.accountId),
    column((e) => e.tbTimestamp),
    column((e) => e.transferId),
    column((e) => e.posting.ledgerAccountId),
    column((e) => e.posting.ledger),
    column((e) => e.posting.event.journalId),
    column((e) => e.posting.lineNumber),
    column((e) => e.posting.side),
    column((e) => e.posting.posted.toString()),
    column((e) => (e.posting.kind === 'posted' ? 'posted' : 'hold_posted')),
    column((e) => e.posting.description),
  ]);
  return rows;
}

/**
 * Running totals of every account in `starts`, from its given key onwards: the totals of the row
 * just before the key, plus a window sum over the rows from the key.
 */
const RECOMPUTE = `
  WITH starts AS (
    SELECT * FROM unnest($1::text[], $2::numeric[], $3::numeric[]) AS s(account_id, ts, tid)
  ), base AS (
    SELECT s.account_id, s.ts, s.tid,
           COALESCE(p.running_debits, 0) AS d0, COALESCE(p.running_credits, 0) AS c0
    FROM starts s ${lastRowBefore('s')}
  ), sums AS (
    SELECT e.account_id, e.tb_timestamp, e.transfer_id,
           b.d0 + sum(CASE WHEN e.side = 'DEBIT' THEN e.amount ELSE 0 END) OVER w AS rd,
           b.c0 + sum(CASE WHEN e.side = 'CREDIT' THEN e.amount ELSE 0 END) OVER w AS rc
    FROM base b JOIN rm_statement_entry e
      ON e.account_id = b.account_id AND (e.tb_timestamp, e.transfer_id) >= (b.ts, b.tid)
    WINDOW w AS (PARTITION BY e.account_id ORDER BY e.tb_timestamp, e.transfer_id
                 ROWS UNBOUNDED PRECEDING)
  )
  UPDATE rm_statement_entry e SET running_debits = sums.rd, running_credits = sums.rc
  FROM sums
  WHERE e.account_id = sums.account_id AND e.tb_timestamp = sums.tb_timestamp
    AND e.transfer_id = sums.transfer_id
    AND (e.running_debits, e.running_credits) IS DISTINCT FROM (sums.rd, sums.rc)`;

/**
 * Running totals read other transactions' rows, so two partitions' batches on one account must not
 * interleave: each takes a transaction lock per account, in account order (no deadlock), and the
 * second one's statements then see the first's committed rows. In the worker the account-balance
 * projection's row locks already order them; a rebuild or PROJECTIONS_ONLY may run this alone.
 */
async function lockAccounts(tx: Queryable, entries: readonly Entry[]): Promise<void> {
  // entries are sorted by account: the distinct ids come out in lock order.
  const accounts = entries
    .map((e) => e.accountId)
    .filter((id, i, all) => i === 0 || all[i - 1] !== id);
  await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('rm_statement_entry:' || a, 0))
     FROM unnest($1::text[]) WITH ORDINALITY AS u(a, i) ORDER BY i`,
    [accounts],
  );
}

async function recompute(tx: Queryable, starts: readonly Start[]): Promise<void> {
  if (starts.length === 0) return;
  await tx.query(RECOMPUTE, [
    starts.map((s) => s.account_id),
    starts.map((s) => s.ts),
    starts.map((s) => s.tid),
  ]);
}

export const statementProjection: Projection = {
  name: 'statement',
  tables: [STATEMENT_TABLES.entries, STATEMENT_TABLES.holds, STATEMENT_TABLES.applied],
  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    const { postings } = await prepareBatch(tx, STATEMENT_TABLES, events);
    const entries = entriesOf(postings);
    if (entries.length === 0) return;
    await lockAccounts(tx, entries);
    await recompute(tx, await insertEntries(tx, entries));
  },
};
