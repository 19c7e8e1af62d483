/**
 * Proves the reconciler against real PostgreSQL (a schema of this file's own, migrated with the
 * control plane, the journal store, the read models and the change store) and the real
 * TigerBeetle cluster when configured (test/support/ledger.ts), else the embedded engine: journals
 * posted through the real JournalService, their outcome events projected by the real journal
 * store and their transfers' change events (as of each event, built by the test simulator from
 * the transfers the ledger holds) by the real change store and account-balance `apply`, reconcile
 * clean, every balance equal to TigerBeetle's. Then each single break (a row deleted, an amount or
 * timestamp changed, a balance or a `closed` flag edited, a row without transfer, a double
 * posting, a stub journal, an account without its ledger account) is flagged exactly; a transfer
 * without journal metadata that the change feed delivered is a raw movement, not a mismatch, and
 * one in neither store is `transfer_without_metadata`, the CLI exiting 0 and 1 on those; lag
 * behind the horizon is never a mismatch, and a journal whose outcome lags its change events is
 * raw until it arrives; the horizon of both feeds defers until both groups' checkpoints catch up;
 * the periodic loop keeps its count and survives errors; on a ledger shared with others, a raw
 * transfer between two accounts the deployment does not have is `foreign`, one touching ours is
 * flagged until the change feed delivers it and raw after, and the whole window, accounts and raw
 * transfers included, reconciles clean; the CLI names a locked engine (an engine of that case's
 * own, whatever the file's ledger).
 *
 * The cluster outlives test runs and serves every test file, so every account and journal id here
 * carries RUN, and every reconcile covers this file's own window of ledger timestamps (its first
 * transfer to its last), never the cluster's whole history.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { AssetRegistry } from '../../../bridge/src/accounts/registry';
import { AccountService } from '../../../bridge/src/accounts/service';
import { toOutcomeEvent } from '../../../events/schema';
import type { Journal, JournalOutcome } from '../../../events/journal-model';
import { JournalService } from '../../../bridge/src/journal/service';
import { accountLedgerId, transferId } from '../../../ledger/ids';
import {
  AccountFlags,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
} from '../../../ledger/port';
import { newAccount, newTransfer } from '../../../ledger/records';
import { createLogger } from '../../../core/logger';
import { migrateUp } from '../../../core/postgres/migrate';
import { MIGRATIONS_DIR } from '../../../core/postgres/migration-files';
import { type Queryable, withTransaction } from '../../../core/postgres/pool';
import { openEmbeddedLedger } from '../../../ledger/engine';
import type { ProjectedChange } from '../../../projections/src/changes/feed';
import { ledgerChangeProjection } from '../../../projections/src/changes/store';
import { projectionFeeds } from '../../../projections/src/feed';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import type { ProjectedEvent, Projection } from '../../../projections/src/projection';
import { accountBalanceProjection } from '../../../projections/src/read-models/account-balance';
import { runReconcile } from '../../../projections/src/reconcile/cli';
import {
  feedsCaughtUpHorizon,
  type HorizonSource,
} from '../../../projections/src/reconcile/horizon';
import { startPeriodicReconcile } from '../../../projections/src/reconcile/periodic';
import { reconcile, type ReconcileOptions } from '../../../projections/src/reconcile/reconcile';
import type { MismatchKind, ReconcileReport } from '../../../projections/src/reconcile/report';
import { createTestSchema, type TestSchema } from '../../support/store/schema';
import { openTestLedger, type TestLedger } from '../../support/ledger';
import {
  changeRecords,
  LedgerSimulator,
  simTransferOf,
} from '../../support/projections/change-fixtures';

/** This file's migrations: control plane, journal store, read models, change store. */
const MIGRATIONS = /^000[12456]_/;

/** This run's ids: the cluster still holds every earlier run's accounts and transfers. */
const RUN = randomUUID().slice(0, 8);
const usd = (name: string) => `${name}.${RUN}.usd`;
const jid = (name: string) => `${name}-${RUN}`;
const CASH = usd('cash');
const ALICE_ID = usd('wallet:alice');
const BOB = usd('wallet:bob');
const FEES = usd('fees');

