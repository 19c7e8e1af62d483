/**
 * Proves the partition manager against real PostgreSQL, in a schema of this file's own: it
 * creates the current month and the next three, idempotently; eight workers ensuring at once all
 * succeed and create each partition once (the advisory lock); the projection creates the month of
 * an old replayed event on demand, while a row for a month without a partition fails loudly (no
 * DEFAULT partition); partitions are append-only too; the maintenance loop survives failures
 * with backoff and recovers; and the CLI ensures and lists with exit statuses 0 and 2.
 */
import type pg from 'pg';
import pino from 'pino';
import { withTransaction } from '../../../core/postgres/pool';
import { hashChainProjection } from '../../../projections/src/hash-chain/projection';
import { runPartitions } from '../../../projections/src/partitions/cli';
import { startPartitionMaintenance } from '../../../projections/src/partitions/maintenance';
import {
  ensureMonths,
  ensurePartitions,
  listPartitions,
} from '../../../projections/src/partitions/manager';
import { addMonths, monthOfNs, partitionName } from '../../../projections/src/partitions/months';
import { createDirectPool } from '../../../core/postgres/pool';
import { config, type TestSchema } from '../../support/store/schema';
import {
  applyInBatches,
  BASE_NS,
  migratedSchema,
  projected,
  resetSchema,
} from '../../support/projections/hash-chain-fixtures';

let schema: TestSchema;
const NOW = new Date('2025-11-21T12:00:00Z');
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  schema = await migratedSchema('parts');
});
afterAll(() => schema.drop());
beforeEach(() => resetSchema(schema));

async function names(): Promise<string[]> {
  return (await listPartitions(schema.pool)).map((p) => p.name);
}

it('names and bounds months in UTC, across a year end', () => {
  expect(partitionName(addMonths({ year: 2025, month: 11 }, 2))).toBe('ledger_event_y2026m01');
  expect(monthOfNs(BASE_NS)).toEqual({ year: 2025, month: 11 });
  // 2025-11-30T23:59:59.999999999Z is still November.
  expect(monthOfNs(1_764_547_199_999_999_999n)).toEqual({ year: 2025, month: 11 });
  expect(monthOfNs(1_764_547_200_000_000_000n)).toEqual({ year: 2025, month: 12 });
});

it('creates the current month and the next three, idempotently', async () => {
  const first = await ensurePartitions(schema.pool, { now: NOW });
  const expected = [
    'ledger_event_y2025m11',
    'ledger_event_y2025m12',
    'ledger_event_y2026m01',
    'ledger_event_y2026m02',
  ];
  expect(first).toEqual({ partitions: expected, created: expected });
  expect(await ensurePartitions(schema.pool, { now: NOW })).toEqual({
    partitions: expected,
    created: [],
  });
  const listed = await listPartitions(schema.pool);
  expect(listed.map((p) => p.name)).toEqual(expected);
  expect(listed[1]!.bounds).toBe(
    "FOR VALUES FROM ('2025-12-01 00:00:00+00') TO ('2026-01-01 00:00:00+00')",
  );
});

it('lets concurrent workers ensure at once: all succeed, each partition made once', async () => {
  const pools: pg.Pool[] = Array.from({ length: 8 }, () => schema.newPool(1));
  const results = await Promise.all(
    pools.map((pool) => ensurePartitions(pool, { now: NOW, monthsAhead: 5 })),
  );
  const created = results.flatMap((result) => result.created).sort();
  expect(created).toHaveLength(6);
  expect(new Set(created).size).toBe(6);
  expect(await names()).toHaveLength(6);
  await Promise.all(pools.map((pool) => pool.end()));
});

it('creates the month of an old replayed event on demand; no partition, no row', async () => {
  await ensurePartitions(schema.pool, { now: NOW, monthsAhead: 0 });
  const old = projected({ journal: 1, offset: 0, days: -400 }); // October 2024
  await applyInBatches(schema.pool, hashChainProjection, [old], 1);
  expect(await names()).toEqual(['ledger_event_y2024m10', 'ledger_event_y2025m11']);
  // Inserting directly into a month nobody created fails (no DEFAULT partition hides it).
  await expect(
    schema.pool.query(
      "INSERT INTO ledger_event SELECT chain, 2, 'x', occurred_at_ns, '2030-01-01', kafka_offset, " +
        'journal_id, kind, payload, previous_hash, event_hash FROM ledger_event',
    ),
  ).rejects.toMatchObject({ message: expect.stringMatching(/no partition/) });
  // ensureMonths is cheap and changes nothing when all exist.
  const created = await withTransaction(schema.pool, (tx) =>
    ensureMonths(tx, [{ year: 2024, month: 10 }]),
  );
  expect(created).toEqual([]);
  await expect(schema.pool.query('TRUNCATE ledger_event_y2024m10')).rejects.toMatchObject({
    message: expect.stringMatching(/append-only/),
  });
});

it('keeps partitions ahead in the background, and backs off without dying on errors', async () => {
  const broken = createDirectPool({ url: 'postgres://nobody:x@127.0.0.1:1/none', max: 1 });
  const failing = startPartitionMaintenance(broken, silent, {
    intervalMs: 60_000,
    retryMinMs: 10,
    retryMaxMs: 40,
    now: () => NOW,
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(failing.runs).toBeGreaterThanOrEqual(3);
  expect(failing.consecutiveFailures).toBe(failing.runs);
  await failing.stop();
  await broken.end();

  const loop = startPartitionMaintenance(schema.pool, silent, {
    intervalMs: 20,
    monthsAhead: 1,
    now: () => NOW,
  });
  for (let waitedMs = 0; loop.runs < 2 && waitedMs < 5_000; waitedMs += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await loop.stop();
  expect(loop.consecutiveFailures).toBe(0);
  expect(await names()).toEqual(['ledger_event_y2025m11', 'ledger_event_y2025m12']);
});

it('ensures and lists from the CLI', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const url = new URL(config.DATABASE_DIRECT_URL);
  url.searchParams.set('options', `-c search_path=${schema.name}`);
  const io = {
    env: { ...process.env, DATABASE_DIRECT_URL: url.toString() },
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
  };
  expect(await runPartitions(['ensure', '--months-ahead', '1'], io)).toBe(0);
  expect(out).toHaveLength(2);
  expect(out[0]).toMatch(/^ledger_event_y\d{4}m\d{2} created$/);
  out.length = 0;
  expect(await runPartitions(['list', '--json'], io)).toBe(0);
  expect(JSON.parse(out[0]!)).toHaveLength(2);
  expect(await runPartitions(['shred'], io)).toBe(2);
  expect(await runPartitions(['ensure', '--months-ahead', 'x'], io)).toBe(2);
  expect(err[0]).toMatch(/^usage/);
});
