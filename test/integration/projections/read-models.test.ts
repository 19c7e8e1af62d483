/**
 * Proves the read models against real PostgreSQL (a schema of this file's own, migrated with
 * 0001 and 0004–0006). Balances, statements, daily summaries and the change store follow the
 * ledger's change feed: for a single-phase transfer, a hold, a hold posted in part, voided or
 * expired, a raw transfer beside an expiry on the same account, and a closing hold, each holds
 * exactly the expected rows (table-driven), whatever the arrival order and however often a record
 * repeats. TigerBeetle's own captured events (test/fixtures/cdc/) project to the numbers
 * TigerBeetle reported, and the test simulator reproduces those events byte for byte. Seeded
 * properties: balances equal the simulated ledger's accounts and debits equal credits per ledger;
 * every statement row's running totals are the running sums of the account's posted amounts;
 * daily counts per (day, ledger, type) are the events'; and any permutation, batching and
 * duplication of the records gives tables identical (tableDigest) to one in-order batch. The
 * holder dashboard, which still follows the outcome events, keeps its table-driven cases,
 * duplicates and interleaved partitions.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { encodeChange, type LedgerChange } from '../../../events/change';
import type { JournalOutcome } from '../../../events/journal-model';
import { TransferFlags } from '../../../ledger/port';
import type { ProjectedChange } from '../../../projections/src/changes/feed';
import { ledgerChangeProjection } from '../../../projections/src/changes/store';
import type { Projection } from '../../../projections/src/projection';
import {
  CHANGE_READ_MODELS,
  holderDashboardProjection,
} from '../../../projections/src/read-models';
import { utcDayOf } from '../../../projections/src/read-models/daily-summary';
import { sampleOutcome } from '../../support/events/fixtures';
import {
  capturedChanges,
  CHANGES_BASE_NS,
  changeHistoryArbitrary,
  changeRecords,
  LedgerSimulator,
  NS_PER_DAY,
  simulatorOf,
} from '../../support/projections/change-fixtures';
import {
  ACCOUNTS,
  applyAll,
  applyInBatches,
  createModelSchema,
  digests,
  historyArbitrary,
  journalOutcome,
  type ModelSchema,
  projected,
  resolveOutcome,
} from '../../support/projections/read-models-fixtures';
import { replay, testSeed } from '../../support/seed';

let schema: ModelSchema;
let db: pg.Pool;
const SEED = testSeed(20251121);
const TODAY = '2025-11-21';
const TOMORROW = '2025-11-22';

/** Everything the change feed builds, in the order the worker applies it. */
const CHANGE_MODELS: readonly Projection<ProjectedChange>[] = [
  ledgerChangeProjection,
  ...CHANGE_READ_MODELS,
];

beforeAll(async () => {
  schema = await createModelSchema('read_models');
  db = schema.pool;
});
afterAll(() => schema?.drop());

async function truncateAll(): Promise<void> {
  const tables = [...CHANGE_MODELS, holderDashboardProjection].flatMap((model) => model.tables);
  await db.query(`TRUNCATE ${tables.join(', ')}`);
}

async function applyRecords(records: readonly ProjectedChange[], sizes?: number[]) {
  for (const model of CHANGE_MODELS) {
    if (sizes === undefined) await applyAll(db, model, records);
    else await applyInBatches(db, model, records, sizes);
  }
}

async function changeDigests(): Promise<string[][]> {
  return Promise.all(CHANGE_MODELS.map((model) => digests(db, model)));
}

/** Timestamps as offsets from CHANGES_BASE_NS (decimal): readable expectations. */
const AT = `- ${CHANGES_BASE_NS}`;