let schema: TestSchema;
let db: pg.Pool;
let testLedger: TestLedger;
/** testLedger's, or the engine reopened after the CLI case let go of it. */
let ledger: Ledger;
let journals: JournalService;
const outcomes: JournalOutcome[] = [];
/** Ledger timestamps of this file's first and (so far) last transfer: its reconcile window. */
let first = 0n;
let last = 0n;
const migrationsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-migrations-'));
const journalStore = new JournalStoreProjection();
/** What the change feed builds that the reconciler reads. */
const changeModels: Projection<ProjectedChange>[] = [
  ledgerChangeProjection,
  accountBalanceProjection,
];
/**
 * The ledger's change feed for this file's accounts: they start at zero and only this file moves
 * them, so replaying the ledger's transfers in timestamp order gives each event's as-of balances.
 */
const feed = new LedgerSimulator(1n);
/** Transfer ids of the outcomes' created transfers, in order, and how many were fed. */
const created: bigint[] = [];
let fed = 0;

/** Far in the future: everything written so far is behind it. */
const ALL: HorizonSource = {
  horizon: () =>
    Promise.resolve({ kind: 'ready', timestampNs: 1n << 62n, source: 'test: everything' }),
};

function fixedHorizon(timestampNs: bigint): HorizonSource {
  return { horizon: () => Promise.resolve({ kind: 'ready', timestampNs, source: 'test' }) };
}

