/**
 * daily-summary: per UTC day, ledger (asset) and outcome kind, how many journals and transfers
 * and how much money. The day is that of the event's `occurredAt` (TigerBeetle's timestamp of its
 * latest transfer), never the consumer's clock. A journal spanning two ledgers counts once in
 * each. Amounts: posted and held as requested, a hold's post the amount posted, a void the amount
 * released, a rejection the amounts refused. Counters only add, so arrival order never matters.
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { JournalOutcomeEventV1 } from '../../../events/schema';
import type { Projection, ProjectedEvent } from '../projection';
import { claimFresh } from './postings';

export const DAILY_SUMMARY_TABLES = {
  summary: 'rm_daily_summary',
  applied: 'rm_daily_summary_applied',
} as const;

const NS_PER_MS = 1_000_000n;

/** The UTC calendar day (YYYY-MM-DD) of a TigerBeetle timestamp (u64 ns). */
export function utcDayOf(tbTimestamp: string): string {
  return new Date(Number(BigInt(tbTimestamp) / NS_PER_MS)).toISOString().slice(0, 10);
}

interface Cell {
  day: string;
  ledger: number;
  kind: string;
  journals: bigint;
  transfers: bigint;
  amount: bigint;
}

function accumulate(events: readonly JournalOutcomeEventV1[]): Cell[] {
  const cells = new Map<string, Cell>();
  for (const event of events) {
    const day = utcDayOf(event.occurredAt);
    const touched = new Set<string>();
    for (const transfer of event.transfers) {
      const key = `${day}|${transfer.ledger}|${event.kind}`;
      let cell = cells.get(key);
      if (cell === undefined) {
        cell = {
          day,
          ledger: transfer.ledger,
          kind: event.kind,
          journals: 0n,
          transfers: 0n,
          amount: 0n,
        };
        cells.set(key, cell);
      }
      if (!touched.has(key)) cell.journals += 1n;
      touched.add(key);
      cell.transfers += 1n;
      cell.amount += BigInt(transfer.amount);
    }
  }
  // A fixed order of upserts: concurrent batches lock shared rows in one order.
  return [...cells.keys()].sort().map((key) => cells.get(key)!);
}

export const dailySummaryProjection: Projection = {
  name: 'daily-summary',
  tables: [DAILY_SUMMARY_TABLES.summary, DAILY_SUMMARY_TABLES.applied],
  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    const fresh = await claimFresh(tx, DAILY_SUMMARY_TABLES.applied, events);
    const cells = accumulate(fresh);
    if (cells.length === 0) return;
    await tx.query(
      `INSERT INTO rm_daily_summary AS s (day, ledger, kind, journal_count, transfer_count, amount)
       SELECT * FROM unnest($1::date[], $2::int[], $3::text[], $4::bigint[], $5::bigint[],
         $6::numeric[])
       ON CONFLICT (day, ledger, kind) DO UPDATE SET
         journal_count = s.journal_count + excluded.journal_count,
         transfer_count = s.transfer_count + excluded.transfer_count,
         amount = s.amount + excluded.amount`,
      [
        cells.map((c) => c.day),
        cells.map((c) => c.ledger),
        cells.map((c) => c.kind),
        cells.map((c) => c.journals.toString()),
        cells.map((c) => c.transfers.toString()),
        cells.map((c) => c.amount.toString()),
      ],
    );
  },
};
