/**
 * Proves the reconciler streams a window larger than one page on each side (several pages of
 * 8189 transfers) clean, and among them tells the one row deleted from the journal store while
 * the change feed has it (a raw movement, no mismatch) from the one deleted from both
 * (`transfer_without_metadata`), and prints its throughput (transfers/s reconciled). The ledger is
 * the real TigerBeetle cluster when configured (test/support/ledger.ts), else the embedded engine.
 * Transfers go straight to the ledger; their journal_transfer rows are written in bulk, as the
 * journal store would write them, and their change events (the test simulator's, as of each
 * transfer) are applied by the real change store and account-balance projections.
 *
 * The cluster outlives test runs and serves every test file: accounts and journals carry RUN, and
 * the reconcile covers only this file's window (its first transfer's ledger timestamp to its
 * last).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { accountLedgerId, transferId } from '../../../ledger/ids';
import {
  BATCH_EVENTS_MAX,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
} from '../../../ledger/port';
import { newAccount, newTransfer } from '../../../ledger/records';
import { migrateUp } from '../../../core/postgres/migrate';
import { MIGRATIONS_DIR } from '../../../core/postgres/migration-files';
import { withTransaction } from '../../../core/postgres/pool';
import type { LedgerChange } from '../../../events/change';
import { ledgerChangeProjection } from '../../../projections/src/changes/store';
import { accountBalanceProjection } from '../../../projections/src/read-models/account-balance';
import { reconcile, type ReconcileOptions } from '../../../projections/src/reconcile/reconcile';
import type { HorizonSource } from '../../../projections/src/reconcile/horizon';
import { createTestSchema, type TestSchema } from '../../support/store/schema';
import { openTestLedger, type TestLedger } from '../../support/ledger';
import {
  changeRecords,
  LedgerSimulator,
  simTransferOf,
} from '../../support/projections/change-fixtures';

/**
 * Three full pages and a partial fourth on each side. On the cluster, creating them is most of
 * this file's time (seconds); the reconcile itself is the measured part.
 */
const TRANSFERS = 30_000;
const ALL: HorizonSource = {
  horizon: () => Promise.resolve({ kind: 'ready', timestampNs: 1n << 62n, source: 'test' }),
};

/** This run's ids: the cluster still holds every earlier run's accounts and transfers. */
const RUN = randomUUID().slice(0, 8);
const DEBIT_ID = `bench.debit.${RUN}`;
const CREDIT_ID = `bench.credit.${RUN}`;
const DEBIT = accountLedgerId(DEBIT_ID);
const CREDIT = accountLedgerId(CREDIT_ID);
const journalId = (i: number) => `bench-${RUN}-${i}`;

let schema: TestSchema;
let db: pg.Pool;
let testLedger: TestLedger;
let ledger: Ledger;
/** Ledger timestamps of this file's first and last transfer. */
const window: Required<Pick<ReconcileOptions, 'timestampMin' | 'timestampMax'>> = {
  timestampMin: 0n,
  timestampMax: 0n,
};
const migrationsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-bench-migrations-'));

const INSERT_ENTRIES = `
  INSERT INTO journal_entry (journal_id, status, date, description, source, first_event_id,
                             last_event_id, tb_timestamp, updated_tb_timestamp, created_at,
                             updated_at)
  SELECT j, 'posted', '2025-11-21', 'bench', 'bench', j || ':posted', j || ':posted', ts, ts,
         now(), now()
    FROM unnest($1::text[], $2::numeric[]) AS u(j, ts)`;

const INSERT_TRANSFERS = `
  INSERT INTO journal_transfer (transfer_id, journal_id, step, chain_index, debit_line,
    credit_line, debit_account_id, credit_account_id, debit_account_ledger_id,
    credit_account_ledger_id, amount, pending_id, ledger, code, flags, timeout, user_data_128,
    user_data_64, user_data_32, tb_timestamp, status, event_id)
  SELECT id, j, 'create', 0, 1, 2, '${DEBIT_ID}', '${CREDIT_ID}', ${DEBIT}, ${CREDIT}, amount,
         0, 1, 1, 0, 0, 0, 0, 0, ts, 'created', j || ':posted'
    FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::numeric[]) AS u(j, id, amount, ts)`;

