/**
 * Proves the four read models against real PostgreSQL (a schema of this file's own, migrated with
 * 0001 + 0004): for a posted journal, a hold, a hold posted in part, a hold voided and a rejection,
 * each model holds exactly the expected numbers (table-driven); republished events are no-ops in
 * the same and in later batches; seeded property tests show that per ledger the debits equal the
 * credits in account-balance, that a statement's last running totals equal the account's posted
 * totals, and that applying a history in random batches across interleaved partitions gives
 * tables identical (tableDigest) to applying it at once.
 */
import { replay, testSeed } from '../../support/seed';
import fc from 'fast-check';
import type pg from 'pg';
import type { JournalOutcome } from '../../../events/journal-model';
import { READ_MODELS } from '../../../projections/src/read-models';
import { accountBalanceProjection } from '../../../projections/src/read-models/account-balance';
import { utcDayOf } from '../../../projections/src/read-models/daily-summary';
import { storableText } from '../../../projections/src/read-models/postings';
import { sampleOutcome } from '../../support/events/fixtures';
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

let schema: ModelSchema;
let db: pg.Pool;
const SEED = testSeed(20251121);
const TODAY = '2025-11-21';

beforeAll(async () => {
  schema = await createModelSchema('read_models');
  db = schema.pool;
});
afterAll(() => schema?.drop());

async function truncateAll(): Promise<void> {
  const tables = READ_MODELS.flatMap((model) => model.tables);
  await db.query(`TRUNCATE ${tables.join(', ')}`);
}

async function applyEverywhere(outcomes: JournalOutcome[]): Promise<void> {
  const events = projected(outcomes);
  for (const model of READ_MODELS) await applyAll(db, model, events);
}

