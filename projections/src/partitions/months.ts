import { assert, InvariantError } from '../../../core/assert';
/**
 * Calendar months of `ledger_event`'s partitions: UTC months, named `ledger_event_yYYYYmMM`, each
 * holding [first instant of the month, first instant of the next) of `occurred_at`.
 */

export interface Month {
  year: number;
  /** 1 … 12. */
  month: number;
}

const NS_PER_MS = 1_000_000n;

export function monthOfDate(date: Date): Month {
  assert(!Number.isNaN(date.getTime()), 'invalid date');
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1 };
}

/** The month of a TigerBeetle timestamp (u64 ns since the epoch). */
export function monthOfNs(ns: bigint): Month {
  return monthOfDate(new Date(Number(ns / NS_PER_MS)));
}

export function addMonths(month: Month, count: number): Month {
  const index = month.year * 12 + (month.month - 1) + count;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

export function partitionName(month: Month): string {
  if (month.year < 1970 || month.year > 9999) {
    throw new InvariantError(`year ${month.year} is outside 1970 … 9999`);
  }
  return `ledger_event_y${pad(month.year, 4)}m${pad(month.month, 2)}`;
}

function startOf(month: Month): string {
  return `${pad(month.year, 4)}-${pad(month.month, 2)}-01 00:00:00+00`;
}

/** The partition's bounds as SQL literals: FROM inclusive, TO exclusive. */
export function monthBounds(month: Month): { from: string; to: string } {
  return { from: startOf(month), to: startOf(addMonths(month, 1)) };
}

/** Distinct months, ascending. */
export function distinctMonths(months: Iterable<Month>): Month[] {
  const byName = new Map<string, Month>();
  for (const month of months) byName.set(partitionName(month), month);
  return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, month]) => month);
}
