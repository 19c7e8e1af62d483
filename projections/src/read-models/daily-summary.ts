/**
 * daily-summary: per UTC day, ledger (asset) and change type, how many ledger events and how much
 * money (`rm_daily_summary`, migration 0006). The day is that of the event's TigerBeetle
 * timestamp, never the consumer's clock; an expiry counts on the day it expired. Amounts: as the
 * transfer carries it (a post's posted amount; an expiry's, the pending amount released). Each
 * event counts once (by its timestamp, in `rm_daily_summary_applied`), from its debit-side record;
 * counters only add, so arrival order never matters. Each partition counts into rows of its own
 * (`shard`: a cell every partition shared would serialize their transactions on one row lock);
 * the view `rm_daily_summary` adds the shards up.
 */
import type { Queryable } from '../../../core/postgres/pool';
import { eventsOf, type ProjectedChange } from '../changes/feed';
import type { Projection } from '../projection';

export const DAILY_SUMMARY_TABLES = {
  summary: 'rm_daily_summary_shard',
  applied: 'rm_daily_summary_applied',
} as const;

const NS_PER_MS = 1_000_000n;

/** The UTC calendar day (YYYY-MM-DD) of a TigerBeetle timestamp (u64 ns). */
export function utcDayOf(tbTimestamp: bigint | string): string {
  return new Date(Number(BigInt(tbTimestamp) / NS_PER_MS)).toISOString().slice(0, 10);
}

interface Cell {
  day: string;
  ledger: number;
  type: string;
  shard: number;
  transfers: bigint;
  amount: bigint;
}

/** The events of the batch not counted before (first occurrence wins). */
async function claim(
  tx: Queryable,
  records: readonly ProjectedChange[],
): Promise<ProjectedChange[]> {
  const firsts = new Map<string, ProjectedChange>();
  for (const record of eventsOf(records)) {
    const key = record.change.timestamp.toString();
    if (!firsts.has(key)) firsts.set(key, record);
  }
  if (firsts.size === 0) return [];
  const { rows } = await tx.query<{ event_timestamp: string }>(
    `INSERT INTO rm_daily_summary_applied (event_timestamp)
     SELECT unnest($1::numeric[]) ON CONFLICT DO NOTHING RETURNING event_timestamp::text`,
    [[...firsts.keys()]],
  );
  return rows.map((row) => firsts.get(row.event_timestamp)!);
}

function accumulate(records: readonly ProjectedChange[]): Cell[] {
  const cells = new Map<string, Cell>();
  for (const { change, partition } of records) {
    const day = utcDayOf(change.timestamp);
    const key = `${day}|${change.ledger}|${change.type}|${partition}`;
    let cell = cells.get(key);
    if (cell === undefined) {
      const { ledger, type } = change;
      cell = { day, ledger, type, shard: partition, transfers: 0n, amount: 0n };
      cells.set(key, cell);
    }
    cell.transfers += 1n;
    cell.amount += change.transfer.amount;
  }
  // A fixed order of upserts: concurrent batches lock shared rows in one order.
  return [...cells.keys()].sort().map((key) => cells.get(key)!);
}

export const dailySummaryProjection: Projection<ProjectedChange> = {
  name: 'daily-summary',
  tables: [DAILY_SUMMARY_TABLES.summary, DAILY_SUMMARY_TABLES.applied],
  async apply(tx: Queryable, records: readonly ProjectedChange[]): Promise<void> {
    const cells = accumulate(await claim(tx, records));
    if (cells.length === 0) return;
    await tx.query(
      `INSERT INTO rm_daily_summary_shard AS s (day, ledger, type, shard, transfer_count, amount)
       SELECT * FROM unnest($1::date[], $2::bigint[], $3::text[], $4::int[], $5::bigint[],
         $6::numeric[])
       ON CONFLICT (day, ledger, type, shard) DO UPDATE SET
         transfer_count = s.transfer_count + excluded.transfer_count,
         amount = s.amount + excluded.amount`,
      [
        cells.map((c) => c.day),
        cells.map((c) => c.ledger),
        cells.map((c) => c.type),
        cells.map((c) => c.shard),
        cells.map((c) => c.transfers.toString()),
        cells.map((c) => c.amount.toString()),
      ],
    );
  },
};
