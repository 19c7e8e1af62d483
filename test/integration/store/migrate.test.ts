/**
 * Proves the migration runner against real PostgreSQL, each test in a freshly emptied schema of
 * this file's own: the shipped migrations go up, down and up again with their seeds; a changed up
 * script, a deleted file and a late lower-numbered file are refused before anything runs; a
 * failing migration leaves no trace; two pools migrating at once serialise on the advisory lock
 * (both succeed, each migration runs once); a held lock times out with a typed error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import {
  migrateDown,
  MigrationError,
  MIGRATION_LOCK_CLASS,
  migrateUp,
  migrationStatus,
} from '../../../core/postgres/migrate';
import { loadMigrations, MIGRATIONS_DIR } from '../../../core/postgres/migration-files';
import { createDirectPool } from '../../../core/postgres/pool';
import { config, createTestSchema, type TestSchema } from '../../support/store/schema';

let schema: TestSchema;
let pool: pg.Pool;
const tmpDirs: string[] = [];

/** A copy of the first shipped migration plus `extra` files, to edit freely. */
function migrationsCopy(extra: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  tmpDirs.push(dir);
  // The runner's mechanics are exercised on the first shipped migration alone, so the numbers of
  // the extra files below stay free however many migrations ship.
  for (const file of fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.startsWith('0001_'))) {
    fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
  }
  for (const [name, sql] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

function extraMigration(version: string, name: string, up: string, down: string) {
  return { [`${version}_${name}.up.sql`]: up, [`${version}_${name}.down.sql`]: down };
}

async function tables(): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables ' +
      'WHERE table_schema = current_schema() ORDER BY 1',
  );
  return rows.map((row) => row.name);
}

async function versions(): Promise<number[]> {
  const { rows } = await pool.query<{ version: number }>(
    'SELECT version FROM schema_migrations ORDER BY version',
  );
  return rows.map((row) => row.version);
}

async function expectRefused(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(MigrationError);
  await expect(promise).rejects.toMatchObject({ code });
}

beforeAll(async () => {
  schema = await createTestSchema('migrate');
  pool = schema.pool;
});
beforeEach(() => schema.reset());
afterAll(async () => {
  await schema.drop();
  tmpDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
});

describe('the shipped migrations', () => {
  const shipped = loadMigrations(MIGRATIONS_DIR).map((m) => m.version);

  it('go up, down and up again, with their seeds each time', async () => {
    expect(shipped[0]).toBe(1);
    const applied = await migrateUp(pool);
    expect(applied.map((row) => row.version)).toEqual(shipped);
    expect(await tables()).toEqual(expect.arrayContaining(['account', 'asset', 'ledger_event']));
    const assets = await pool.query('SELECT code, ledger, scale FROM asset ORDER BY ledger');
    expect(assets.rows).toEqual([
      { code: 'USD', ledger: 1, scale: 2 },
      { code: 'EUR', ledger: 2, scale: 2 },
      { code: 'JPY', ledger: 3, scale: 0 },
      { code: 'BTC', ledger: 4, scale: 8 },
    ]);
    expect(await migrateUp(pool)).toEqual([]);

    const reverted = await migrateDown(pool, shipped.length);
    expect(reverted.map((row) => row.version)).toEqual([...shipped].reverse());
    expect(await tables()).toEqual(['schema_migrations']);
    expect(await versions()).toEqual([]);

    expect((await migrateUp(pool)).map((row) => row.version)).toEqual(shipped);
    const types = await pool.query('SELECT count(*) AS n FROM account_type');
    expect(types.rows[0]).toEqual({ n: 8n });
  });

  it('report their state without changing anything', async () => {
    const before = await migrationStatus(pool);
    expect(before.map((row) => [row.version, row.state])).toEqual(
      shipped.map((version) => [version, 'pending']),
    );
    expect(before[0]).toEqual({
      version: 1,
      name: 'control_plane',
      state: 'pending',
      appliedAt: null,
    });
    expect(await tables()).toEqual([]);
    await migrateUp(pool);
    const after = await migrationStatus(pool);
    expect(after.every((row) => row.state === 'applied' && row.appliedAt instanceof Date)).toBe(
      true,
    );
  });

  it.each([
    ['a negative scale', "INSERT INTO asset VALUES ('XAU', 9, -1, 'Gold')"],
    ['ledger zero', "INSERT INTO asset VALUES ('XAU', 0, 2, 'Gold')"],
    ['a duplicate ledger', "INSERT INTO asset VALUES ('XAU', 1, 2, 'Gold')"],
    ['tb_code zero', "INSERT INTO account_type VALUES ('loan', 'DEBIT', 0, 0, 'Loans')"],
    ['both balance limits', "INSERT INTO account_type VALUES ('loan', 'DEBIT', 9, 6, 'Loans')"],
    ['the linked flag', "INSERT INTO account_type VALUES ('loan', 'DEBIT', 9, 1, 'Loans')"],
    [
      'an account id outside the alphabet',
      'INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags) ' +
        "VALUES ('a b', 1, 'n', 'h', 'asset', 'USD', 0)",
    ],
    [
      'ledger id 2^128 - 1',
      'INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags) ' +
        "VALUES ('a', 340282366920938463463374607431768211455, 'n', 'h', 'asset', 'USD', 0)",
    ],
  ])('reject %s with a CHECK or UNIQUE constraint', async (_label, sql) => {
    await migrateUp(pool);
    await expect(pool.query(sql)).rejects.toMatchObject({ code: expect.stringMatching(/^23/) });
  });
});