/** The journal service on `ledger`, as the bridge wires it. */
async function wireJournals(): Promise<void> {
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

/** Moves `last` to the latest transfer the ledger created for the outcomes since `from`. */
function extendWindow(from: number): void {
  for (const outcome of outcomes.slice(from)) {
    for (const { status, timestamp, transfer } of outcome.transfers) {
      if (status !== CreateTransferStatus.created) continue;
      created.push(transfer.id);
      if (first === 0n || timestamp < first) first = timestamp;
      if (timestamp > last) last = timestamp;
    }
  }
}

/** Opens this file's accounts in the feed simulator, with the ledger's own fixed fields. */
async function openInFeed(ledgerIds: bigint[]): Promise<void> {
  for (const a of await ledger.lookupAccounts(ledgerIds)) {
    feed.open({
      ...a,
      userData128: a.user_data_128,
      userData64: a.user_data_64,
      userData32: a.user_data_32,
    });
  }
}

/** Delivers the change events of these ledger transfers, as the change runner applies them. */
async function feedChanges(ids: readonly bigint[]): Promise<void> {
  const transfers = (await ledger.lookupTransfers([...ids])).sort((a, b) =>
    a.timestamp < b.timestamp ? -1 : 1,
  );
  expect(transfers).toHaveLength(ids.length);
  const changes = transfers.map((t) => feed.transfer(simTransferOf(t)));
  const records = changeRecords(changes, { topic: 'ledger.changes.v1' });
  await withTransaction(db, async (tx) => {
    for (const model of changeModels) await model.apply(tx, records);
  });
}

/**
 * Projects the outcomes published since `from` (the journal store) and the change events of
 * every transfer created since the last call (the change feed); either feed can lag alone.
 */
async function project(
  from: number,
  feeds: { outcomes: boolean; changes: boolean } = { outcomes: true, changes: true },
): Promise<void> {
  if (feeds.changes) {
    await feedChanges(created.slice(fed));
    fed = created.length;
  }
  if (!feeds.outcomes) return;
  const events: ProjectedEvent[] = outcomes.slice(from).map((outcome, i) => ({
    event: toOutcomeEvent(outcome),
    topic: 'ledger.journal-outcomes.v1',
    partition: 0,
    offset: String(from + i),
    timestamp: '0',
  }));
  await withTransaction(db, (tx) => journalStore.apply(tx, events));
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

/** Reconciles this file's window (its transfers only: others' share the cluster), by default. */
async function run(
  q: Queryable = db,
  options: ReconcileOptions = {},
  horizon = ALL,
): Promise<ReconcileReport> {
  return reconcile(
    { db: q, ledger, horizon },
    { timestampMin: first, timestampMax: last, ...options },
  );
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
  testLedger = await openTestLedger(`reconcile-${RUN}`);
  ledger = testLedger.ledger;
  await wireJournals();
  const accounts = new AccountService({ db, ledger, registry: await AssetRegistry.load(db) });
  const create = (accountId: string, accountType: string) =>
    accounts.createAccount({
      accountId,
      name: accountId,
      holderId: 'h',
      accountType,
      asset: 'USD',
    });
  await create(CASH, 'asset');
  await create(ALICE_ID, 'liability');
  await create(BOB, 'liability');
  await create(FEES, 'fee');
  await openInFeed([CASH, ALICE_ID, BOB, FEES].map(accountLedgerId));
  await journals.post(
    journal(jid('j-fund'), [
      [CASH, 'DEBIT', 10_000n],
      [ALICE_ID, 'CREDIT', 10_000n],
    ]),
  );
  await journals.post(
    journal(jid('j-pay'), [
      [ALICE_ID, 'DEBIT', 1_250n],
      [BOB, 'CREDIT', 1_200n],
      [FEES, 'CREDIT', 50n],
    ]),
  );
  const hold = (id: string) =>
    journal(
      id,
      [
        [ALICE_ID, 'DEBIT', 700n],
        [BOB, 'CREDIT', 700n],
      ],
      true,
    );
  await journals.post(hold(jid('j-hold-post')));
  await journals.resolveHold(jid('j-hold-post'), 'post', 500n);
  await journals.post(hold(jid('j-hold-void')));
  await journals.resolveHold(jid('j-hold-void'), 'void');
  await journals.post(hold(jid('j-hold-open')));
  // Refused by the ledger (bob cannot go negative): an event, but no transfer anywhere.
  await expect(
    journals.post(
      journal(jid('j-refused'), [
        [BOB, 'DEBIT', 1_000_000n],
        [CASH, 'CREDIT', 1_000_000n],
      ]),
    ),
  ).rejects.toThrow();
  extendWindow(0);
  await project(0);
});

afterAll(async () => {
  // The ledger first, even after a failed set-up: an open cluster client keeps jest from exiting.
  try {
    if (ledger !== testLedger?.ledger) await ledger?.close();
    await testLedger?.dispose();
  } finally {
    await schema?.drop();
    fs.rmSync(migrationsDir, { recursive: true, force: true });
  }
});

describe('a consistent state', () => {
  it('reconciles clean, every transfer and account compared', async () => {
    const report = await run();
    expect(nonZero(report)).toEqual({});
    expect(report.mismatchCount).toBe(0);
    expect(report.deferred).toBeNull();
    // j-fund 1, j-pay 2, two holds and their post/void 4, the open hold 1.
    expect(report.transfers).toEqual({ ledgerScanned: 8, storeScanned: 8, foreign: 0, raw: 0 });
    expect(report.accounts).toEqual({ compared: 4, skippedBusy: 0, skippedRecent: 0 });
  });

  it('pages of one row give the same answer', async () => {
    const report = await run(db, { pageSize: 1 });
    expect(report.mismatchCount).toBe(0);
    expect(report.transfers).toEqual({ ledgerScanned: 8, storeScanned: 8, foreign: 0, raw: 0 });
  });

  it("holds TigerBeetle's own balances, as of the change feed's last event", async () => {
    const ids = [CASH, ALICE_ID, BOB, FEES].map(accountLedgerId);
    const { rows } = await db.query<Record<string, string>>(
      `SELECT ledger_account_id::text AS id, debits_pending::text AS dp,
              debits_posted::text AS dpo, credits_pending::text AS cp,
              credits_posted::text AS cpo
         FROM rm_account_balance WHERE ledger_account_id = ANY($1::numeric[])
        ORDER BY ledger_account_id`,
      [ids.map(String)],
    );
    const accounts = (await ledger.lookupAccounts(ids)).sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(rows).toEqual(
      accounts.map((a) => ({
        id: a.id.toString(),
        dp: a.debits_pending.toString(),
        dpo: a.debits_posted.toString(),
        cp: a.credits_pending.toString(),
        cpo: a.credits_posted.toString(),
      })),
    );
  });
});

/** One break each, as SQL on the test's schema; the expected counts are exact. */
const PAY_0 = transferId(jid('j-pay'), 'create', 0).toString();
const PAY_1 = transferId(jid('j-pay'), 'create', 1).toString();
const ALICE = `(SELECT ledger_id FROM account WHERE account_id = '${ALICE_ID}')`;
const COPY_OF_PAY_0 = (id: string, chainIndex: string) => `
  INSERT INTO journal_transfer
  SELECT ${id}, journal_id, step, ${chainIndex}, debit_line, credit_line, debit_account_id,
         credit_account_id, debit_account_ledger_id, credit_account_ledger_id, amount, pending_id,
         ledger, code, flags, timeout, user_data_128, user_data_64, user_data_32,
         tb_timestamp + 1, status, event_id
    FROM journal_transfer WHERE transfer_id = ${PAY_0}`;

/** [label, SQL, exact counts, the one example's field, raw movements counted]. */
const BREAKS: [string, string, Partial<Record<MismatchKind, number>>, string?, number?][] = [
  [
    'a journal_transfer row deleted (the change feed has it: a raw movement)',
    `DELETE FROM journal_transfer WHERE transfer_id = ${PAY_1}`,
    {},
    undefined,
    1,
  ],
  [
    'a transfer in neither the journal store nor the change feed',
    `DELETE FROM journal_transfer WHERE transfer_id = ${PAY_1};
     DELETE FROM ledger_change WHERE transfer_id = ${PAY_1}`,
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
    "an account's closed flag in its balance row",
    `UPDATE rm_account_balance SET flags = flags | ${AccountFlags.closed}
      WHERE ledger_account_id = ${ALICE}`,
    { account_balance_mismatch: 1 },
    'flags.closed',
  ],
  [
    "an account's balance row lost",
    `DELETE FROM rm_account_balance WHERE ledger_account_id = ${ALICE}`,
    // Alice has all four totals non-zero: the open hold keeps both pending totals.
    { account_balance_mismatch: 3 },
  ],
  [
    "an account's flags changed",
    `UPDATE account SET flags = 0 WHERE account_id = '${ALICE_ID}'`,
    { account_attribute_mismatch: 1 },
    'flags',
  ],
  [
    'an account row without its ledger account',
    `INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags)
     VALUES ('${usd('ghost')}', ${accountLedgerId(usd('ghost'))}, 'ghost', 'h', 'asset', 'USD', 0)`,
    { account_missing_in_ledger: 1 },
  ],
  [
    'a row whose transfer the ledger does not hold',
    COPY_OF_PAY_0(transferId(jid('j-pay'), 'create', 7).toString(), '7'),
    { transfer_missing_in_ledger: 1 },
  ],
  [
    'a second transfer at one chain position (double posting)',
    COPY_OF_PAY_0(transferId(jid('j-other'), 'create', 0).toString(), '0'),
    { transfer_missing_in_ledger: 1, duplicate_transfer: 1, misattributed_transfer: 1 },
  ],
  [
    'a journal stub without metadata',
    `UPDATE journal_entry SET date = NULL WHERE journal_id = '${jid('j-hold-post')}'`,
    { journal_without_metadata: 1 },
  ],
];

describe.each(BREAKS)('%s', (_label, sql, expected, field, raw = 0) => {
  it('is flagged exactly', async () => {
    const report = await broken(async (client) => {
      await client.query(sql);
      return run(client);
    });
    expect(nonZero(report)).toEqual(expected);
    expect(report.mismatchCount).toBe(Object.values(expected).reduce((a, b) => a + b, 0));
    expect(report.transfers.raw).toBe(raw);
    if (field !== undefined) {
      expect(report.examples).toEqual([expect.objectContaining({ field })]);
    }
  });
});

describe('the horizon', () => {
  it('ignores what is newer than the horizon, then flags it once behind it', async () => {
    const before = last;
    const from = outcomes.length;
    await journals.post(
      journal(jid('j-late'), [
        [CASH, 'DEBIT', 5n],
        [BOB, 'CREDIT', 5n],
      ]),
    );
    extendWindow(from);
    expect(last).toBeGreaterThan(before);
    // Not projected yet: the projection lags. Behind the horizon nothing is reported.
    const lagging = await run(db, {}, fixedHorizon(before));
    expect(nonZero(lagging)).toEqual({});
    expect(lagging.accounts).toMatchObject({ compared: 2, skippedBusy: 2 });
    // Past it, the unprojected transfer and both accounts it moved are real mismatches.
    const late = await run();
    expect(nonZero(late)).toEqual({ transfer_without_metadata: 1, account_balance_mismatch: 2 });
    // The change feed first, the outcome still lagging: a raw movement, the balances right.
    await project(from, { outcomes: false, changes: true });
    const raw = await run();
    expect(nonZero(raw)).toEqual({});
    expect(raw.transfers.raw).toBe(1);
    await project(from, { outcomes: true, changes: false });
    const caughtUp = await run();
    expect(caughtUp.mismatchCount).toBe(0);
    expect(caughtUp.transfers.raw).toBe(0);
  });

  it("defers until both feeds' checkpoints reach the high watermarks", async () => {
    const feeds = projectionFeeds({
      KAFKA_OUTCOMES_TOPIC: 'ledger.journal-outcomes.v1',
      KAFKA_CHANGES_TOPIC: 'ledger.changes.v1',
      PROJECTIONS_GROUP_ID: 'g-reconcile',
    });
    expect(feeds.map((f) => f.consumerGroup)).toEqual(['g-reconcile', 'g-reconcile.changes']);
    const admin = {
      fetchTopicOffsets: () =>
        Promise.resolve([
          { partition: 0, high: '10' },
          { partition: 1, high: '0' },
        ]),
    };
    const horizon = (waitMs: number) =>
      feedsCaughtUpHorizon({
        admin,
        db,
        feeds,
        settleDelayMs: 5_000,
        waitMs,
        pollMs: 5,
        clockMs: () => 1_000_000,
      });
    const checkpoint = (group: string, topic: string, next: number) =>
      db.query(
        `INSERT INTO projection_checkpoint (consumer_group, topic, partition, next_offset)
         VALUES ($1, $2, 0, $3)
         ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = $3`,
        [group, topic, next],
      );
    await checkpoint(feeds[0]!.consumerGroup, feeds[0]!.topic, 9);
    await checkpoint(feeds[1]!.consumerGroup, feeds[1]!.topic, 10);
    const outcomesBehind = await reconcile({ db, ledger, horizon: horizon(0) });
    expect(outcomesBehind.deferred).toMatch(/'g-reconcile' .*behind: partition 0: 1 events/);
    expect(outcomesBehind.transfers.ledgerScanned).toBe(0);
    await checkpoint(feeds[0]!.consumerGroup, feeds[0]!.topic, 10);
    await checkpoint(feeds[1]!.consumerGroup, feeds[1]!.topic, 8);
    const changesBehind = await reconcile({ db, ledger, horizon: horizon(0) });
    expect(changesBehind.deferred).toMatch(
      /'g-reconcile.changes' .*ledger.changes.v1.*behind: partition 0: 2 events/,
    );
    await checkpoint(feeds[1]!.consumerGroup, feeds[1]!.topic, 10);
    await expect(horizon(0).horizon()).resolves.toMatchObject({
      kind: 'ready',
      timestampNs: (1_000_000n - 5_000n) * 1_000_000n,
    });
  });
});

/** How far before this file's first transfer the periodic loop's window starts (ms). */
const LOOKBACK_MARGIN_MS = 60_000;

describe('periodic', () => {
  const log = createLogger('silent');

  it('keeps the last count, sees a break, and stops', async () => {
    // The loop's window ends now and reaches back lookbackMs: back to a little before this file's
    // first transfer (others' transfers in that margin are foreign, never a mismatch).
    const lookbackMs = Date.now() - Number(first / 1_000_000n) + LOOKBACK_MARGIN_MS;
    const loop = startPeriodicReconcile({ db, ledger, horizon: ALL }, log, {
      intervalMs: 10,
      lookbackMs,
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
  const io = (env: NodeJS.ProcessEnv) => ({
    env: {
      ...process.env,
      LOG_LEVEL: 'silent',
      PROJECTIONS_DATABASE_SCHEMA: schema.name,
      ENGINE_ADDRESS: undefined,
      ...env,
    },
    out: (line: string) => lines.out.push(line),
    err: (line: string) => lines.err.push(line),
  });
  const args = ['--no-wait', '--settle-ms', '0', '--json'];
  /** This file's window: from its first transfer (ms precision: the CLI takes ISO times). */
  const since = () => ['--since', new Date(Number(first / 1_000_000n)).toISOString()];

  beforeEach(() => {
    lines.out = [];
    lines.err = [];
  });

  it('says the engine is locked by a running process (exit 2)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-locked-engine-'));
    const engine = await openEmbeddedLedger({ dataDir, fsync: false });
    try {
      const env = { TB_ADDRESSES: '', ENGINE_DATA_DIR: dataDir, ENGINE_FSYNC: 'false' };
      expect(await runReconcile(args, io(env))).toBe(2);
      expect(lines.err.join('\n')).toMatch(/in use by process \d+[\s\S]*TB_ADDRESSES/);
    } finally {
      await engine.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('exits 0 when clean or raw, 1 on a transfer in neither store, with the JSON report', async () => {
    // The cluster takes any number of clients (the CLI shares this process's one), so the CLI
    // runs beside the test's ledger. The engine allows one opener per data directory: the test
    // lets go of it while the CLI runs, and opens it again after.
    let env: NodeJS.ProcessEnv = {};
    if (testLedger.kind === 'embedded') {
      env = { TB_ADDRESSES: '', ENGINE_DATA_DIR: testLedger.dataDir!, ENGINE_FSYNC: 'false' };
      await ledger.close();
    }
    const saved = await saveRows(PAY_1);
    try {
      expect(await runReconcile([...args, ...since()], io(env))).toBe(0);
      expect(JSON.parse(lines.out[0]!)).toMatchObject({ mismatchCount: 0 });
      // No journal metadata, but the change feed delivered it: raw, still exit 0.
      await db.query(`DELETE FROM journal_transfer WHERE transfer_id = ${PAY_1}`);
      lines.out = [];
      expect(await runReconcile([...args, ...since()], io(env))).toBe(0);
      const raw = JSON.parse(lines.out[0]!) as ReconcileReport;
      expect(raw).toMatchObject({ mismatchCount: 0, transfers: { raw: 1 } });
      // In neither store: the ledger committed it and nothing in PostgreSQL knows.
      await db.query(`DELETE FROM ledger_change WHERE transfer_id = ${PAY_1}`);
      lines.out = [];
      expect(await runReconcile([...args, ...since()], io(env))).toBe(1);
      const report = JSON.parse(lines.out[0]!) as ReconcileReport;
      expect(report.counts.transfer_without_metadata).toBe(1);
      expect(report.examples[0]).toMatchObject({ transferId: PAY_1 });
      expect(await runReconcile(['--bogus'], io(env))).toBe(2);
    } finally {
      await saved.restore();
      if (env.ENGINE_DATA_DIR !== undefined) {
        ledger = await openEmbeddedLedger({ dataDir: env.ENGINE_DATA_DIR, fsync: false });
        await wireJournals();
      }
    }
  });
});

/**
 * One cluster serves several deployments and every test run: a transfer the store does not know
 * is this deployment's concern only when it moves one of the deployment's accounts. Each case
 * writes one raw transfer straight to the ledger (no journal, as the raw transfer API does) and
 * reconciles just its timestamp, before and after the change feed delivers it; the accounts pass
 * is skipped until the feed has them all, then the whole window reconciles clean. Last in the
 * file: the raw transfers move this file's accounts for good.
 */
const OTHERS_DEBIT = accountLedgerId(usd('others-debit'));
const OTHERS_CREDIT = accountLedgerId(usd('others-credit'));

/** [label, journal id of the raw transfer, debit, credit, foreign, mismatches before the feed]. */
const SHARED: [string, string, bigint, bigint, number, Partial<Record<MismatchKind, number>>][] = [
  ['between two accounts of others', 'raw-others', OTHERS_DEBIT, OTHERS_CREDIT, 1, {}],
  [
    'from an account of others to one of this deployment',
    'raw-mixed',
    OTHERS_DEBIT,
    accountLedgerId(BOB),
    0,
    { transfer_without_metadata: 1 },
  ],
  [
    'between two accounts of this deployment',
    'raw-ours',
    accountLedgerId(CASH),
    accountLedgerId(BOB),
    0,
    { transfer_without_metadata: 1 },
  ],
];

describe('on a ledger shared with others', () => {
  let usdLedger: number;
  let lastRaw = 0n;

  beforeAll(async () => {
    usdLedger = (await AssetRegistry.load(db)).asset('USD').ledger;
    const results = await ledger.createAccounts([
      newAccount({ id: OTHERS_DEBIT, ledger: usdLedger, code: 1 }),
      newAccount({ id: OTHERS_CREDIT, ledger: usdLedger, code: 1 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      CreateAccountStatus.created,
      CreateAccountStatus.created,
    ]);
    await openInFeed([OTHERS_DEBIT, OTHERS_CREDIT]);
  });

  describe.each(SHARED)('a raw transfer %s', (_label, name, debit, credit, foreign, expected) => {
    const verdict = foreign === 1 ? 'foreign either way' : 'flagged until fed, then raw';
    it(`is ${verdict}`, async () => {
      const transfer = newTransfer({
        id: transferId(jid(name), 'create', 0),
        debit_account_id: debit,
        credit_account_id: credit,
        amount: 1n,
        ledger: usdLedger,
        code: 1,
      });
      const [result] = await ledger.createTransfers([transfer]);
      expect(result!.status).toBe(CreateTransferStatus.created);
      lastRaw = result!.timestamp;
      const window = { timestampMin: result!.timestamp, timestampMax: result!.timestamp };
      const unfed = await run(db, { ...window, skipAccounts: true });
      expect(nonZero(unfed)).toEqual(expected);
      expect(unfed.transfers).toEqual({ ledgerScanned: 1, storeScanned: 0, foreign, raw: 0 });
      if (foreign === 0) {
        expect(unfed.examples).toEqual([
          expect.objectContaining({ transferId: transfer.id.toString() }),
        ]);
      }
      await feedChanges([transfer.id]);
      const fed = await run(db, { ...window, skipAccounts: true });
      expect(nonZero(fed)).toEqual({});
      expect(fed.transfers).toEqual({
        ledgerScanned: 1,
        storeScanned: 0,
        foreign,
        raw: 1 - foreign,
      });
    });
  });

  it('reconciles the whole window clean, accounts and raw transfers included', async () => {
    const report = await run(db, { timestampMin: first, timestampMax: lastRaw });
    expect(nonZero(report)).toEqual({});
    expect(report.transfers.raw).toBe(2);
    expect(report.accounts).toEqual({ compared: 4, skippedBusy: 0, skippedRecent: 0 });
  });
});

/** The rows of a transfer in the journal store and the change store, to put back after a case. */
async function saveRows(transferIdText: string): Promise<{ restore(): Promise<void> }> {
  const tables = ['journal_transfer', 'ledger_change'] as const;
  const saved = new Map<string, string[]>();
  for (const table of tables) {
    // As text: node-pg would parse a JSON u128 into a float.
    const { rows } = await db.query<{ row: string }>(
      `SELECT to_jsonb(t)::text AS row FROM ${table} t WHERE transfer_id = $1`,
      [transferIdText],
    );
    saved.set(
      table,
      rows.map((r) => r.row),
    );
  }
  return {
    async restore() {
      for (const table of tables) {
        await db.query(`DELETE FROM ${table} WHERE transfer_id = $1`, [transferIdText]);
        for (const row of saved.get(table)!) {
          await db.query(
            `INSERT INTO ${table} SELECT * FROM jsonb_populate_record(NULL::${table}, $1::jsonb)`,
            [row],
          );
        }
      }
    },
  };
}
