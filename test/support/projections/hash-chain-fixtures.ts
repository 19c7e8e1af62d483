/**
 * Helpers for the hash-chain and partition tests: a schema of the test file's own migrated with
 * 0001 and 0003 only (so other projections' migrations in progress cannot break these tests),
 * synthetic projected events, batch application through the projection, and a deliberate bypass
 * of the append-only trigger for tampering (as a table owner could).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { toOutcomeEvent } from '../../../events/schema';
import { migrateUp } from '../../../core/postgres/migrate';
import { MIGRATIONS_DIR } from '../../../core/postgres/migration-files';
import { type Queryable, withTransaction } from '../../../core/postgres/pool';
import type { Projection, ProjectedEvent } from '../../../projections/src/projection';
import { sampleOutcome } from '../events/fixtures';
import { createTestSchema, type TestSchema } from '../store/schema';

export const TOPIC = 'ledger.journal-outcomes.v1';
/** 2025-11-21T04:26:40Z in TigerBeetle nanoseconds. */
export const BASE_NS = 1_763_700_000_000_000_000n;
const NS_PER_DAY = 86_400_000_000_000n;

/** A directory holding only the migrations these tests need (0001 and 0003). */
export function hashChainMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hash-chain-migrations-'));
  for (const file of fs.readdirSync(MIGRATIONS_DIR)) {
    if (/^000[13]_.*\.sql$/.test(file))
      fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
  }
  return dir;
}

export async function migratedSchema(prefix: string): Promise<TestSchema> {
  const schema = await createTestSchema(prefix);
  await migrateUp(schema.pool, { dir: hashChainMigrations() });
  return schema;
}

export async function resetSchema(schema: TestSchema): Promise<void> {
  await schema.reset();
  await migrateUp(schema.pool, { dir: hashChainMigrations() });
}

export interface EventSpec {
  /** Journal number: the event id is `j<journal>:posted`. */
  journal: number;
  offset: number;
  partition?: number;
  /** Days after BASE_NS for the TigerBeetle timestamp (spreads events over months). */
  days?: number;
}

export function projected(spec: EventSpec): ProjectedEvent {
  const outcome = sampleOutcome(`j${spec.journal}`, spec.journal);
  const ns = BASE_NS + BigInt(spec.days ?? 0) * NS_PER_DAY + BigInt(spec.journal);
  outcome.transfers[0]!.timestamp = ns;
  return {
    event: toOutcomeEvent(outcome),
    topic: TOPIC,
    partition: spec.partition ?? 0,
    offset: String(spec.offset),
    timestamp: '1763700000000',
  };
}

/** `count` distinct events on one partition: journals from `firstJournal`, offset journal-1. */
export function sequence(count: number, firstJournal = 1, partition = 0): ProjectedEvent[] {
  return Array.from({ length: count }, (_, index) =>
    projected({ journal: firstJournal + index, offset: firstJournal + index - 1, partition }),
  );
}

export async function applyInBatches(
  pool: pg.Pool,
  projection: Projection,
  events: readonly ProjectedEvent[],
  batchSize: number,
): Promise<void> {
  for (let start = 0; start < events.length; start += batchSize) {
    const batch = events.slice(start, start + batchSize);
    await withTransaction(pool, (tx) => projection.apply(tx, batch));
  }
}

/** Runs `sql` with the append-only trigger disabled, as an attacker owning the table could. */
export async function tamper(pool: pg.Pool, sql: string, values: unknown[] = []): Promise<void> {
  await withTransaction(pool, async (tx: Queryable) => {
    await tx.query('ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_append_only');
    await tx.query(
      'ALTER TABLE ledger_block_checkpoint DISABLE TRIGGER ledger_block_checkpoint_append_only',
    );
    await tx.query(sql, values);
    await tx.query('ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_append_only');
    await tx.query(
      'ALTER TABLE ledger_block_checkpoint ENABLE TRIGGER ledger_block_checkpoint_append_only',
    );
  });
}

export interface StoredEvent {
  position: string;
  event_id: string;
  previous_hash: string;
  event_hash: string;
}

/** Every event of a chain in position order, hashes as hex (for comparisons). */
export async function storedChain(pool: pg.Pool, chain: string): Promise<StoredEvent[]> {
  // Sorted on the bigint (an output column named position would sort as text).
  const { rows } = await pool.query<StoredEvent>(
    `SELECT position::text AS position, event_id, encode(previous_hash, 'hex') AS previous_hash,
            encode(event_hash, 'hex') AS event_hash
       FROM ledger_event e WHERE chain = $1 ORDER BY e.position`,
    [chain],
  );
  return rows;
}
