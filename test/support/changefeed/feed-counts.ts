/**
 * What a change-feed test counts once the feed has caught up, against what its transfer stream
 * (./transfer-stream.ts) made the ledger emit: each event once in `ledger_change` (by transfer
 * id, type and timestamp) and each expiry once; each posting one statement row per side; each
 * balance TigerBeetle's own; and the daily summary counting each event once (a duplicate applied
 * twice would inflate it). Each check fails with the first few offenders, not a bare count.
 */
import type { QueryResultRow } from 'pg';
import type { Ledger } from '../../../ledger/port';
import type { StreamedEvent } from './transfer-stream';

/** The run's accounts, its ledger, and a query on the run's database (rows). */
export interface CountedRun {
  accountIds: readonly bigint[];
  ledger: Ledger;
  query<R extends QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
}

interface ChangeRow {
  event_timestamp: string;
  type: string;
  transfer_id: string;
}

const show = (e: StreamedEvent) => `${e.type} ${e.transferId} at ${e.timestamp}`;

/** Every event the stream caused is in ledger_change once, with its id, type and timestamp. */
export async function expectEveryEventOnce(
  run: CountedRun,
  events: readonly StreamedEvent[],
  expiring: readonly StreamedEvent[],
): Promise<void> {
  const rows = await run.query<ChangeRow>(
    `SELECT event_timestamp::text AS event_timestamp, type, transfer_id::text AS transfer_id
       FROM ledger_change
      WHERE debit_ledger_id = ANY($1::numeric[]) OR credit_ledger_id = ANY($1::numeric[])`,
    [run.accountIds.map(String)],
  );
  const byTimestamp = new Map(rows.map((row) => [row.event_timestamp, row]));
  const missing = events.filter((e) => !byTimestamp.has(e.timestamp.toString()));
  const wrong = events.filter((e) => {
    const row = byTimestamp.get(e.timestamp.toString());
    return row !== undefined && (row.type !== e.type || row.transfer_id !== String(e.transferId));
  });
  const expiries = new Map<string, ChangeRow[]>();
  for (const row of rows.filter((r) => r.type === 'two_phase_expired')) {
    expiries.set(row.transfer_id, [...(expiries.get(row.transfer_id) ?? []), row]);
  }
  const holds = new Map(expiring.map((e) => [String(e.transferId), e]));
  const notExpiredOnce = expiring.filter((e) => expiries.get(String(e.transferId))?.length !== 1);
  const expiredBefore = expiring.filter((e) =>
    (expiries.get(String(e.transferId)) ?? []).some(
      (r) => BigInt(r.event_timestamp) <= e.timestamp,
    ),
  );
  const strayExpiries = [...expiries.keys()].filter((transferId) => !holds.has(transferId));
  const perTransfer = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.type} ${row.transfer_id}`;
    perTransfer.set(key, (perTransfer.get(key) ?? 0) + 1);
  }
  const twice = [...perTransfer].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
  expect({
    missing: missing.length,
    missingFirst: missing.slice(0, 10).map(show),
    wrong: wrong.slice(0, 10).map(show),
    notExpiredOnce: notExpiredOnce.slice(0, 10).map(show),
    expiredBefore: expiredBefore.slice(0, 10).map(show),
    strayExpiries: strayExpiries.slice(0, 10),
    twice: twice.slice(0, 10),
    rows: rows.length,
  }).toEqual({
    missing: 0,
    missingFirst: [],
    wrong: [],
    notExpiredOnce: [],
    expiredBefore: [],
    strayExpiries: [],
    twice: [],
    rows: events.length + expiring.length,
  });
}

/** Each posting (single-phase, or a hold's post) is one statement row on each side. */
export async function expectStatements(
  run: CountedRun,
  events: readonly StreamedEvent[],
): Promise<void> {
  const expected = new Set<string>();
  for (const e of events) {
    if (e.type !== 'single_phase' && e.type !== 'two_phase_posted') continue;
    for (const side of [e.debit, e.credit]) expected.add(`${side}/${e.timestamp}/${e.transferId}`);
  }
  const rows = await run.query<{ key: string }>(
    `SELECT ledger_account_id::text || '/' || tb_timestamp::text || '/' || transfer_id::text
            AS key
       FROM rm_statement_entry WHERE ledger_account_id = ANY($1::numeric[])`,
    [run.accountIds.map(String)],
  );
  const stored = new Set(rows.map((row) => row.key));
  expect({
    rows: rows.length,
    missing: [...expected].filter((key) => !stored.has(key)).slice(0, 10),
    extra: [...stored].filter((key) => !expected.has(key)).slice(0, 10),
  }).toEqual({ rows: expected.size, missing: [], extra: [] });
}

/** rm_account_balance holds TigerBeetle's own totals and flags for every account of the run. */
export async function expectBalances(run: CountedRun): Promise<void> {
  const ledger = await run.ledger.lookupAccounts([...run.accountIds]);
  const rows = await run.query<Record<string, string>>(
    `SELECT ledger_account_id::text AS id, debits_pending::text AS debits_pending,
            debits_posted::text AS debits_posted, credits_pending::text AS credits_pending,
            credits_posted::text AS credits_posted, flags::text AS flags
       FROM rm_account_balance WHERE ledger_account_id = ANY($1::numeric[])`,
    [run.accountIds.map(String)],
  );
  const stored = new Map(rows.map((row) => [row.id, row]));
  const fields = ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted', 'flags'];
  const differences = ledger.flatMap((account) =>
    fields
      .filter(
        (f) => stored.get(String(account.id))?.[f] !== String(account[f as keyof typeof account]),
      )
      .map(
        (f) =>
          `${account.id} ${f}: ledger ${account[f as keyof typeof account]}, ` +
          `read model ${stored.get(String(account.id))?.[f] ?? 'no row'}`,
      ),
  );
  expect(ledger).toHaveLength(run.accountIds.length);
  expect(differences).toEqual([]);
}

/** The daily summary counted each event of ledger_change once: duplicates would inflate it. */
export async function expectSummaryCountsEachEventOnce(run: CountedRun): Promise<void> {
  const summary = await run.query(
    `SELECT ledger::text AS ledger, type, sum(transfer_count)::text AS events,
            sum(amount)::text AS amount
       FROM rm_daily_summary GROUP BY ledger, type ORDER BY ledger, type`,
  );
  const changes = await run.query(
    `SELECT ledger::text AS ledger, type, count(*)::text AS events, sum(amount)::text AS amount
       FROM ledger_change GROUP BY ledger, type ORDER BY ledger, type`,
  );
  expect(summary).toEqual(changes);
}
