/**
 * Proves the reconciler against real PostgreSQL (a schema of this file's own, migrated with the
 * control plane, the journal store and the read models) and the embedded engine in a temp dir:
 * journals posted through the real JournalService and projected by the real journal-store and
 * account-balance `apply` reconcile clean; then each single break (a row deleted, an amount or
 * timestamp changed, a balance or flag edited, a row without transfer, a double posting, a stub
 * journal, an account without its ledger account) is flagged exactly, with the CLI exiting 1; lag
 * behind the horizon is never a mismatch; the Kafka horizon defers until the checkpoints catch up;
 * the periodic loop keeps its count and survives errors; the CLI names a locked engine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { AssetRegistry } from '../../bridge/src/accounts/registry';
import { AccountService } from '../../bridge/src/accounts/service';
import { toOutcomeEvent } from '../../bridge/src/events/schema';
import type { Journal, JournalOutcome } from '../../bridge/src/journal/model';
import { JournalService } from '../../bridge/src/journal/service';
import { transferId } from '../../bridge/src/ledger/ids';
import type { Ledger } from '../../bridge/src/ledger/port';
import { createLogger } from '../../bridge/src/logger';
import { migrateUp } from '../../bridge/src/store/migrate';
import { MIGRATIONS_DIR } from '../../bridge/src/store/migration-files';
import type { Queryable } from '../../bridge/src/store/pool';
import { openEmbeddedLedger } from '../../tb-cluster/embedded';
import { JournalStoreProjection } from '../../projections/src/journal-store';
import type { ProjectedEvent } from '../../projections/src/projection';
import { accountBalanceProjection } from '../../projections/src/read-models/account-balance';
import { runReconcile } from '../../projections/src/reconcile/cli';
import { type HorizonSource, kafkaCaughtUpHorizon } from '../../projections/src/reconcile/horizon';
import { startPeriodicReconcile } from '../../projections/src/reconcile/periodic';
import { reconcile, type ReconcileOptions } from '../../projections/src/reconcile/reconcile';
import type { MismatchKind, ReconcileReport } from '../../projections/src/reconcile/report';
import { createTestSchema, type TestSchema } from '../store/schema';

/** This file's migrations: control plane, journal store, read models (not others' work). */
const MIGRATIONS = /^000[124]_/;

let schema: TestSchema;
let db: pg.Pool;
let ledger: Ledger;
let journals: JournalService;
const outcomes: JournalOutcome[] = [];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-engine-'));
const migrationsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-migrations-'));
const projections = [new JournalStoreProjection(), accountBalanceProjection];

/** Far in the future: everything written so far is behind it. */
const ALL: HorizonSource = {
  horizon: () =>
    Promise.resolve({ kind: 'ready', timestampNs: 1n << 62n, source: 'test: everything' }),
};

function fixedHorizon(timestampNs: bigint): HorizonSource {
  return { horizon: () => Promise.resolve({ kind: 'ready', timestampNs, source: 'test' }) };
}

async function openLedger(): Promise<void> {
  ledger = await openEmbeddedLedger({ dataDir, fsync: false });
  const accounts = new AccountService({ db, ledger, registry: await AssetRegistry.load(db) });
  journals = new JournalService({
    accounts,
    batcher: { submit: (chain) => ledger.createTransfers([...chain]) },
    ledger: { lookupTransfers: (ids) => ledger.lookupTransfers(ids) },
    outcomes: {
      publish: (outcome) => {
        outcomes.push(outcome);
        return Promise.resolve({ partition: 0, offset: String(outcomes.length - 1) });
      },
    },
  });
}