describe('refusals', () => {
  it('refuse a changed up script, in both directions, and change nothing', async () => {
    const dir = migrationsCopy();
    await migrateUp(pool, { dir });
    const upFile = path.join(dir, '0001_control_plane.up.sql');
    fs.appendFileSync(upFile, '\n-- an innocent-looking edit\n');
    await expectRefused(migrateUp(pool, { dir }), 'checksum_mismatch');
    await expectRefused(migrateDown(pool, 1, { dir }), 'checksum_mismatch');
    expect((await migrationStatus(pool, { dir }))[0]).toMatchObject({ state: 'changed' });
    expect(await tables()).toContain('account');
  });

  it('refuse an applied migration whose file is gone, unless newer than every file', async () => {
    const dir = migrationsCopy({
      ...extraMigration('0002', 'two', 'CREATE TABLE two ();', 'DROP TABLE two;'),
      ...extraMigration('0003', 'three', 'CREATE TABLE three ();', 'DROP TABLE three;'),
    });
    await migrateUp(pool, { dir });
    fs.rmSync(path.join(dir, '0003_three.up.sql'));
    fs.rmSync(path.join(dir, '0003_three.down.sql'));
    // 0003 is "future" (a newer release applied it): an older release still starts.
    expect(await migrateUp(pool, { dir })).toEqual([]);
    expect((await migrationStatus(pool, { dir })).map((row) => row.state)).toEqual([
      'applied',
      'applied',
      'future',
    ]);
    await expectRefused(migrateDown(pool, 1, { dir }), 'missing_file');
    fs.rmSync(path.join(dir, '0002_two.up.sql'));
    fs.rmSync(path.join(dir, '0002_two.down.sql'));
    fs.writeFileSync(path.join(dir, '0004_four.up.sql'), 'SELECT 4;');
    fs.writeFileSync(path.join(dir, '0004_four.down.sql'), 'SELECT 4;');
    await expectRefused(migrateUp(pool, { dir }), 'missing_file');
  });

  it('refuse a pending migration numbered below an applied one', async () => {
    const dir = migrationsCopy(extraMigration('0003', 'three', 'SELECT 3;', 'SELECT 3;'));
    await migrateUp(pool, { dir });
    fs.writeFileSync(path.join(dir, '0002_two.up.sql'), 'CREATE TABLE two ();');
    fs.writeFileSync(path.join(dir, '0002_two.down.sql'), 'DROP TABLE two;');
    await expectRefused(migrateUp(pool, { dir }), 'out_of_order');
    expect(await tables()).not.toContain('two');
  });

  it('refuse to run where search_path names no existing schema', async () => {
    const lost = createDirectPool({
      url: config.DATABASE_DIRECT_URL,
      max: 1,
      searchPath: ['t_no_such_schema'],
    });
    try {
      await expectRefused(migrateUp(lost), 'no_schema');
    } finally {
      await lost.end();
    }
  });
});

describe('atomicity and concurrency', () => {
  it('roll a failing migration back whole, recording nothing', async () => {
    const dir = migrationsCopy(
      extraMigration('0002', 'broken', 'CREATE TABLE half ();\nSELECT 1/0;', 'DROP TABLE half;'),
    );
    await expect(migrateUp(pool, { dir })).rejects.toMatchObject({ code: '22012' });
    expect(await versions()).toEqual([1]);
    expect(await tables()).not.toContain('half');
  });

  it('serialise two pools migrating at once: both succeed, each migration runs once', async () => {
    const dir = migrationsCopy(
      extraMigration(
        '0002',
        'slow',
        'SELECT pg_sleep(0.3);\nCREATE TABLE slow ();',
        'DROP TABLE slow;',
      ),
    );
    const other = schema.newPool(1);
    const [first, second] = await Promise.all([
      migrateUp(pool, { dir }),
      migrateUp(other, { dir }),
    ]);
    const counts = [first.length, second.length].sort();
    expect(counts).toEqual([0, 2]);
    expect(await versions()).toEqual([1, 2]);
  });

  it("bound a migration by the migration timeout, not the pool's shorter one", async () => {
    const dir = migrationsCopy(
      extraMigration(
        '0002',
        'long',
        'SELECT pg_sleep(2);\nCREATE TABLE long ();',
        'DROP TABLE long;',
      ),
    );
    const impatient = createDirectPool({
      url: config.DATABASE_DIRECT_URL,
      max: 1,
      searchPath: [schema.name],
      statementTimeoutMs: 500,
    });
    try {
      await expect(impatient.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
      expect((await migrateUp(impatient, { dir })).map((row) => row.version)).toEqual([1, 2]);
    } finally {
      await impatient.end();
    }
  });

  it('give up with lock_timeout while another session holds the lock', async () => {
    const holder = await schema.newPool(1).connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [
        MIGRATION_LOCK_CLASS,
        schema.name,
      ]);
      await expectRefused(migrateUp(pool, { lockWaitMs: 200 }), 'lock_timeout');
      expect(await tables()).toEqual([]);
    } finally {
      holder.release(true);
    }
  });
});
