/**
 * The PostgreSQL-only baseline (load/baseline) over HTTP against the real local PostgreSQL, in a
 * schema of its own in ledger_test: accounts are idempotent with 409s naming the field; a journal
 * moves balances, a retry answers the same bytes and moves nothing, a reused id is a 409 and bad
 * lines are named; 200 concurrent journals on one hot account all post without a deadlock; and
 * the database's debits, credits and entries agree to the unit.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../../core/config';
import { ACCOUNT_TYPES, ASSETS } from '../../../load/baseline/schema';
import { type RunningBaseline, startBaseline } from '../../../load/baseline/server';

const SCHEMA = `baseline_test_${randomBytes(4).toString('hex')}`;
const HOT_JOURNALS = 200;
const COLD_ACCOUNTS = 20;

function testDatabaseUrl(): string {
  const url = new URL(loadConfig().DATABASE_DIRECT_URL);
  url.pathname = '/ledger_test';
  return url.toString();
}

const DATABASE_URL = testDatabaseUrl();
let baseline: RunningBaseline;
let db: pg.Client;

interface Answer {
  status: number;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(method: string, route: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(baseline.url + route, init);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

function account(accountId: string, accountType = 'asset', asset = 'USD') {
  return { accountId, name: `name of ${accountId}`, holderId: 'holder-1', accountType, asset };
}

let journalCount = 0;
function journal(debit: string, credit: string, amount: number | string, id?: string) {
  return {
    journalId: id ?? `j-${++journalCount}`,
    date: '2026-11-21',
    description: 'baseline test',
    source: 'test',
    lines: [
      { accountId: debit, lineType: 'DEBIT', amount, lineNumber: 1 },
      { accountId: credit, lineType: 'CREDIT', amount, lineNumber: 2 },
    ],
  };
}

async function posted(accountId: string): Promise<{ debits: string; credits: string }> {
  const answer = await call('GET', `/api/accounts/${accountId}/balance`);
  expect(answer.status).toBe(200);
  return answer.body.posted;
}

beforeAll(async () => {
  baseline = await startBaseline({
    port: 0,
    databaseUrl: DATABASE_URL,
    schema: SCHEMA,
    reset: true,
    poolSize: 16,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  for (const id of ['a', 'b', 'hot', ...Array.from({ length: COLD_ACCOUNTS }, (_, i) => `c${i}`)]) {
    expect((await call('POST', '/api/accounts', account(id))).status).toBe(201);
  }
});

afterAll(async () => {
  await baseline?.stop();
  await db?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db?.end();
});

describe('accounts', () => {
  it('is idempotent: 201, then 200 for the same account, 409 naming the field', async () => {
    const created = await call('POST', '/api/accounts', account('acc-1', 'liability'));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      accountId: 'acc-1',
      accountType: 'liability',
      normalSide: 'CREDIT',
      asset: 'USD',
      scale: 2,
      flags: { mustNotGoNegative: true, history: false },
    });
    const again = await call('POST', '/api/accounts', account('acc-1', 'liability'));
    expect(again).toMatchObject({ status: 200, text: created.text });
    const other = await call('POST', '/api/accounts', account('acc-1', 'liability', 'EUR'));
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'account_conflict', field: 'asset' });
  });

  it.each([
    ['an unknown asset', account('acc-2', 'asset', 'XYZ'), 422, 'unknown_asset'],
    ['an unknown account type', account('acc-2', 'nope'), 422, 'unknown_account_type'],
    ['a malformed account id', account('acc 2'), 400, 'invalid_input'],
  ])('refuses %s with a typed error', async (_what, body, status, code) => {
    const answer = await call('POST', '/api/accounts', body);
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
  });

  it('answers 404 for the balance of an unknown account, on both balance paths', async () => {
    for (const route of ['/api/accounts/nobody/balance', '/api/balance/nobody']) {
      const answer = await call('GET', route);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('account_not_found');
    }
  });

  it('keeps the bridge migration’s assets and account types', () => {
    const sql = fs.readFileSync(
      path.join(__dirname, '../../../core/postgres/migrations/0001_control_plane.up.sql'),
      'utf8',
    );
    const assets = [...sql.matchAll(/\('([A-Z]+)', \d+, (\d+), '/g)].map((m) => [m[1], +m[2]!]);
    expect(assets).toEqual([...ASSETS].map(([code, { scale }]) => [code, scale]));
    const types = [...sql.matchAll(/\('([a-z_]+)', +'(DEBIT|CREDIT)', +\d+, (\d+),/g)];
    expect(types.map((m) => [m[1], m[2], (Number(m[3]) & 2) !== 0])).toEqual(
      [...ACCOUNT_TYPES].map(([code, t]) => [code, t.normalSide, t.mustNotGoNegative]),
    );
  });
});

describe('journals', () => {
  it('posts a journal, moves both balances, and answers a retry with the same bytes', async () => {
    const body = journal('a', 'b', 1234, 'j-retry');
    const first = await call('POST', '/api/journal', body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ journalId: 'j-retry', status: 'posted' });
    expect(await posted('a')).toEqual({ debits: '1234', credits: '0' });
    expect(await posted('b')).toEqual({ debits: '0', credits: '1234' });
    const balance = await call('GET', '/api/balance/a');
    expect(balance.body).toMatchObject({
      accountId: 'a',
      asset: { code: 'USD', scale: 2 },
      normalSide: 'DEBIT',
      balance: '1234',
      available: '1234',
    });

    // The same journal again, once with its lines in another order and the amount as a string.
    const reordered = { ...body, lines: [...body.lines].reverse() };
    for (const retry of [body, { ...reordered, lines: reordered.lines.map(stringAmount) }]) {
      const again = await call('POST', '/api/journal', retry);
      expect(again).toMatchObject({ status: 201, text: first.text });
    }
    expect(await posted('a')).toEqual({ debits: '1234', credits: '0' });
    expect(await posted('b')).toEqual({ debits: '0', credits: '1234' });
  });

  it('answers concurrent retries of one journal with one posting and the same body', async () => {
    const body = journal('a', 'b', 7, 'j-concurrent-retry');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', '/api/journal', body)),
    );
    expect(new Set(answers.map((a) => `${a.status} ${a.text}`)).size).toBe(1);
    expect(answers[0]!.status).toBe(201);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM ${SCHEMA}.journal_entry WHERE journal_id = $1`,
      ['j-concurrent-retry'],
    );
    expect(rows[0].n).toBe(2);
  });

  it('refuses a reused journal id with other content: 409, nothing moves', async () => {
    await call('POST', '/api/journal', journal('a', 'b', 10, 'j-reused'));
    const before = await posted('a');
    const reused = await call('POST', '/api/journal', journal('a', 'b', 11, 'j-reused'));
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'journal_conflict', field: 'journalId' });
    expect(await posted('a')).toEqual(before);
  });

  it.each([
    [
      'an unknown account, naming its line',
      journal('a', 'ghost', 5),
      422,
      { code: 'account_not_found', field: 'lines[1].accountId', line: 2 },
    ],
    [
      'a hold (pending), which the baseline does not implement',
      { ...journal('a', 'b', 5), pending: { timeoutSeconds: 60 } },
      422,
      { code: 'holds_not_supported', field: 'pending' },
    ],
    [
      'an amount above bigint, naming its line',
      journal('a', 'b', (1n << 63n).toString()),
      400,
      { code: 'amount_out_of_range', field: 'lines[0].amount', line: 1 },
    ],
    [
      'an unbalanced journal',
      {
        ...journal('a', 'b', 5),
        lines: [journal('a', 'b', 5).lines[0], journal('a', 'b', 6).lines[1]],
      },
      422,
      { code: 'unbalanced_journal', asset: 'USD', debits: '5', credits: '6' },
    ],
    [
      'a shape error, by the bridge’s own validation',
      { ...journal('a', 'b', 5), lines: [journal('a', 'b', 5).lines[0]] },
      400,
      { code: 'too_few_lines', field: 'lines' },
    ],
  ])('refuses %s; nothing moves', async (_what, body, status, error) => {
    const before = [await posted('a'), await posted('b')];
    const answer = await call('POST', '/api/journal', body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject(error);
    expect([await posted('a'), await posted('b')]).toEqual(before);
  });

  it('refuses one-sided assets and overdrawing a must-not-go-negative account', async () => {
    await call('POST', '/api/accounts', account('eur-1', 'asset', 'EUR'));
    const mixed = await call('POST', '/api/journal', {
      ...journal('a', 'b', 5),
      lines: [
        { accountId: 'a', lineType: 'DEBIT', amount: 5, lineNumber: 1 },
        { accountId: 'b', lineType: 'CREDIT', amount: 5, lineNumber: 2 },
        { accountId: 'eur-1', lineType: 'DEBIT', amount: 5, lineNumber: 3 },
      ],
    });
    expect(mixed.status).toBe(422);
    expect(mixed.body.error).toMatchObject({ code: 'asset_mismatch', line: 3 });

    await call('POST', '/api/accounts', account('wallet-1', 'liability'));
    const overdraft = await call('POST', '/api/journal', journal('wallet-1', 'a', 1));
    expect(overdraft.status).toBe(422);
    expect(overdraft.body.error).toMatchObject({
      code: 'journal_rejected',
      status: 'exceeds_credits',
      line: 1,
    });
    expect(await posted('wallet-1')).toEqual({ debits: '0', credits: '0' });
  });

  it(`posts ${HOT_JOURNALS} concurrent journals on one hot account, no deadlock`, async () => {
    const before = BigInt((await posted('hot')).debits);
    const amounts = Array.from({ length: HOT_JOURNALS }, (_, i) => 1 + ((i * 7919) % 1000));
    // Journals sharing a cold account alternate which of their two accounts comes first: a lock
    // order taken from the request would deadlock them; the sorted one queues them.
    const answers = await Promise.all(
      amounts.map((amount, i) => {
        const cold = `c${i % COLD_ACCOUNTS}`;
        const hotFirst = Math.floor(i / COLD_ACCOUNTS) % 2 === 0;
        const lines = [
          { accountId: 'hot', lineType: 'DEBIT', amount, lineNumber: 1 },
          { accountId: cold, lineType: 'CREDIT', amount, lineNumber: 2 },
        ];
        return call('POST', '/api/journal', {
          ...journal('hot', cold, amount),
          lines: hotFirst ? lines : lines.reverse(),
        });
      }),
    );
    expect(answers.filter((a) => a.status !== 201).map((a) => a.text)).toEqual([]);
    const sum = amounts.reduce((total, amount) => total + BigInt(amount), 0n);
    expect(BigInt((await posted('hot')).debits) - before).toBe(sum);
    expect(baseline.stats().transactionRetries).toBe(0);
  });

  it('keeps the books: debits posted = credits posted = the entries, per side', async () => {
    const { rows } = await db.query(
      `SELECT (SELECT sum(debits_posted)::text FROM ${SCHEMA}.account) AS debits,
              (SELECT sum(credits_posted)::text FROM ${SCHEMA}.account) AS credits,
              (SELECT sum(amount)::text FROM ${SCHEMA}.journal_entry WHERE side = 'DEBIT')
                AS entry_debits,
              (SELECT sum(amount)::text FROM ${SCHEMA}.journal_entry WHERE side = 'CREDIT')
                AS entry_credits`,
    );
    const books = rows[0];
    expect(BigInt(books.debits)).toBeGreaterThan(0n);
    expect(books).toEqual({
      debits: books.debits,
      credits: books.debits,
      entry_debits: books.debits,
      entry_credits: books.debits,
    });
  });
});

function stringAmount<T extends { amount: number | string }>(line: T): T {
  return { ...line, amount: String(line.amount) };
}