/** Applies the outcomes published since `from` with the real projections, in one transaction. */
async function project(from: number): Promise<void> {
  const events: ProjectedEvent[] = outcomes.slice(from).map((outcome, i) => ({
    event: toOutcomeEvent(outcome),
    topic: 'ledger.journal-outcomes.v1',
    partition: 0,
    offset: String(from + i),
    timestamp: '0',
  }));
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    for (const projection of projections) await projection.apply(client, events);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

function journal(id: string, lines: [string, 'DEBIT' | 'CREDIT', bigint][], hold = false): Journal {
  return {
    journalId: id,
    date: '2025-11-21',
    description: `journal ${id}`,
    source: 'test',
    pending: hold ? { timeoutSeconds: 3600 } : null,
    lines: lines.map(([accountId, lineType, amount], i) => ({
      lineNumber: i + 1,
      accountId,
      lineType,
      amount,
    })),
  };
}

async function run(
  q: Queryable = db,
  options: ReconcileOptions = {},
  horizon = ALL,
): Promise<ReconcileReport> {
  return reconcile({ db: q, ledger, horizon }, options);
}

/** The non-zero counts only, for exact assertions. */
function nonZero(report: ReconcileReport): Partial<Record<MismatchKind, number>> {
  return Object.fromEntries(Object.entries(report.counts).filter(([, n]) => n > 0));
}

/** Runs `fn` on a client inside a transaction that is rolled back: the break never persists. */
async function broken<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    return await fn(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  for (const file of fs.readdirSync(MIGRATIONS_DIR)) {
    if (MIGRATIONS.test(file)) {
      fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(migrationsDir, file));
    }
  }
  schema = await createTestSchema('reconcile');
  db = schema.pool;
  await migrateUp(db, { dir: migrationsDir });
  await openLedger();
  const accounts = new AccountService({ db, ledger, registry: await AssetRegistry.load(db) });
  const create = (accountId: string, accountType: string) =>
    accounts.createAccount({
      accountId,
      name: accountId,
      holderId: 'h',
      accountType,
      asset: 'USD',
    });
  await create('cash.usd', 'asset');
  await create('wallet:alice.usd', 'liability');
  await create('wallet:bob.usd', 'liability');
  await create('fees.usd', 'fee');
  await journals.post(
    journal('j-fund', [
      ['cash.usd', 'DEBIT', 10_000n],
      ['wallet:alice.usd', 'CREDIT', 10_000n],
    ]),
  );
  await journals.post(
    journal('j-pay', [
      ['wallet:alice.usd', 'DEBIT', 1_250n],
      ['wallet:bob.usd', 'CREDIT', 1_200n],
      ['fees.usd', 'CREDIT', 50n],
    ]),
  );
  const hold = (id: string) =>
    journal(
      id,
      [
        ['wallet:alice.usd', 'DEBIT', 700n],
        ['wallet:bob.usd', 'CREDIT', 700n],
      ],
      true,
    );
  await journals.post(hold('j-hold-post'));
  await journals.resolveHold('j-hold-post', 'post', 500n);
  await journals.post(hold('j-hold-void'));
  await journals.resolveHold('j-hold-void', 'void');
  await journals.post(hold('j-hold-open'));
  // Refused by the ledger (bob cannot go negative): an event, but no transfer anywhere.
  await expect(
    journals.post(
      journal('j-refused', [
        ['wallet:bob.usd', 'DEBIT', 1_000_000n],
        ['cash.usd', 'CREDIT', 1_000_000n],
      ]),
    ),
  ).rejects.toThrow();
  await project(0);
});

afterAll(async () => {
  await ledger?.close();
  await schema?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(migrationsDir, { recursive: true, force: true });
});

describe('a consistent state', () => {
  it('reconciles clean, every transfer and account compared', async () => {
    const report = await run();
    expect(nonZero(report)).toEqual({});
    expect(report.mismatchCount).toBe(0);
    expect(report.deferred).toBeNull();
    // j-fund 1, j-pay 2, two holds and their post/void 4, the open hold 1.
    expect(report.transfers).toEqual({ ledgerScanned: 8, storeScanned: 8 });
    expect(report.accounts).toEqual({ compared: 4, skippedBusy: 0, skippedRecent: 0 });
  });

  it('pages of one row give the same answer', async () => {
    const report = await run(db, { pageSize: 1 });
    expect(report.mismatchCount).toBe(0);
    expect(report.transfers).toEqual({ ledgerScanned: 8, storeScanned: 8 });
  });
});

/** One break each, as SQL on the test's schema; the expected counts are exact. */
const PAY_0 = transferId('j-pay', 'create', 0).toString();
const PAY_1 = transferId('j-pay', 'create', 1).toString();
const ALICE = "(SELECT ledger_id FROM account WHERE account_id = 'wallet:alice.usd')";
const COPY_OF_PAY_0 = (id: string, chainIndex: string) => `
  INSERT INTO journal_transfer
  SELECT ${id}, journal_id, step, ${chainIndex}, debit_line, credit_line, debit_account_id,
         credit_account_id, debit_account_ledger_id, credit_account_ledger_id, amount, pending_id,
         ledger, code, flags, timeout, user_data_128, user_data_64, user_data_32,
         tb_timestamp + 1, status, event_id
    FROM journal_transfer WHERE transfer_id = ${PAY_0}`;

