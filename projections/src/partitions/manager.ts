/**
 * Creates `ledger_event`'s monthly partitions: ahead of time (the worker's maintenance loop and
 * `ledger-bridge partitions ensure`) and on demand for the months of a batch (a replay of old
 * events needs old months). There is no DEFAULT partition on purpose: a row for a month without
 * a partition fails its insert loudly rather than landing in a table nobody maintains.
 *
 * A partition is created as a plain table and then ATTACHed: ATTACH takes only SHARE UPDATE
 * EXCLUSIVE on `ledger_event`, so it neither waits for nor blocks inserts and a long `verify`
 * (CREATE TABLE … PARTITION OF would take ACCESS EXCLUSIVE on the parent). DDL is serialised by a
 * transaction advisory lock keyed by schema, so concurrent workers never race on it.
 */
import type pg from 'pg';
import { type Queryable, withTransaction } from '../../../core/postgres/pool';
import {
  addMonths,
  distinctMonths,
  type Month,
  monthBounds,
  monthOfDate,
  partitionName,
} from './months';

/** First key of the two-key advisory lock: constant for "ledger_event partitions". */
export const PARTITION_LOCK_CLASS = 0x4c42_5031; // "LBP1"
/** Months created ahead of the current one by default. */
export const MONTHS_AHEAD_DEFAULT = 3;
const MONTHS_AHEAD_MAX = 120;

/**
 * Reads pg_class under the statement's own snapshot, not through to_regclass: the catalog
 * caches only learn of another session's new table once this session takes a relation lock, and
 * an advisory lock is not one (a first version here raced on exactly that).
 */
async function missingOf(tx: Queryable, names: string[]): Promise<string[]> {
  const { rows } = await tx.query<{ name: string }>(
    `SELECT name FROM unnest($1::text[]) AS name
      WHERE NOT EXISTS (SELECT 1 FROM pg_class c
                         WHERE c.relname = name AND c.relnamespace = current_schema()::regnamespace)
      ORDER BY name`,
    [names],
  );
  return rows.map((row) => row.name);
}

async function createPartition(tx: Queryable, month: Month): Promise<void> {
  const name = partitionName(month); // generated from digits only: safe to interpolate
  const { from, to } = monthBounds(month);
  await tx.query(
    `CREATE TABLE ${name} (LIKE ledger_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
  );
  await tx.query(
    `ALTER TABLE ledger_event ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`,
  );
  // Statement triggers are not cloned from the parent: TRUNCATE of the partition itself.
  await tx.query(
    `CREATE TRIGGER ledger_event_no_truncate BEFORE TRUNCATE ON ${name} ` +
      'FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()',
  );
}

/**
 * Makes sure a partition exists for each month, inside the caller's transaction (the lock is
 * held until it ends). Returns the names it created. Cheap when nothing is missing: one query.
 */
export async function ensureMonths(tx: Queryable, months: Iterable<Month>): Promise<string[]> {
  const wanted = distinctMonths(months);
  if (wanted.length === 0) return [];
  const byName = new Map(wanted.map((month) => [partitionName(month), month]));
  if ((await missingOf(tx, [...byName.keys()])).length === 0) return [];
  await tx.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [
    PARTITION_LOCK_CLASS,
  ]);
  // Another worker may have created some while we waited: look again under the lock.
  const missing = await missingOf(tx, [...byName.keys()]);
  for (const name of missing) await createPartition(tx, byName.get(name)!);
  return missing;
}

export interface EnsureOptions {
  monthsAhead?: number;
  now?: Date;
}

export interface EnsureResult {
  /** Every partition that should exist, current month first. */
  partitions: string[];
  /** The ones this call created. */
  created: string[];
}

/** Creates the partitions for the current month and the next `monthsAhead` (idempotent). */
export async function ensurePartitions(
  db: pg.Pool,
  options: EnsureOptions = {},
): Promise<EnsureResult> {
  const monthsAhead = options.monthsAhead ?? MONTHS_AHEAD_DEFAULT;
  if (!Number.isInteger(monthsAhead) || monthsAhead < 0 || monthsAhead > MONTHS_AHEAD_MAX) {
    throw new RangeError(`monthsAhead must be an integer 0 … ${MONTHS_AHEAD_MAX}`);
  }
  const current = monthOfDate(options.now ?? new Date());
  const months = Array.from({ length: monthsAhead + 1 }, (_, index) => addMonths(current, index));
  const created = await withTransaction(db, (tx) => ensureMonths(tx, months));
  return { partitions: months.map(partitionName), created };
}

export interface PartitionInfo {
  name: string;
  /** As PostgreSQL prints it: FOR VALUES FROM (…) TO (…). */
  bounds: string;
  /** The planner's estimate (-1 before the first ANALYZE). */
  rowsEstimate: bigint;
}

export async function listPartitions(db: Queryable): Promise<PartitionInfo[]> {
  const { rows } = await db.query<{ name: string; bounds: string; rows_estimate: bigint }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds,
            c.reltuples::bigint AS rows_estimate
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'ledger_event'::regclass
      ORDER BY c.relname`,
  );
  return rows.map((row) => ({
    name: row.name,
    bounds: row.bounds,
    rowsEstimate: row.rows_estimate,
  }));
}