async function snapshot() {
  const balance = await db.query(
    `SELECT ledger_account_id AS id, debits_pending AS dp, debits_posted AS dpo,
            credits_pending AS cp, credits_posted AS cpo, flags,
            (last_tb_timestamp ${AT})::text AS at
       FROM rm_account_balance ORDER BY ledger_account_id`,
  );
  const statement = await db.query(
    `SELECT ledger_account_id AS id, (tb_timestamp ${AT})::text AS at, side, amount, type,
            running_debits AS rd, running_credits AS rc
       FROM rm_statement_entry ORDER BY ledger_account_id, tb_timestamp, transfer_id`,
  );
  const daily = await db.query(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, ledger::int AS ledger, type,
            transfer_count::int AS transfers, amount
       FROM rm_daily_summary ORDER BY day, ledger, type`,
  );
  const changes = await db.query<{ type: string }>(
    'SELECT type FROM ledger_change ORDER BY event_timestamp',
  );
  return {
    balance: balance.rows,
    statement: statement.rows,
    daily: daily.rows,
    changes: changes.rows.map((row) => row.type),
  };
}

const { cash, alice } = ACCOUNTS;
const CASH = cash.ledgerId;
const ALICE = alice.ledgerId;
const id = (n: number) => (1n << 100n) + BigInt(n);
const bal = (who: bigint, [dp, dpo, cp, cpo]: string[], at: string, flags = 0) => ({
  id: who.toString(),
  dp,
  dpo,
  cp,
  cpo,
  flags,
  at,
});
const line = (who: bigint, at: string, side: string, amount: string, type: string) => {
  const [rd, rc] = side === 'DEBIT' ? [amount, '0'] : ['0', amount];
  return { id: who.toString(), at, side, amount, type, rd, rc };
};
const day = (d: string, type: string, transfers: number, amount: string) => ({
  day: d,
  ledger: 1,
  type,
  transfers,
  amount,
});

/** A hold of 100 from cash to alice, `flags` added (a closing flag). */
function hold(sim: LedgerSimulator, flags = 0, amount = 100n): bigint {
  const pending = id(1);
  sim.transfer({
    id: pending,
    debitAccountId: CASH,
    creditAccountId: ALICE,
    amount,
    flags: TransferFlags.pending | flags,
    timeout: 60,
  });
  return pending;
}

function raw(sim: LedgerSimulator, amount: bigint, timestamp?: bigint): void {
  sim.transfer({ id: id(9), debitAccountId: CASH, creditAccountId: ALICE, amount, timestamp });
}

const NEXT_DAY = CHANGES_BASE_NS + NS_PER_DAY;
const D = NS_PER_DAY.toString();
const D1 = (NS_PER_DAY + 1n).toString();

const CASES: {
  name: string;
  history: (sim: LedgerSimulator) => void;
  expected: Awaited<ReturnType<typeof snapshot>>;
}[] = [
  {
    name: 'a single-phase transfer',
    history: (sim) => raw(sim, 100n),
    expected: {
      balance: [bal(CASH, ['0', '100', '0', '0'], '0'), bal(ALICE, ['0', '0', '0', '100'], '0')],
      statement: [
        line(CASH, '0', 'DEBIT', '100', 'single_phase'),
        line(ALICE, '0', 'CREDIT', '100', 'single_phase'),
      ],
      daily: [day(TODAY, 'single_phase', 1, '100')],
      changes: ['single_phase'],
    },
  },
  {
    name: 'a hold',
    history: (sim) => void hold(sim),
    expected: {
      balance: [bal(CASH, ['100', '0', '0', '0'], '0'), bal(ALICE, ['0', '0', '100', '0'], '0')],
      statement: [],
      daily: [day(TODAY, 'two_phase_pending', 1, '100')],
      changes: ['two_phase_pending'],
    },
  },
  {
    name: 'a hold posted in part (40 of 100)',
    history: (sim) => {
      const pendingId = hold(sim);
      sim.transfer({
        id: id(2),
        pendingId,
        amount: 40n,
        flags: TransferFlags.post_pending_transfer,
      });
    },
    expected: {
      balance: [bal(CASH, ['0', '40', '0', '0'], '1'), bal(ALICE, ['0', '0', '0', '40'], '1')],
      statement: [
        line(CASH, '1', 'DEBIT', '40', 'two_phase_posted'),
        line(ALICE, '1', 'CREDIT', '40', 'two_phase_posted'),
      ],
      daily: [day(TODAY, 'two_phase_pending', 1, '100'), day(TODAY, 'two_phase_posted', 1, '40')],
      changes: ['two_phase_pending', 'two_phase_posted'],
    },
  },
  {
    name: 'a hold voided',
    history: (sim) => {
      const pendingId = hold(sim);
      sim.transfer({ id: id(2), pendingId, flags: TransferFlags.void_pending_transfer });
    },
    expected: {
      balance: [bal(CASH, ['0', '0', '0', '0'], '1'), bal(ALICE, ['0', '0', '0', '0'], '1')],
      statement: [],
      daily: [day(TODAY, 'two_phase_pending', 1, '100'), day(TODAY, 'two_phase_voided', 1, '100')],
      changes: ['two_phase_pending', 'two_phase_voided'],
    },
  },
  {
    name: 'a hold expired the next day, then a raw transfer on the same accounts',
    history: (sim) => {
      sim.expire(hold(sim), NEXT_DAY);
      raw(sim, 30n);
    },
    expected: {
      balance: [bal(CASH, ['0', '30', '0', '0'], D1), bal(ALICE, ['0', '0', '0', '30'], D1)],
      statement: [
        line(CASH, D1, 'DEBIT', '30', 'single_phase'),
        line(ALICE, D1, 'CREDIT', '30', 'single_phase'),
      ],
      daily: [
        day(TODAY, 'two_phase_pending', 1, '100'),
        day(TOMORROW, 'single_phase', 1, '30'),
        day(TOMORROW, 'two_phase_expired', 1, '100'),
      ],
      changes: ['two_phase_pending', 'two_phase_expired', 'single_phase'],
    },
  },
  {
    name: 'a raw transfer while a hold is pending, then the hold expires',
    history: (sim) => {
      const pendingId = hold(sim);
      raw(sim, 30n);
      sim.expire(pendingId, NEXT_DAY);
    },
    expected: {
      balance: [bal(CASH, ['0', '30', '0', '0'], D), bal(ALICE, ['0', '0', '0', '30'], D)],
      statement: [
        line(CASH, '1', 'DEBIT', '30', 'single_phase'),
        line(ALICE, '1', 'CREDIT', '30', 'single_phase'),
      ],
      daily: [
        day(TODAY, 'single_phase', 1, '30'),
        day(TODAY, 'two_phase_pending', 1, '100'),
        day(TOMORROW, 'two_phase_expired', 1, '100'),
      ],
      changes: ['two_phase_pending', 'single_phase', 'two_phase_expired'],
    },
  },
  {
    name: 'a closing hold (closes alice)',
    history: (sim) => void hold(sim, TransferFlags.closing_credit, 0n),
    expected: {
      balance: [bal(CASH, ['0', '0', '0', '0'], '0'), bal(ALICE, ['0', '0', '0', '0'], '0', 32)],
      statement: [],
      daily: [day(TODAY, 'two_phase_pending', 1, '0')],
      changes: ['two_phase_pending'],
    },
  },
  {
    name: 'a closing hold voided (alice open again)',
    history: (sim) => {
      const pendingId = hold(sim, TransferFlags.closing_credit, 0n);
      sim.transfer({ id: id(2), pendingId, flags: TransferFlags.void_pending_transfer });
    },
    expected: {
      balance: [bal(CASH, ['0', '0', '0', '0'], '1'), bal(ALICE, ['0', '0', '0', '0'], '1')],
      statement: [],
      daily: [day(TODAY, 'two_phase_pending', 1, '0'), day(TODAY, 'two_phase_voided', 1, '0')],
      changes: ['two_phase_pending', 'two_phase_voided'],
    },
  },
];

function recordsOf(history: (sim: LedgerSimulator) => void): ProjectedChange[] {
  const sim = simulatorOf([cash, alice]);
  history(sim);
  return changeRecords(sim.changes);
}

describe.each(CASES)('$name', ({ history, expected }) => {
  beforeEach(truncateAll);

  it('gives the expected rows in every model', async () => {
    await applyRecords(recordsOf(history));
    expect(await snapshot()).toEqual(expected);
  });

  it('is unchanged by duplicates, in the same batch and in later ones', async () => {
    const records = recordsOf(history);
    await applyRecords([...records, ...records]);
    await applyRecords(records);
    await applyRecords([records[0]!]);
    expect(await snapshot()).toEqual(expected);
  });

  it('is the same when the records arrive in reverse, one per batch', async () => {
    await applyRecords([...recordsOf(history)].reverse(), [1]);
    expect(await snapshot()).toEqual(expected);
  });
});

describe('what TigerBeetle published (test/fixtures/cdc)', () => {
  const captured = capturedChanges();
  beforeEach(truncateAll);

  it('is what the simulator gives for the same transfers, byte for byte', () => {
    const [single, pending, posted, held, expired] = captured.map((c) => c.change);
    const sim = new LedgerSimulator(single!.timestamp);
    for (const account of [single!.debitAccount, single!.creditAccount]) {
      sim.open({ ...account, ledger: single!.ledger });
    }
    for (const { transfer: t } of [single!, pending!, posted!, held!]) {
      const [debit, credit] = [single!.debitAccount.id, single!.creditAccount.id];
      sim.transfer({ ...t, debitAccountId: debit, creditAccountId: credit });
    }
    sim.expire(held!.transfer.id, expired!.timestamp);
    expect(sim.changes.map((c) => encodeChange(c).toString('utf8'))).toEqual(
      captured.map((c) => c.body),
    );
  });

  it('projects to the balances TigerBeetle reported, the expiry included', async () => {
    const changes: LedgerChange[] = captured.map((c) => c.change);
    await applyRecords(changeRecords(changes));
    const last = changes.at(-1)!;
    const { rows } = await db.query(
      `SELECT ledger_account_id::text AS id, debits_pending AS dp, debits_posted AS dpo,
              credits_pending AS cp, credits_posted AS cpo, flags,
              last_tb_timestamp::text AS at
         FROM rm_account_balance ORDER BY ledger_account_id`,
    );
    const row = (a: LedgerChange['debitAccount']) => ({
      id: a.id.toString(),
      dp: a.debitsPending.toString(),
      dpo: a.debitsPosted.toString(),
      cp: a.creditsPending.toString(),
      cpo: a.creditsPosted.toString(),
      flags: a.flags,
      at: last.timestamp.toString(),
    });
    expect(rows).toEqual([row(last.debitAccount), row(last.creditAccount)]);
    const statement = await db.query(
      `SELECT type, amount, running_debits AS rd FROM rm_statement_entry
        WHERE ledger_account_id = $1 ORDER BY tb_timestamp`,
      [last.debitAccount.id.toString()],
    );
    expect(statement.rows).toEqual([
      { type: 'single_phase', amount: '10', rd: '10' },
      { type: 'two_phase_posted', amount: '3', rd: '13' },
    ]);
    const daily = await db.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, type, transfer_count::int AS n, amount
         FROM rm_daily_summary ORDER BY type`,
    );
    const today = utcDayOf(last.timestamp);
    expect(daily.rows).toEqual([
      { day: today, type: 'single_phase', n: 1, amount: '10' },
      { day: today, type: 'two_phase_expired', n: 1, amount: '4' },
      { day: today, type: 'two_phase_pending', n: 2, amount: '9' },
      { day: today, type: 'two_phase_posted', n: 1, amount: '3' },
    ]);
    expect(utcDayOf('1763700000000000000')).toBe(TODAY);
  });
});

