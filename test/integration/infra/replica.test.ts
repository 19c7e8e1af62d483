/**
 * Proves the stack's streaming replica (infra/lib/postgres-replica.sh) is what infra/README.md
 * says: a hot standby of the primary on its own port (55433), made by pg_basebackup -R with its
 * own physical slot, in use (a row committed on the primary is readable on it within
 * seconds), read-only, reported by `stack.sh status`, and left alone by a repeated `up`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { stackSettings } from '../../support/infra/settings';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REPLICA_URL =
  process.env.DATABASE_REPLICA_URL ?? 'postgres://ledger:ledger@127.0.0.1:55433/ledger_test';

function onDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

test('the replica is a streaming hot standby on its own port, with its own slot', async () => {
  const standby = await withClient(REPLICA_URL, async (c) => {
    const { rows } = await c.query('SELECT pg_is_in_recovery() AS r, current_setting($1) AS port', [
      'port',
    ]);
    return rows[0];
  });
  expect(standby).toEqual({ r: true, port: '55433' });
  const primaryUrl = onDatabase(stackSettings.databasePrimaryUrl, 'ledger_test');
  const slots = await withClient(primaryUrl, async (c) => {
    const { rows } = await c.query(
      // pg_stat_replication hides its details from non-superusers: the slot says enough.
      "SELECT slot_name, active, slot_type FROM pg_replication_slots WHERE slot_name = 'replica1'",
    );
    return rows;
  });
  expect(slots).toContainEqual({ slot_name: 'replica1', active: true, slot_type: 'physical' });
  const conf = fs.readFileSync(
    path.join(ROOT, '.run/postgres/replica1/ledger-bridge.conf'),
    'utf8',
  );
  expect(conf).toMatch(/^port = 55433$/m);
  expect(fs.existsSync(path.join(ROOT, '.run/postgres/replica1/standby.signal'))).toBe(true);
});

test('a row committed on the primary is readable on the replica, which refuses writes', async () => {
  const table = `replica_infra_${process.pid}`;
  const primaryUrl = onDatabase(stackSettings.databasePrimaryUrl, 'ledger_test');
  const marker = `m-${Date.now()}`;
  await withClient(primaryUrl, async (c) => {
    await c.query(`CREATE TABLE IF NOT EXISTS ${table} (marker text)`);
    await c.query(`INSERT INTO ${table} VALUES ($1)`, [marker]);
  });
  try {
    const started = Date.now();
    await withClient(REPLICA_URL, async (c) => {
      for (;;) {
        const found = await c
          .query(`SELECT 1 FROM ${table} WHERE marker = $1`, [marker])
          .then((r) => r.rowCount === 1)
          .catch(() => false);
        if (found) return;
        if (Date.now() - started > 10_000) throw new Error('row not replicated within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    await expect(
      withClient(REPLICA_URL, (c) => c.query(`INSERT INTO ${table} VALUES ('x')`)),
    ).rejects.toThrow(/read-only transaction/);
  } finally {
    await withClient(primaryUrl, (c) => c.query(`DROP TABLE IF EXISTS ${table}`));
  }
});

test('stack.sh status reports it; a repeated up leaves it running', () => {
  const status = execFileSync('bash', ['infra/stack.sh', 'status'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(status).toMatch(/^replica\s+running \(pid \d+\) 127\.0\.0\.1:55433 standby of :55432$/m);
  const pid = status.match(/^replica\s+running \(pid (\d+)\)/m)![1];
  const script =
    'set -euo pipefail; source infra/lib/common.sh; source infra/lib/postgres.sh; ' +
    'source infra/lib/postgres-replica.sh; postgres_replica_up';
  const out = execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' });
  expect(out).toContain(`postgres-replica: already running (pid ${pid})`);
});
