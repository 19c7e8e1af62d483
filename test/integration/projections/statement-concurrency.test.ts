/**
 * The statement's running totals stay exact when two partitions' batches touching the same (hot)
 * account are applied at the same time by the statement projection alone (a rebuild, or
 * PROJECTIONS_ONLY): its own per-account transaction lock serialises them, so the second sees
 * the first's rows and recomputes; without the lock, each would sum without the other's rows.
 */
import type pg from 'pg';
import { withTransaction } from '../../../core/postgres/pool';
import { statementProjection } from '../../../projections/src/read-models/statement';
import {
  ACCOUNTS,
  createModelSchema,
  journalOutcome,
  type ModelSchema,
  projected,
} from '../../support/projections/read-models-fixtures';

let schema: ModelSchema;
let db: pg.Pool;

beforeAll(async () => {
  schema = await createModelSchema('stmt_concurrency');
  db = schema.pool;
});
afterAll(() => schema?.drop());

it('keeps every running total exact under concurrent batches on a hot account', async () => {
  const { cash, alice, bob } = ACCOUNTS;
  const ROUNDS = 20;
  const PER_BATCH = 5;
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Two partitions' batches, interleaved in TigerBeetle time, both debiting the hot account.
    const batches = [0, 1].map((partition) =>
      projected(
        Array.from({ length: PER_BATCH }, (_, i) => {
          const journal = ++n;
          const ts = round * 100 + i * 2 + partition;
          const credit = partition === 0 ? alice : bob;
          return journalOutcome(journal, ts, [{ debit: cash, credit, amount: BigInt(journal) }]);
        }),
        partition,
        round * PER_BATCH,
      ),
    );
    await Promise.all(
      batches.map((events) => withTransaction(db, (tx) => statementProjection.apply(tx, events))),
    );
  }
  const { rows } = await db.query<{ wrong: number; total: number }>(
    `SELECT (count(*) FILTER (WHERE rd <> running_debits OR rc <> running_credits))::int AS wrong,
            count(*)::int AS total
     FROM (SELECT running_debits, running_credits,
             sum(CASE WHEN side = 'DEBIT' THEN amount ELSE 0 END) OVER w AS rd,
             sum(CASE WHEN side = 'CREDIT' THEN amount ELSE 0 END) OVER w AS rc
           FROM rm_statement_entry
           WINDOW w AS (PARTITION BY account_id ORDER BY tb_timestamp, transfer_id
                        ROWS UNBOUNDED PRECEDING)) x`,
  );
  expect(rows[0]).toEqual({ wrong: 0, total: 2 * 2 * ROUNDS * PER_BATCH });
}, 60_000);
