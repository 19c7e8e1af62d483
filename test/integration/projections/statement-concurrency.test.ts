/**
 * The change-fed models give the same tables whatever the concurrency. The statement used to keep
 * running sums, which two partitions' batches on one hot account could compute without each
 * other's rows; its running totals are now the ledger's as-of totals carried by each event, so
 * that problem is gone. What is left to prove under real concurrency: three partitions' workers
 * (each batch one transaction applying every change projection, as the runner does) plus a second
 * worker replaying one partition at the same time (a rebalance before the checkpoint fences it)
 * all commit, never deadlock on the rows they share (daily-summary cells, the applied-events
 * claims, a hot account's balance row), and leave tables identical (tableDigest) to one serial
 * in-order batch; every statement row's running totals are the account's running sums.
 */
import type pg from 'pg';
import { withTransaction } from '../../../core/postgres/pool';
import { TransferFlags } from '../../../ledger/port';
import type { ProjectedChange } from '../../../projections/src/changes/feed';
import { ledgerChangeProjection } from '../../../projections/src/changes/store';
import type { Projection } from '../../../projections/src/projection';
import { CHANGE_READ_MODELS } from '../../../projections/src/read-models';
import { byPartition, changeRecords, simulatorOf } from '../../support/projections/change-fixtures';
import {
  ACCOUNTS,
  applyAll,
  createModelSchema,
  digests,
  type ModelSchema,
} from '../../support/projections/read-models-fixtures';

const MODELS: readonly Projection<ProjectedChange>[] = [
  ledgerChangeProjection,
  ...CHANGE_READ_MODELS,
];
const ROUNDS = 40;
const PER_BATCH = 5;

let schema: ModelSchema;
let db: pg.Pool;

beforeAll(async () => {
  schema = await createModelSchema('stmt_concurrency');
  db = schema.pool;
});
afterAll(() => schema?.drop());

/**
 * A hot account (cash) paying alice and bob and paid back, with holds posted, voided and expired
 * among.
 */
function history(): ProjectedChange[] {
  const { cash, alice, bob } = ACCOUNTS;
  const sim = simulatorOf([cash, alice, bob]);
  let n = 0;
  const id = () => (1n << 100n) + BigInt(++n);
  for (let round = 0; round < ROUNDS; round++) {
    const credit = round % 2 === 0 ? alice : bob;
    const accounts = { debitAccountId: cash.ledgerId, creditAccountId: credit.ledgerId };
    sim.transfer({ id: id(), ...accounts, amount: BigInt(round + 1) });
    const pendingId = id();
    sim.transfer({ id: pendingId, ...accounts, amount: 50n, flags: TransferFlags.pending });
    sim.transfer({ id: id(), ...accounts, amount: 7n });
    // Money flowing back: debit sides (daily-summary cells, the change store) on every partition.
    const back = { debitAccountId: credit.ledgerId, creditAccountId: cash.ledgerId };
    sim.transfer({ id: id(), ...back, amount: 3n });
    const backHold = id();
    sim.transfer({ id: backHold, ...back, amount: 2n, flags: TransferFlags.pending });
    sim.transfer({ id: id(), pendingId: backHold, flags: TransferFlags.post_pending_transfer });
    if (round % 3 === 0) sim.expire(pendingId);
    else {
      const flags =
        round % 3 === 1 ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer;
      sim.transfer({ id: id(), pendingId, amount: 20n, flags });
    }
  }
  return changeRecords(sim.changes, { partitions: 3 });
}

async function truncate(): Promise<void> {
  await db.query(`TRUNCATE ${MODELS.flatMap((m) => m.tables).join(', ')}`);
}

async function allDigests(): Promise<string[][]> {
  return Promise.all(MODELS.map((model) => digests(db, model)));
}

/** One partition's worker: batches in offset order, each one transaction over every model. */
async function worker(records: readonly ProjectedChange[]): Promise<void> {
  for (let at = 0; at < records.length; at += PER_BATCH) {
    const batch = records.slice(at, at + PER_BATCH);
    await withTransaction(db, async (tx) => {
      for (const model of MODELS) await model.apply(tx, batch);
    });
  }
}

it('gives the serial tables under concurrent partitions and a replaying worker', async () => {
  const records = history();
  const partitions = byPartition(records);
  expect(partitions).toHaveLength(3);
  for (const model of MODELS) await applyAll(db, model, records);
  const serial = await allDigests();

  await truncate();
  const hot = partitions.find((p) => p[0]!.partition === Number(ACCOUNTS.cash.ledgerId % 3n))!;
  await Promise.all([...partitions.map((p) => worker(p)), worker(hot)]);
  expect(await allDigests()).toEqual(serial);

  const { rows } = await db.query<{ wrong: number; total: number }>(
    `SELECT (count(*) FILTER (WHERE rd <> running_debits OR rc <> running_credits))::int AS wrong,
            count(*)::int AS total
     FROM (SELECT running_debits, running_credits,
             sum(CASE WHEN side = 'DEBIT' THEN amount ELSE 0 END) OVER w AS rd,
             sum(CASE WHEN side = 'CREDIT' THEN amount ELSE 0 END) OVER w AS rc
           FROM rm_statement_entry
           WINDOW w AS (PARTITION BY ledger_account_id ORDER BY tb_timestamp, transfer_id
                        ROWS UNBOUNDED PRECEDING)) x`,
  );
  // Per round three single-phase transfers and a post back, and a post every third round; one
  // row per side each.
  const posts = Math.floor((ROUNDS + 1) / 3);
  expect(rows[0]).toEqual({ wrong: 0, total: 2 * (4 * ROUNDS + posts) });
}, 60_000);
