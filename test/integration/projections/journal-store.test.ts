/**
 * Proves the journal projection on real PostgreSQL (own schema, no Kafka): every outcome kind
 * gives the right entry status, lines and transfers (a hold's post/void inherits the held
 * transfer's lines and accounts); duplicates are no-ops; a rejection never undoes a success;
 * the same events applied in any batch split give byte-identical tables (rebuild = incremental);
 * and migration 0002 (with 0005, which journal reads join) goes up, down and up again.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { toOutcomeEvent } from '../../../events/schema';
import type { JournalOutcome } from '../../../events/journal-model';
import { migrateDown, migrateUp } from '../../../core/postgres/migrate';
import { withTransaction } from '../../../core/postgres/pool';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import type { ProjectedEvent } from '../../../projections/src/projection';
import type { TestSchema } from '../../support/store/schema';
import {
  migratedSchema,
  outcome,
  ownMigrationsDir,
} from '../../support/projections/runner.harness';

let db: TestSchema;
const projection = new JournalStoreProjection();

beforeAll(async () => {
  db = await migratedSchema('jstore');
});

afterAll(async () => {
  await db?.drop();
});

function projected(outcomes: JournalOutcome[], firstOffset = 0): ProjectedEvent[] {
  return outcomes.map((o, i) => ({
    event: toOutcomeEvent(o),
    topic: 't',
    partition: 0,
    offset: String(firstOffset + i),
    timestamp: '0',
  }));
}

async function apply(pool: pg.Pool, events: ProjectedEvent[]): Promise<void> {
  await withTransaction(pool, (tx) => projection.apply(tx, events));
}

async function truncate(): Promise<void> {
  await db.pool.query(`TRUNCATE ${projection.tables.join(', ')}`);
}

/** Every row of the projection's tables, in a stable order, as text. */
async function dump(): Promise<string> {
  const parts: string[] = [];
  for (const table of projection.tables) {
    const { rows } = await db.pool.query(`SELECT t::text AS row FROM ${table} t ORDER BY t::text`);
    parts.push(`${table}:\n${rows.map((r) => r.row).join('\n')}`);
  }
  return parts.join('\n');
}

const LIFE: JournalOutcome[] = [
  outcome('a', 1),
  outcome('h', 2, 'held'),
  outcome('h', 3, 'hold_posted', { pendingOf: 2 }),
  outcome('v', 4, 'held'),
  outcome('v', 5, 'hold_voided', { pendingOf: 4 }),
  outcome('r', 6, 'rejected'),
  outcome('x', 7, 'held'),
  outcome('x', 8, 'rejected', { pendingOf: 7, rejectedStep: 'void' }),
  // The bridge republishes after a crash: same event ids.
  outcome('a', 1),
  outcome('h', 3, 'hold_posted', { pendingOf: 2 }),
  // A late rejection of a posted journal must not undo it.
  outcome('a', 9, 'rejected'),
  // A post whose hold this store never saw: a stub entry, the transfer kept.
  outcome('lost', 10, 'hold_posted', { pendingOf: 99 }),
];

test('every kind lands in the right rows; duplicates and late rejections change nothing', async () => {
  await truncate();
  await apply(db.pool, projected(LIFE));
  const { rows: entries } = await db.pool.query(
    `SELECT journal_id, status, rejected_step, rejected_statuses, description IS NOT NULL AS meta,
            first_event_id, last_event_id
       FROM journal_entry ORDER BY journal_id`,
  );
  expect(entries).toEqual([
    {
      journal_id: 'a',
      status: 'posted',
      rejected_step: 'create',
      rejected_statuses: ['exceeds_credits'],
      meta: true,
      first_event_id: 'a:posted',
      last_event_id: 'a:rejected:create',
    },
    expect.objectContaining({ journal_id: 'h', status: 'hold_posted', rejected_step: null }),
    expect.objectContaining({ journal_id: 'lost', status: 'hold_posted', meta: false }),
    expect.objectContaining({ journal_id: 'r', status: 'rejected', rejected_step: 'create' }),
    expect.objectContaining({
      journal_id: 'v',
      status: 'hold_voided',
      last_event_id: 'v:hold_voided',
    }),
    expect.objectContaining({
      journal_id: 'x',
      status: 'held',
      rejected_step: 'void',
      rejected_statuses: ['pending_transfer_expired'],
    }),
  ]);
  const { rows: posts } = await db.pool.query(
    `SELECT journal_id, step, debit_line, credit_line, debit_account_id, credit_account_id,
            pending_id::text AS pending_id
       FROM journal_transfer WHERE step <> 'create' ORDER BY journal_id`,
  );
  expect(posts).toEqual([
    {
      journal_id: 'h',
      step: 'post',
      debit_line: 1,
      credit_line: 2,
      debit_account_id: 'acc-cash',
      credit_account_id: 'acc-revenue',
      pending_id: ((1n << 120n) + 2n * 4n + 1n).toString(),
    },
    expect.objectContaining({ journal_id: 'lost', step: 'post', debit_line: null }),
    expect.objectContaining({ journal_id: 'v', step: 'void', debit_account_id: 'acc-cash' }),
  ]);
  const { rows: amounts } = await db.pool.query(
    "SELECT amount::text AS amount FROM journal_line WHERE journal_id = 'a' ORDER BY line_number",
  );
  expect(amounts.map((r) => r.amount)).toEqual([
    ((1n << 100n) + 1n).toString(),
    ((1n << 100n) + 1n).toString(),
  ]);
  const { rows: events } = await db.pool.query('SELECT count(*) AS n FROM journal_event');
  expect(events[0].n).toBe(10n); // 12 messages, 2 republished duplicates

  const before = await dump();
  await apply(db.pool, projected(LIFE, 100)); // everything again, at new offsets
  expect(await dump()).toBe(before);
});

test('rebuild equals incremental: any batch split gives identical tables', async () => {
  await truncate();
  await apply(db.pool, projected(LIFE));
  const whole = await dump();
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.integer({ min: 1, max: LIFE.length - 1 }), { maxLength: 6 }),
      async (cuts) => {
        await truncate();
        const events = projected(LIFE);
        const bounds = [0, ...cuts.sort((a, b) => a - b), events.length];
        for (let i = 0; i + 1 < bounds.length; i++) {
          await apply(db.pool, events.slice(bounds[i], bounds[i + 1]));
        }
        expect(await dump()).toBe(whole);
      },
    ),
    { numRuns: 25 },
  );
});

test('migrations 0002 and 0005 go up, down and up again', async () => {
  const dir = ownMigrationsDir();
  // 0005 (the change feed's events, which journal reads join) goes down first, then 0002.
  const reverted = await migrateDown(db.pool, 2, { dir });
  expect(reverted.map((m) => m.version)).toEqual([5, 2]);
  const { rows } = await db.pool.query(
    `SELECT count(*) AS n FROM information_schema.tables
      WHERE table_schema = current_schema()
        AND table_name IN ('journal_entry', 'journal_line', 'journal_transfer', 'journal_event',
                           'projection_checkpoint')`,
  );
  expect(rows[0].n).toBe(0n);
  const applied = await migrateUp(db.pool, { dir });
  expect(applied.map((m) => m.version)).toEqual([2, 5]);
});
