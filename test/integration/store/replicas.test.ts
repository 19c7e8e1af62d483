/**
 * Proves lag-aware read routing against the real local primary and its
 * streaming replica (infra/lib/postgres-replica.sh): a caught-up replica is picked, also for a
 * WAL position it has replayed; a replica whose replay is paused (`pg_wal_replay_pause()`) while
 * the primary writes falls behind the bound and reads go to the primary until replay resumes; a
 * stopped replica is skipped (reads fall back to the primary) and used again once restarted.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { ReplicaRouter, parseLsn } from '../../../core/postgres/replicas';
import { createDirectPool } from '../../../core/postgres/pool';
import { config } from '../../support/store/schema';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REPLICA_URL =
  process.env.DATABASE_REPLICA_URL ?? 'postgres://ledger:ledger@127.0.0.1:55433/ledger_test';
const LAG_MS_MAX = 300;

let primary: pg.Pool;
let router: ReplicaRouter;
const table = `replica_probe_${process.pid}`;

function replicaScript(fn: 'postgres_replica_up' | 'postgres_replica_down'): string {
  const script = [
    'set -euo pipefail',
    'source infra/lib/common.sh',
    'source infra/lib/postgres.sh',
    'source infra/lib/postgres-replica.sh',
    fn,
  ].join('; ');
  return execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
}

async function onReplica<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: REPLICA_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

const pickedName = async (minLsn?: string) => {
  await router.poll();
  return router.pick(minLsn === undefined ? {} : { minLsn }).name;
};

beforeAll(async () => {
  // The primary directly, on the test database the replica URL names (the database replicates).
  const url = new URL(config.DATABASE_DIRECT_URL);
  url.pathname = '/ledger_test';
  primary = createDirectPool({ url: url.toString(), max: 2 });
  await primary.query(`CREATE TABLE IF NOT EXISTS ${table} (n int)`);
  router = new ReplicaRouter({
    primary,
    replicas: [{ name: 'replica1', url: REPLICA_URL }],
    poolMax: 2,
    pollMs: 50,
    lagMsMax: LAG_MS_MAX,
    pollTimeoutMs: 500,
  });
  await router.start();
});

afterAll(async () => {
  await onReplica('SELECT pg_wal_replay_resume()').catch(() => undefined);
  await router.close();
  await primary.query(`DROP TABLE IF EXISTS ${table}`);
  await primary.end();
});

test('a caught-up replica is picked, also for a WAL position it has replayed', async () => {
  await until(async () => (await pickedName()) === 'replica1', 5_000);
  const [lag] = router.lag();
  expect(lag).toMatchObject({ name: 'replica1', up: true, eligible: true });
  expect(lag!.lagMs).toBeLessThanOrEqual(LAG_MS_MAX);
  // The position after the commit: one read in the INSERT's own statement comes before its
  // commit record, so a replica could stand there and not see the row yet.
  await primary.query(`INSERT INTO ${table} VALUES (1)`);
  const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const lsn = rows[0]!.lsn;
  // Until the replica is seen past the write, a read needing it goes to the primary.
  await until(async () => (await pickedName(lsn)) === 'replica1', 5_000);
  const picked = router.pick({ minLsn: lsn });
  const { rows: seen } = await picked.db.query(`SELECT count(*)::int AS n FROM ${table}`);
  expect(seen[0]!.n).toBeGreaterThanOrEqual(1);
  expect(parseLsn(router.lag()[0]!.replayLsn!)).toBeGreaterThanOrEqual(parseLsn(lsn));
});

test('a replica with paused replay falls behind the bound: reads go to the primary', async () => {
  await onReplica('SELECT pg_wal_replay_pause()');
  try {
    const writer = setInterval(() => {
      void primary.query(`INSERT INTO ${table} VALUES (2)`).catch(() => undefined);
    }, 10);
    try {
      const tookMs = await until(async () => (await pickedName()) === 'primary', 5_000);
      expect(tookMs).toBeLessThan(LAG_MS_MAX + 1_000);
      const [lag] = router.lag();
      expect(lag!.up).toBe(true);
      expect(lag!.lagMs!).toBeGreaterThan(LAG_MS_MAX);
      expect(lag!.lagBytes!).toBeGreaterThan(0);
    } finally {
      clearInterval(writer);
    }
  } finally {
    await onReplica('SELECT pg_wal_replay_resume()');
  }
  await until(async () => (await pickedName()) === 'replica1', 5_000);
});

test('a stopped replica is skipped; once restarted it is used again', async () => {
  replicaScript('postgres_replica_down');
  try {
    await until(async () => (await pickedName()) === 'primary', 5_000);
    expect(router.lag()[0]).toMatchObject({ up: false, eligible: false });
    // The fallback answers reads.
    const { rows } = await router.pick().db.query(`SELECT count(*)::int AS n FROM ${table}`);
    expect(rows[0]!.n).toBeGreaterThanOrEqual(1);
  } finally {
    replicaScript('postgres_replica_up');
  }
  await until(async () => (await pickedName()) === 'replica1', 15_000);
}, 120_000);