async function snapshot() {
  const balance = await db.query(
    `SELECT account_id, debits_pending AS dp, debits_posted AS dpo, credits_pending AS cp,
            credits_posted AS cpo FROM rm_account_balance ORDER BY account_id`,
  );
  const statement = await db.query(
    `SELECT account_id, side, amount, kind, line_number AS line, running_debits AS rd,
            running_credits AS rc FROM rm_statement_entry
     ORDER BY account_id, tb_timestamp, transfer_id`,
  );
  const daily = await db.query(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, ledger, kind, journal_count::int AS journals,
            transfer_count::int AS transfers, amount FROM rm_daily_summary ORDER BY day, kind`,
  );
  const holders = await db.query(
    `SELECT h.holder_id, h.account_count AS accounts, h.event_count::int AS events, a.asset,
            a.debits_pending AS dp, a.debits_posted AS dpo, a.credits_pending AS cp,
            a.credits_posted AS cpo, a.balance_posted AS balance
     FROM rm_holder h JOIN rm_holder_asset a USING (holder_id) ORDER BY holder_id, asset`,
  );
  return {
    balance: balance.rows,
    statement: statement.rows,
    daily: daily.rows,
    holders: holders.rows,
  };
}

const { cash, alice } = ACCOUNTS;
const deposit = (kind: 'posted' | 'held' | 'rejected') =>
  journalOutcome(1, 0, [{ debit: cash, credit: alice, amount: 100n }], kind);
const bal = (account_id: string, dp: string, dpo: string, cp: string, cpo: string) => ({
  account_id,
  dp,
  dpo,
  cp,
  cpo,
});
const holderRow = (holder_id: string, events: number, [dp, dpo, cp, cpo, balance]: string[]) => ({
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

const CASES: Array<{
  name: string;
  outcomes: () => JournalOutcome[];
  expected: Awaited<ReturnType<typeof snapshot>>;
}> = [
  {
    name: 'posted',
    outcomes: () => [deposit('posted')],
    expected: {
      balance: [bal(cash.id, '0', '100', '0', '0'), bal(alice.id, '0', '0', '0', '100')],
      statement: [
        {
          account_id: cash.id,
          side: 'DEBIT',
          amount: '100',
          kind: 'posted',
          line: 1,
          rd: '100',
          rc: '0',
        },
        {
          account_id: alice.id,
          side: 'CREDIT',
          amount: '100',
          kind: 'posted',
          line: 2,
          rd: '0',
          rc: '100',
        },
      ].sort((a, b) => (a.account_id < b.account_id ? -1 : 1)),
      daily: [{ day: TODAY, ledger: 1, kind: 'posted', journals: 1, transfers: 1, amount: '100' }],
      holders: [
        holderRow('alice', 1, ['0', '0', '0', '100', '100']),
        holderRow('house', 1, ['0', '100', '0', '0', '100']),
      ],
    },
  },
  {
    name: 'held',
    outcomes: () => [deposit('held')],
    expected: {
      balance: [bal(cash.id, '100', '0', '0', '0'), bal(alice.id, '0', '0', '100', '0')],
      statement: [],
      daily: [{ day: TODAY, ledger: 1, kind: 'held', journals: 1, transfers: 1, amount: '100' }],
      holders: [
        holderRow('alice', 1, ['0', '0', '100', '0', '0']),
        holderRow('house', 1, ['100', '0', '0', '0', '0']),
      ],
    },
  },
  {
    name: 'hold posted in part (40 of 100)',
    outcomes: () => [deposit('held'), resolveOutcome(1, 5, deposit('held'), 'post', 40n)],
    expected: {
      balance: [bal(cash.id, '0', '40', '0', '0'), bal(alice.id, '0', '0', '0', '40')],
      statement: [
        {
          account_id: cash.id,
          side: 'DEBIT',
          amount: '40',
          kind: 'hold_posted',
          line: 1,
          rd: '40',
          rc: '0',
        },
        {
          account_id: alice.id,
          side: 'CREDIT',
          amount: '40',
          kind: 'hold_posted',
          line: 2,
          rd: '0',
          rc: '40',
        },
      ].sort((a, b) => (a.account_id < b.account_id ? -1 : 1)),
      daily: [
        { day: TODAY, ledger: 1, kind: 'held', journals: 1, transfers: 1, amount: '100' },
        { day: TODAY, ledger: 1, kind: 'hold_posted', journals: 1, transfers: 1, amount: '40' },
      ],
      holders: [
        holderRow('alice', 2, ['0', '0', '0', '40', '40']),
        holderRow('house', 2, ['0', '40', '0', '0', '40']),
      ],
    },
  },
  {
    name: 'hold voided',
    outcomes: () => [deposit('held'), resolveOutcome(1, 5, deposit('held'), 'void')],
    expected: {
      balance: [bal(cash.id, '0', '0', '0', '0'), bal(alice.id, '0', '0', '0', '0')],
      statement: [],
      daily: [
        { day: TODAY, ledger: 1, kind: 'held', journals: 1, transfers: 1, amount: '100' },
        { day: TODAY, ledger: 1, kind: 'hold_voided', journals: 1, transfers: 1, amount: '100' },
      ],
      holders: [
        holderRow('alice', 2, ['0', '0', '0', '0', '0']),
        holderRow('house', 2, ['0', '0', '0', '0', '0']),
      ],
    },
  },
  {
    name: 'rejected',
    outcomes: () => [deposit('rejected')],
    expected: {
      balance: [],
      statement: [],
      daily: [
        {
          day: '1970-01-01',
          ledger: 1,
          kind: 'rejected',
          journals: 1,
          transfers: 1,
          amount: '100',
        },
      ],
      holders: [],
    },
  },
];

describe.each(CASES)('$name', ({ outcomes, expected }) => {
  beforeEach(truncateAll);

  it('gives the expected numbers in every model', async () => {
    await applyEverywhere(outcomes());
    expect(await snapshot()).toEqual(expected);
  });

  it('is unchanged by duplicates, in the same batch and in later ones', async () => {
    const all = outcomes();
    await applyEverywhere([...all, ...all]);
    await applyEverywhere(all);
    await applyEverywhere([all[all.length - 1]!]);
    expect(await snapshot()).toEqual(expected);
  });

  it('is the same when the hold and its resolution arrive in separate batches', async () => {
    for (const outcome of outcomes()) await applyEverywhere([outcome]);
    expect(await snapshot()).toEqual(expected);
  });
});

describe('the events fixtures', () => {
  beforeEach(truncateAll);

  it('projects the sample outcome (u128 above 2^64, accounts unknown to the control plane)', async () => {
    await applyEverywhere([sampleOutcome('s-1', 3)]);
    const amount = ((1n << 100n) + 3n).toString();
    const { rows } = await db.query(
      'SELECT ledger_account_id AS id, debits_posted AS d, credits_posted AS c ' +
        'FROM rm_account_balance ORDER BY ledger_account_id',
    );
    expect(rows).toEqual([
      { id: '1001', d: amount, c: '0' },
      { id: '1002', d: '0', c: amount },
    ]);
    const { rows: holders } = await db.query('SELECT * FROM rm_holder');
    expect(holders).toEqual([]); // acc-cash / acc-revenue are no control-plane accounts
  });

  it('stores a description with U+0000 as U+FFFD instead of failing the batch', async () => {
    const outcome = journalOutcome(
      9,
      0,
      [{ debit: cash, credit: alice, amount: 1n }],
      'posted',
      'a\u0000b',
    );
    await applyEverywhere([outcome]);
    const { rows } = await db.query('SELECT DISTINCT description FROM rm_statement_entry');
    expect(rows).toEqual([{ description: storableText('a\u0000b') }]);
    expect(utcDayOf('1763700000000000000')).toBe(TODAY);
  });
});

describe('seeded properties', () => {
  it(`debits equal credits per ledger; statements end at the posted totals ${replay(SEED)}`, async () => {
    await fc.assert(
      fc.asyncProperty(historyArbitrary, async (history) => {
        await truncateAll();
        await applyEverywhere(history);
        const { rows: ledgers } = await db.query(
          `SELECT ledger, sum(debits_posted) = sum(credits_posted) AS posted,
                  sum(debits_pending) = sum(credits_pending) AS pending
           FROM rm_account_balance GROUP BY ledger`,
        );
        for (const row of ledgers) expect(row).toMatchObject({ posted: true, pending: true });
        const { rows: mismatches } = await db.query(
          `SELECT b.account_id FROM rm_account_balance b
           LEFT JOIN LATERAL (
             SELECT running_debits, running_credits FROM rm_statement_entry e
             WHERE e.account_id = b.account_id
             ORDER BY tb_timestamp DESC, transfer_id DESC LIMIT 1) s ON true
           WHERE COALESCE(s.running_debits, 0) <> b.debits_posted
              OR COALESCE(s.running_credits, 0) <> b.credits_posted`,
        );
        expect(mismatches).toEqual([]);
      }),
      { seed: SEED, numRuns: 25 },
    );
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
          for (const model of READ_MODELS) await applyAll(db, model, events);
          const once = await Promise.all(READ_MODELS.map((model) => digests(db, model)));

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
          for (const model of READ_MODELS) await applyInBatches(db, model, interleaved, sizes);
          const batched = await Promise.all(READ_MODELS.map((model) => digests(db, model)));
          expect(batched).toEqual(once);
        },
      ),
      { seed: SEED, numRuns: 15 },
    );
  });

  it('keeps account-balance consistent when the same history is applied twice', async () => {
    await truncateAll();
    const history = fc.sample(historyArbitrary, { seed: SEED, numRuns: 1 })[0]!;
    const events = projected(history);
    await applyAll(db, accountBalanceProjection, events);
    const first = await digests(db, accountBalanceProjection);
    await applyInBatches(db, accountBalanceProjection, events, [2, 3]);
    expect(await digests(db, accountBalanceProjection)).toEqual(first);
  });
});