const BREAKS: [string, string, Partial<Record<MismatchKind, number>>, string?][] = [
  [
    'a journal_transfer row deleted',
    `DELETE FROM journal_transfer WHERE transfer_id = ${PAY_1}`,
    { transfer_without_metadata: 1 },
  ],
  [
    'an amount changed',
    `UPDATE journal_transfer SET amount = amount + 1 WHERE transfer_id = ${PAY_0}`,
    { transfer_field_mismatch: 1 },
    'amount',
  ],
  [
    'a timestamp changed',
    `UPDATE journal_transfer SET tb_timestamp = tb_timestamp - 5 WHERE transfer_id = ${PAY_0}`,
    { transfer_field_mismatch: 1 },
    'timestamp',
  ],
  [
    'a debit account changed',
    `UPDATE journal_transfer SET debit_account_ledger_id = 42 WHERE transfer_id = ${PAY_0}`,
    { transfer_field_mismatch: 1 },
    'debit_account_id',
  ],
  [
    'a balance changed',
    `UPDATE rm_account_balance SET credits_posted = credits_posted - 1
      WHERE ledger_account_id = ${ALICE}`,
    { account_balance_mismatch: 1 },
    'credits_posted',
  ],
  [
    "an account's balance row lost",
    `DELETE FROM rm_account_balance WHERE ledger_account_id = ${ALICE}`,
    // Alice has all four totals non-zero: the open hold keeps both pending totals.
    { account_balance_mismatch: 3 },
  ],
  [
    "an account's flags changed",
    "UPDATE account SET flags = 0 WHERE account_id = 'wallet:alice.usd'",
    { account_attribute_mismatch: 1 },
    'flags',
  ],
  [
    'an account row without its ledger account',
    `INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags)
     VALUES ('ghost.usd', 777, 'ghost', 'h', 'asset', 'USD', 0)`,
    { account_missing_in_ledger: 1 },
  ],
  [
    'a row whose transfer the ledger does not hold',
    COPY_OF_PAY_0(transferId('j-pay', 'create', 7).toString(), '7'),
    { transfer_missing_in_ledger: 1 },
  ],
  [
    'a second transfer at one chain position (double posting)',
    COPY_OF_PAY_0(transferId('j-other', 'create', 0).toString(), '0'),
    { transfer_missing_in_ledger: 1, duplicate_transfer: 1, misattributed_transfer: 1 },
  ],
  [
    'a journal stub without metadata',
    "UPDATE journal_entry SET date = NULL WHERE journal_id = 'j-hold-post'",
    { journal_without_metadata: 1 },
  ],
];

describe.each(BREAKS)('%s', (_label, sql, expected, field) => {
  it('is flagged exactly', async () => {
    const report = await broken(async (client) => {
      await client.query(sql);
      return run(client);
    });
    expect(nonZero(report)).toEqual(expected);
    expect(report.mismatchCount).toBe(Object.values(expected).reduce((a, b) => a + b, 0));
    if (field !== undefined) {
      expect(report.examples).toEqual([expect.objectContaining({ field })]);
    }
  });
});

describe('the horizon', () => {
  it('ignores what is newer than the horizon, then flags it once behind it', async () => {
    const before = (
      await ledger.queryTransfers({
        user_data_128: 0n,
        user_data_64: 0n,
        user_data_32: 0,
        ledger: 0,
        code: 0,
        timestamp_min: 0n,
        timestamp_max: 0n,
        limit: 1,
        flags: 1, // reversed: the latest
      })
    )[0]!.timestamp;
    const from = outcomes.length;
    await journals.post(
      journal('j-late', [
        ['cash.usd', 'DEBIT', 5n],
        ['wallet:bob.usd', 'CREDIT', 5n],
      ]),
    );
    // Not projected yet: the projection lags. Behind the horizon nothing is reported.
    const lagging = await run(db, {}, fixedHorizon(before));
    expect(nonZero(lagging)).toEqual({});
    expect(lagging.accounts).toMatchObject({ compared: 2, skippedBusy: 2 });
    // Past it, the unprojected transfer and both accounts it moved are real mismatches.
    const late = await run();
    expect(nonZero(late)).toEqual({ transfer_without_metadata: 1, account_balance_mismatch: 2 });
    await project(from);
    expect((await run()).mismatchCount).toBe(0);
  });

  it('defers until the projection checkpoints reach the high watermarks', async () => {
    const topic = 'ledger.journal-outcomes.v1';
    const admin = {
      fetchTopicOffsets: () =>
        Promise.resolve([
          { partition: 0, high: '10' },
          { partition: 1, high: '0' },
        ]),
    };
    const horizon = (waitMs: number) =>
      kafkaCaughtUpHorizon({
        admin,
        db,
        topic,
        consumerGroup: 'g-reconcile',
        settleDelayMs: 5_000,
        waitMs,
        pollMs: 5,
        clockMs: () => 1_000_000,
      });
    await db.query(
      `INSERT INTO projection_checkpoint (consumer_group, topic, partition, next_offset)
       VALUES ('g-reconcile', $1, 0, 9)`,
      [topic],
    );
    const deferred = await reconcile({ db, ledger, horizon: horizon(0) });
    expect(deferred.deferred).toMatch(/behind: partition 0: 1 events/);
    expect(deferred.transfers.ledgerScanned).toBe(0);
    await db.query(
      "UPDATE projection_checkpoint SET next_offset = 10 WHERE consumer_group = 'g-reconcile'",
    );
    await expect(horizon(0).horizon()).resolves.toMatchObject({
      kind: 'ready',
      timestampNs: (1_000_000n - 5_000n) * 1_000_000n,
    });
  });
});