beforeAll(async () => {
  for (const file of fs.readdirSync(MIGRATIONS_DIR)) {
    if (/^000[12456]_/.test(file)) {
      fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(migrationsDir, file));
    }
  }
  schema = await createTestSchema('reconcile_bench');
  db = schema.pool;
  await migrateUp(db, { dir: migrationsDir });
  testLedger = await openTestLedger(`reconcile-bench-${RUN}`);
  ledger = testLedger.ledger;
  const accounts = await ledger.createAccounts([
    newAccount({ id: DEBIT, ledger: 1, code: 1 }),
    newAccount({ id: CREDIT, ledger: 1, code: 1 }),
  ]);
  expect(accounts.map((r) => r.status)).toEqual([
    CreateAccountStatus.created,
    CreateAccountStatus.created,
  ]);
  await db.query(
    `INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags)
     VALUES ($1, ${DEBIT}, 'd', 'h', 'asset', 'USD', 0),
            ($2, ${CREDIT}, 'c', 'h', 'asset', 'USD', 0)`,
    [DEBIT_ID, CREDIT_ID],
  );
  const feed = new LedgerSimulator(1n);
  for (const a of await ledger.lookupAccounts([DEBIT, CREDIT])) feed.open(a);
  for (let start = 0; start < TRANSFERS; start += BATCH_EVENTS_MAX) {
    const n = Math.min(BATCH_EVENTS_MAX, TRANSFERS - start);
    const journals = Array.from({ length: n }, (_, i) => journalId(start + i));
    const batch = journals.map((j, i) =>
      newTransfer({
        id: transferId(j, 'create', 0),
        debit_account_id: DEBIT,
        credit_account_id: CREDIT,
        amount: BigInt(start + i + 1),
        ledger: 1,
        code: 1,
      }),
    );
    const results = await ledger.createTransfers(batch);
    expect(results.every((r) => r.status === CreateTransferStatus.created)).toBe(true);
    if (start === 0) window.timestampMin = results[0]!.timestamp;
    window.timestampMax = results[results.length - 1]!.timestamp;
    const stamps = results.map((r) => r.timestamp.toString());
    await db.query(INSERT_ENTRIES, [journals, stamps]);
    await db.query(INSERT_TRANSFERS, [
      journals,
      batch.map((t) => t.id.toString()),
      batch.map((t) => t.amount.toString()),
      stamps,
    ]);
    const changes: LedgerChange[] = batch.map((t, i) =>
      feed.transfer(simTransferOf({ ...t, timestamp: results[i]!.timestamp })),
    );
    const records = changeRecords(changes);
    await withTransaction(db, async (tx) => {
      await ledgerChangeProjection.apply(tx, records);
      await accountBalanceProjection.apply(tx, records);
    });
  }
}, 120_000);

afterAll(async () => {
  // The ledger first, even after a failed set-up: an open cluster client keeps jest from exiting.
  try {
    await testLedger?.dispose();
  } finally {
    await schema?.drop();
    fs.rmSync(migrationsDir, { recursive: true, force: true });
  }
});

it(`reconciles ${TRANSFERS} transfers clean; a deleted row is raw, or missing when unfed`, async () => {
  const started = performance.now();
  const report = await reconcile({ db, ledger, horizon: ALL }, window);
  const elapsedMs = performance.now() - started;
  expect(report.mismatchCount).toBe(0);
  // Other runs' transfers on the shared cluster in the same window are foreign, never compared.
  const { foreign } = report.transfers;
  expect(report.transfers).toEqual({
    ledgerScanned: TRANSFERS + foreign,
    storeScanned: TRANSFERS,
    foreign,
    raw: 0,
  });
  console.log(
    `reconcile (${testLedger.kind}): ${TRANSFERS} transfers (both passes) in ` +
      `${elapsedMs.toFixed(0)} ms = ${Math.round((TRANSFERS * 1000) / elapsedMs)} transfers/s`,
  );
  const victim = transferId(journalId(TRANSFERS - 100), 'create', 0).toString();
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query(`DELETE FROM journal_transfer WHERE transfer_id = ${victim}`);
    const raw = await reconcile({ db: client, ledger, horizon: ALL }, window);
    expect(raw.mismatchCount).toBe(0);
    expect(raw.transfers.raw).toBe(1);
    await client.query(`DELETE FROM ledger_change WHERE transfer_id = ${victim}`);
    const broken = await reconcile({ db: client, ledger, horizon: ALL }, window);
    expect(broken.counts.transfer_without_metadata).toBe(1);
    expect(broken.mismatchCount).toBe(1);
    expect(broken.transfers.raw).toBe(0);
    expect(broken.examples[0]).toMatchObject({ transferId: victim });
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
});