/** One property run: the tables against the simulated ledger and the events themselves. */
async function checkAgainstLedger(history: {
  changes: LedgerChange[];
  accounts: LedgerChange['debitAccount'][];
}): Promise<void> {
  const { rows: balances } = await db.query(
    `SELECT ledger_account_id::text AS id, debits_pending::text AS dp, debits_posted::text AS dpo,
            credits_pending::text AS cp, credits_posted::text AS cpo, flags
       FROM rm_account_balance ORDER BY ledger_account_id`,
  );
  const touched = new Set(history.changes.flatMap((c) => [c.debitAccount.id, c.creditAccount.id]));
  const expected = history.accounts
    .filter((a) => touched.has(a.id))
    .map((a) => ({
      id: a.id.toString(),
      dp: a.debitsPending.toString(),
      dpo: a.debitsPosted.toString(),
      cp: a.creditsPending.toString(),
      cpo: a.creditsPosted.toString(),
      flags: a.flags,
    }));
  expect(balances).toEqual(expected);
  const { rows: ledgers } = await db.query(
    `SELECT sum(debits_posted) = sum(credits_posted) AS posted,
            sum(debits_pending) = sum(credits_pending) AS pending
       FROM rm_account_balance GROUP BY ledger`,
  );
  for (const row of ledgers) expect(row).toEqual({ posted: true, pending: true });
  const { rows: wrong } = await db.query(
    `SELECT * FROM (
       SELECT ledger_account_id, running_debits, running_credits,
              sum(CASE WHEN side = 'DEBIT' THEN amount ELSE 0 END) OVER w AS rd,
              sum(CASE WHEN side = 'CREDIT' THEN amount ELSE 0 END) OVER w AS rc
         FROM rm_statement_entry
       WINDOW w AS (PARTITION BY ledger_account_id ORDER BY tb_timestamp, transfer_id
                    ROWS UNBOUNDED PRECEDING)) x
      WHERE rd <> running_debits OR rc <> running_credits`,
  );
  expect(wrong).toEqual([]);
  const { rows: ends } = await db.query(
    `SELECT b.ledger_account_id FROM rm_account_balance b
       LEFT JOIN LATERAL (
         SELECT running_debits, running_credits FROM rm_statement_entry e
          WHERE e.ledger_account_id = b.ledger_account_id
          ORDER BY tb_timestamp DESC, transfer_id DESC LIMIT 1) s ON true
      WHERE COALESCE(s.running_debits, 0) <> b.debits_posted
         OR COALESCE(s.running_credits, 0) <> b.credits_posted`,
  );
  expect(ends).toEqual([]);
  const counts = new Map<string, { n: number; amount: bigint }>();
  for (const c of history.changes) {
    const key = `${utcDayOf(c.timestamp)}|${c.ledger}|${c.type}`;
    const cell = counts.get(key) ?? { n: 0, amount: 0n };
    counts.set(key, { n: cell.n + 1, amount: cell.amount + c.transfer.amount });
  }
  const { rows: daily } = await db.query<{ key: string; n: number; amount: string }>(
    `SELECT to_char(day, 'YYYY-MM-DD') || '|' || ledger || '|' || type AS key,
            transfer_count::int AS n, amount::text AS amount FROM rm_daily_summary`,
  );
  expect(new Map(daily.map((r) => [r.key, { n: r.n, amount: BigInt(r.amount) }]))).toEqual(counts);
}