describe('periodic', () => {
  const log = createLogger('silent');

  it('keeps the last count, sees a break, and stops', async () => {
    const loop = startPeriodicReconcile({ db, ledger, horizon: ALL }, log, {
      intervalMs: 10,
      lookbackMs: 86_400_000,
    });
    try {
      while (loop.lastMismatchCount() === null) await sleep(5);
      expect(loop.lastMismatchCount()).toBe(0);
      await db.query(
        `UPDATE journal_transfer SET amount = amount + 1 WHERE transfer_id = ${PAY_0}`,
      );
      const deadline = Date.now() + 10_000;
      while (loop.lastMismatchCount() === 0 && Date.now() < deadline) await sleep(5);
      expect(loop.lastMismatchCount()).toBe(1);
    } finally {
      await db.query(
        `UPDATE journal_transfer SET amount = amount - 1 WHERE transfer_id = ${PAY_0}`,
      );
      await loop.stop();
    }
  });

  it('survives failing runs and backs off', async () => {
    const failing: Queryable = { query: () => Promise.reject(new Error('database down')) };
    const loop = startPeriodicReconcile({ db: failing, ledger, horizon: ALL }, log, {
      intervalMs: 5,
      backoffMaxMs: 20,
    });
    while (loop.failures() < 3) await sleep(5);
    expect(loop.lastMismatchCount()).toBeNull();
    await loop.stop();
  });
});

describe('the CLI', () => {
  const lines: { out: string[]; err: string[] } = { out: [], err: [] };
  const env = {
    ...process.env,
    TB_ADDRESSES: undefined,
    ENGINE_DATA_DIR: dataDir,
    ENGINE_FSYNC: 'false',
    LOG_LEVEL: 'silent',
  };
  const io = () => ({
    env: { ...env, PROJECTIONS_DATABASE_SCHEMA: schema.name },
    out: (line: string) => lines.out.push(line),
    err: (line: string) => lines.err.push(line),
  });
  const args = ['--no-wait', '--settle-ms', '0', '--json'];

  beforeEach(() => {
    lines.out = [];
    lines.err = [];
  });

  it('says the engine is locked by a running process (exit 2)', async () => {
    expect(await runReconcile(args, io())).toBe(2);
    expect(lines.err.join('\n')).toMatch(/in use by process \d+[\s\S]*TB_ADDRESSES/);
  });

  it('exits 0 when clean and 1 on a mismatch, with the JSON report', async () => {
    await ledger.close();
    await sleep(5);
    try {
      expect(await runReconcile(args, io())).toBe(0);
      expect(JSON.parse(lines.out[0]!)).toMatchObject({ mismatchCount: 0 });
      await db.query(`DELETE FROM journal_transfer WHERE transfer_id = ${PAY_1}`);
      lines.out = [];
      expect(await runReconcile(args, io())).toBe(1);
      const report = JSON.parse(lines.out[0]!) as ReconcileReport;
      expect(report.counts.transfer_without_metadata).toBe(1);
      expect(report.examples[0]).toMatchObject({ transferId: PAY_1 });
      expect(await runReconcile(['--bogus'], io())).toBe(2);
    } finally {
      await openLedger();
    }
  });
});