describe('seeded properties of the change-fed models', () => {
  it(`match the simulated ledger, statements and daily counts ${replay(SEED)}`, async () => {
    await fc.assert(
      fc.asyncProperty(changeHistoryArbitrary, async (history) => {
        await truncateAll();
        await applyRecords(changeRecords(history.changes));
        await checkAgainstLedger(history);
      }),
      { seed: SEED, numRuns: 25 },
    );
  });

  it(`any order, batching and duplication give identical tables ${replay(SEED)}`, async () => {
    await fc.assert(
      fc.asyncProperty(
        changeHistoryArbitrary,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer(), { minLength: 1, maxLength: 120 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (history, sizes, keys, repeats) => {
          await truncateAll();
          const records = changeRecords(history.changes);
          await applyRecords(records);
          const once = await changeDigests();
          const shuffled = records
            .map((record, i) => ({ record, key: keys[i % keys.length]!, i }))
            .sort((a, b) => a.key - b.key || a.i - b.i)
            .map(({ record }) => record);
          for (const r of repeats) {
            shuffled.splice(r % (shuffled.length + 1), 0, records[r % records.length]!);
          }
          await truncateAll();
          await applyRecords(shuffled, sizes);
          expect(await changeDigests()).toEqual(once);
        },
      ),
      { seed: SEED, numRuns: 20 },
    );
  });
});

/** The holder dashboard still follows the outcome events. */
describe('holder-dashboard (outcome feed)', () => {
  const deposit = (kind: 'posted' | 'held' | 'rejected') =>
    journalOutcome(1, 0, [{ debit: cash, credit: alice, amount: 100n }], kind);
  const holder = (holder_id: string, events: number, [dp, dpo, cp, cpo, balance]: string[]) => ({
    holder_id,
    accounts: 1,
    events,
    asset: 'USD',
    dp,
    dpo,
    cp,
    cpo,
    balance,
  });
  const HOLDER_CASES: { name: string; outcomes: () => JournalOutcome[]; expected: unknown[] }[] = [
    {
      name: 'posted',
      outcomes: () => [deposit('posted')],
      expected: [
        holder('alice', 1, ['0', '0', '0', '100', '100']),
        holder('house', 1, ['0', '100', '0', '0', '100']),
      ],
    },
    {
      name: 'held',
      outcomes: () => [deposit('held')],
      expected: [
        holder('alice', 1, ['0', '0', '100', '0', '0']),
        holder('house', 1, ['100', '0', '0', '0', '0']),
      ],
    },
    {
      name: 'hold posted in part (40 of 100)',
      outcomes: () => [deposit('held'), resolveOutcome(1, 5, deposit('held'), 'post', 40n)],
      expected: [
        holder('alice', 2, ['0', '0', '0', '40', '40']),
        holder('house', 2, ['0', '40', '0', '0', '40']),
      ],
    },
    {
      name: 'hold voided',
      outcomes: () => [deposit('held'), resolveOutcome(1, 5, deposit('held'), 'void')],
      expected: [
        holder('alice', 2, ['0', '0', '0', '0', '0']),
        holder('house', 2, ['0', '0', '0', '0', '0']),
      ],
    },
    { name: 'rejected', outcomes: () => [deposit('rejected')], expected: [] },
  ];

  async function holders() {
    const { rows } = await db.query(
      `SELECT h.holder_id, h.account_count AS accounts, h.event_count::int AS events, a.asset,
              a.debits_pending AS dp, a.debits_posted AS dpo, a.credits_pending AS cp,
              a.credits_posted AS cpo, a.balance_posted AS balance
         FROM rm_holder h JOIN rm_holder_asset a USING (holder_id) ORDER BY holder_id, asset`,
    );
    return rows;
  }
  const apply = (outcomes: JournalOutcome[]) =>
    applyAll(db, holderDashboardProjection, projected(outcomes));

  describe.each(HOLDER_CASES)('$name', ({ outcomes, expected }) => {
    beforeEach(truncateAll);

    it('gives the expected holders, unchanged by duplicates and separate batches', async () => {
      const all = outcomes();
      await apply([...all, ...all]);
      for (const outcome of all) await apply([outcome]);
      expect(await holders()).toEqual(expected);
    });
  });

  it('leaves out accounts unknown to the control plane', async () => {
    await truncateAll();
    await apply([sampleOutcome('s-1', 3)]);
    expect(await holders()).toEqual([]);
  });

  it(`random batches over interleaved partitions equal one batch ${replay(SEED)}`, async () => {
    await fc.assert(
      fc.asyncProperty(
        historyArbitrary,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat({ max: 2 }), { minLength: 60, maxLength: 60 }),
        async (history, sizes, picks) => {
          await truncateAll();
          const events = projected(history);
          await applyAll(db, holderDashboardProjection, events);
          const once = await digests(db, holderDashboardProjection);
          // Three partitions by journal (per-journal order kept), drained in a random interleaving.
          const partitions: (typeof events)[] = [[], [], []];
          for (const e of events) partitions[Number(e.event.journalId.slice(1)) % 3]!.push(e);
          const interleaved: typeof events = [];
          for (let i = 0; partitions.some((p) => p.length > 0); i++) {
            const nonEmpty = partitions.filter((p) => p.length > 0);
            const take = nonEmpty[(picks[i % picks.length] ?? 0) % nonEmpty.length]!;
            interleaved.push(...take.splice(0, sizes[i % sizes.length]!));
          }
          await truncateAll();
          await applyInBatches(db, holderDashboardProjection, interleaved, sizes);
          expect(await digests(db, holderDashboardProjection)).toEqual(once);
        },
      ),
      { seed: SEED, numRuns: 15 },
    );
  });
});
