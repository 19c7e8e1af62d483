/**
 * Proves the journal and account API end to end, through a real listening server backed by the
 * embedded engine, the local PostgreSQL (through PgBouncer) and Kafka: posting, retries that answer
 * the same body, 409 on changed content, insufficient funds naming the line, all-or-nothing
 * journals, holds posted partially and voided, the bulk endpoints, every validation error, and a
 * Kafka consumer that reads exactly one outcome event per journal with all its metadata.
 */
import { Kafka, logLevel } from 'kafkajs';
import { decodeOutcomeRecord } from '../../../events/envelope';
import type { JournalOutcomeEventV1 } from '../../../events/schema';
import { PLAN_CASES, SCHEMA_CASES, validBody } from '../../support/journal/cases';
import { type Answer, call, type Harness, startHarness, withKey } from '../../support/http/harness';

let h: Harness;
let base: string;
/** Longer than a 1 s hold's timeout, with room for the ledger's clock. */
const HOLD_EXPIRY_WAIT_MS = 2_500;
/** Every outcome event the tests caused, by journal, and how many times each was published. */
const expected = new Map<string, Map<string, number>>();

function expectEvent(journalId: string, eventId: string): void {
  const events = expected.get(journalId) ?? new Map<string, number>();
  events.set(eventId, (events.get(eventId) ?? 0) + 1);
  expected.set(journalId, events);
}

/**
 * Records the event a journal or hold answer implies: 2xx names its kind; a refusal by the ledger
 * (422 journal_rejected, or 409 journal_not_pending naming the ledger's status) a rejection.
 */
function noteOutcome(journalId: string, step: 'create' | 'post' | 'void', res: Answer): void {
  if (res.status === 201) expectEvent(journalId, `${journalId}:${res.body.status}`);
  const code = res.body?.error?.code;
  const refusedByLedger =
    (res.status === 422 && code === 'journal_rejected') ||
    (res.status === 409 && code === 'journal_not_pending' && res.body.error.status !== undefined);
  if (refusedByLedger) expectEvent(journalId, `${journalId}:rejected:${step}`);
}

async function account(
  accountId: string,
  accountType: string,
  asset = 'USD',
  flags?: Record<string, boolean>,
): Promise<void> {
  const body = { accountId, name: accountId, holderId: 'holder-1', accountType, asset, flags };
  const res = await call(base, 'POST', '/api/accounts', body);
  expect([200, 201]).toContain(res.status);
}

function journal(id: string, lines: Array<[string, 'DEBIT' | 'CREDIT', number | string]>) {
  return {
    journalId: id,
    date: '2026-11-21',
    description: `journal ${id}`,
    source: 'test/http',
    lines: lines.map(([accountId, lineType, amount], i) => ({
      accountId,
      lineType,
      amount,
      lineNumber: i + 1,
    })),
  };
}

async function post(body: unknown) {
  const res = await call(base, 'POST', '/api/journal', body);
  noteOutcome((body as { journalId: string }).journalId, 'create', res);
  return res;
}

async function resolveHold(journalId: string, action: 'post' | 'void', body?: unknown) {
  const res = await call(base, 'POST', `/api/journal/${journalId}/${action}`, body);
  noteOutcome(journalId, action, res);
  return res;
}

/** The balance without its cache facts (which level served it, how old): the money only. */
async function balance(accountId: string) {
  const res = await call(base, 'GET', `/api/balance/${accountId}`);
  expect(res.status).toBe(200);
  const { cache, ...money } = res.body;
  expect(['l1', 'l2', 'ledger']).toContain(cache.level);
  return money;
}

const id = (name: string): string => `${h.run}-${name}`;

beforeAll(async () => {
  h = await startHarness();
  base = h.bridge.url;
  // The accounts the shared validation tables name (fixed ids: creation is idempotent).
  for (const [name, asset] of [
    ['cash', 'USD'],
    ['rent', 'USD'],
    ['fees', 'USD'],
    ['tax', 'USD'],
    ['eur-cash', 'EUR'],
    ['eur-sales', 'EUR'],
  ] as const) {
    await account(name, 'asset', asset);
  }
  await account(id('bank'), 'asset');
  await account(id('revenue'), 'revenue');
  await account(id('wallet'), 'liability', 'USD', { mustNotGoNegative: true });
  await account(id('wallet2'), 'liability', 'USD', { mustNotGoNegative: true });
  await account(id('house'), 'house');
}, 60_000);

afterAll(async () => {
  await h?.dispose();
});

describe('POST /api/journal', () => {
  it('posts a journal and answers 201 with the transfers and their timestamps', async () => {
    const res = await post(
      journal(id('j1'), [
        [id('bank'), 'DEBIT', 1500],
        [id('revenue'), 'CREDIT', '1500'],
      ]),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ journalId: id('j1'), status: 'posted' });
    expect(res.body.transfers).toHaveLength(1);
    expect(res.body.transfers[0]).toMatchObject({ debitLine: 1, creditLine: 2, amount: '1500' });
    expect(BigInt(res.body.transfers[0].timestamp)).toBeGreaterThan(0n);
    const bank = await balance(id('bank'));
    expect(bank).toMatchObject({ balance: '1500', posted: { debits: '1500', credits: '0' } });
    // Read-your-writes: with the posting's balance token, the balance is at least that new.
    const token = res.headers.get('balance-token')!;
    expect(token).toMatch(/^\d+$/);
    const consistent = await fetch(`${base}/api/balance/${id('revenue')}`, {
      headers: withKey({ 'balance-token': token }),
    });
    expect(((await consistent.json()) as { balance: string }).balance).toBe('1500');
  });

  it('answers a retry with the same body, and posts nothing twice', async () => {
    const body = journal(id('j2'), [
      [id('bank'), 'DEBIT', 7],
      [id('revenue'), 'CREDIT', 7],
    ]);
    const first = await post(body);
    const before = await balance(id('bank'));
    const again = await post(body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    // The token is the outcome event's position: the retry republished it further on.
    const token = (res: Answer) => /^p(\d+)\.o(\d+)$/.exec(res.headers.get('consistency-token')!);
    const [, partition, offset] = token(first)!;
    const [, partitionAgain, offsetAgain] = token(again)!;
    expect(partitionAgain).toBe(partition);
    expect(BigInt(offsetAgain!)).toBeGreaterThan(BigInt(offset!));
    expect(await balance(id('bank'))).toEqual(before);
  });

  it('answers 409 when the journal id is reused with different content', async () => {
    const body = journal(id('j3'), [
      [id('bank'), 'DEBIT', 5],
      [id('revenue'), 'CREDIT', 5],
    ]);
    expect((await post(body)).status).toBe(201);
    const changed = await post({ ...body, description: 'something else' });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('journal_conflict');
  });

  it('refuses insufficient funds on a must-not-go-negative account with 422 naming the line', async () => {
    const body = journal(id('j4'), [
      [id('revenue'), 'CREDIT', 10],
      [id('wallet'), 'DEBIT', 10],
    ]);
    const res = await post(body);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'journal_rejected',
      status: 'exceeds_credits',
      line: 2,
    });
    expect(res.body.error.lines).toEqual([
      { transfer: 0, debitLine: 2, creditLine: 1, status: 'exceeds_credits' },
    ]);
  });

  it('posts a 5-line journal all or nothing', async () => {
    // Fund wallet2 with 100, then a journal whose last pairing overdraws `wallet`.
    const fund = journal(id('fund'), [
      [id('bank'), 'DEBIT', 100],
      [id('wallet2'), 'CREDIT', 100],
    ]);
    expect((await post(fund)).status).toBe(201);
    const accounts = [id('bank'), id('revenue'), id('wallet'), id('wallet2'), id('house')];
    const before = await Promise.all(accounts.map(balance));
    const body = journal(id('j5'), [
      [id('wallet2'), 'DEBIT', 60],
      [id('house'), 'DEBIT', 30],
      [id('wallet'), 'DEBIT', 10],
      [id('revenue'), 'CREDIT', 50],
      [id('bank'), 'CREDIT', 50],
    ]);
    const res = await post(body);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ status: 'exceeds_credits', line: 3 });
    const statuses = res.body.error.lines.map((l: { status: string }) => l.status);
    expect(statuses.filter((s: string) => s === 'linked_event_failed').length).toBe(
      statuses.length - 1,
    );
    expect(await Promise.all(accounts.map(balance))).toEqual(before);
  });
});

describe('holds', () => {
  it('holds, then posts a smaller amount', async () => {
    const body = {
      ...journal(id('h1'), [
        [id('bank'), 'DEBIT', 400],
        [id('revenue'), 'CREDIT', 400],
      ]),
      pending: { timeoutSeconds: 3600 },
    };
    const held = await post(body);
    expect(held.status).toBe(201);
    expect(held.body.status).toBe('held');
    const pending = await balance(id('revenue'));
    expect(BigInt(pending.pending.credits)).toBeGreaterThanOrEqual(400n);

    const res = await resolveHold(id('h1'), 'post', { amount: '250' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'hold_posted' });
    expect(res.body.transfers[0].amount).toBe('250');
    const after = await balance(id('revenue'));
    expect(BigInt(after.pending.credits)).toBe(BigInt(pending.pending.credits) - 400n);
    expect(BigInt(after.posted.credits)).toBe(BigInt(pending.posted.credits) + 250n);

    const again = await resolveHold(id('h1'), 'post', { amount: '250' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(res.body);
  });

  it('holds, then voids', async () => {
    const body = {
      ...journal(id('h2'), [
        [id('bank'), 'DEBIT', 90],
        [id('revenue'), 'CREDIT', 90],
      ]),
      pending: { timeoutSeconds: 3600 },
    };
    expect((await post(body)).status).toBe(201);
    const before = await balance(id('bank'));
    const res = await resolveHold(id('h2'), 'void');
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('hold_voided');
    const after = await balance(id('bank'));
    expect(BigInt(after.pending.debits)).toBe(BigInt(before.pending.debits) - 90n);
    expect(after.posted).toEqual(before.posted);
    const postLate = await resolveHold(id('h2'), 'post');
    expect(postLate.status).toBe(409);
    expect(postLate.body.error).toMatchObject({
      code: 'journal_not_pending',
      status: 'pending_transfer_already_voided',
    });
  });

  /** A hold of `amount` bank → revenue, then what happens to it before the late step. */
  const lateSteps: Array<{
    name: string;
    timeoutSeconds: number;
    before: (journalId: string) => Promise<unknown>;
    late: 'post' | 'void';
    status: string;
  }> = [
    {
      name: 'voiding a posted hold',
      timeoutSeconds: 3600,
      before: async (journalId) => {
        expect((await resolveHold(journalId, 'post', { amount: '30' })).status).toBe(201);
      },
      late: 'void',
      status: 'pending_transfer_already_posted',
    },
    {
      name: 'posting a hold that expired',
      timeoutSeconds: 1,
      // Past the hold's 1 s timeout on the ledger's clock.
      before: () => new Promise((resolve) => setTimeout(resolve, HOLD_EXPIRY_WAIT_MS)),
      late: 'post',
      status: 'pending_transfer_expired',
    },
  ];

  it.each(lateSteps)('answers 409 journal_not_pending to $name', async (step) => {
    const journalId = id(`late-${step.late}-${step.timeoutSeconds}`);
    const body = {
      ...journal(journalId, [
        [id('bank'), 'DEBIT', 70],
        [id('revenue'), 'CREDIT', 70],
      ]),
      pending: { timeoutSeconds: step.timeoutSeconds },
    };
    expect((await post(body)).status).toBe(201);
    await step.before(journalId);
    const res = await resolveHold(journalId, step.late);
    expect([res.status, res.body.error]).toEqual([
      409,
      expect.objectContaining({ code: 'journal_not_pending', status: step.status }),
    ]);
  });

  it('answers 404 for an unknown hold and 409 for a journal that is not a hold', async () => {
    expect((await call(base, 'POST', `/api/journal/${id('nope')}/post`)).body.error.code).toBe(
      'journal_not_found',
    );
    const res = await call(base, 'POST', `/api/journal/${id('j1')}/void`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('journal_not_pending');
  });
});

describe('consistency tokens', () => {
  it("refuses at once a token naming a partition the topic does not have (Kafka's count)", async () => {
    // The harness's topic has 3 partitions: p3 and p99 can never be applied, so no wait.
    for (const token of ['p3.o0', 'p99.o1']) {
      const res = await call(base, 'GET', `/api/journal/${id('j1')}?consistency=${token}`);
      expect([res.status, res.body.error.code, res.body.error.field]).toEqual([
        400,
        'invalid_consistency_token',
        'consistency',
      ]);
      expect(res.body.error.message).toContain(token);
    }
  });
});

describe('bulk', () => {
  it('POST /api/journals/batch posts or rejects each journal on its own, in order', async () => {
    const good = (n: string) =>
      journal(id(n), [
        [id('bank'), 'DEBIT', 3],
        [id('revenue'), 'CREDIT', 3],
      ]);
    const bad = { ...good('b-bad'), lines: [] };
    const res = await call(base, 'POST', '/api/journals/batch', {
      journals: [good('b1'), bad, good('b2')],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 400, 201]);
    expect(res.body.results[1].error.code).toBe('too_few_lines');
    expect(res.body.results[0].consistencyToken).toMatch(/^p\d+\.o\d+$/);
    expectEvent(id('b1'), `${id('b1')}:posted`);
    expectEvent(id('b2'), `${id('b2')}:posted`);
  });

  it('POST /api/transfers/batch answers TigerBeetle results per event', async () => {
    const bank = await call(base, 'GET', `/api/accounts/${id('bank')}`);
    const revenue = await call(base, 'GET', `/api/accounts/${id('revenue')}`);
    const transfer = {
      id: String(BigInt(`0x${h.run}`) * 1_000_000n + 1n),
      debit_account_id: bank.body.ledgerId,
      credit_account_id: revenue.body.ledgerId,
      amount: '11',
      ledger: bank.body.ledger,
      code: 900,
    };
    const res = await call(base, 'POST', '/api/transfers/batch', {
      transfers: [transfer, { ...transfer, id: '0' }],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'created',
      'id_must_not_be_zero',
    ]);
    const wrong = await call(base, 'POST', '/api/transfers/batch', {
      transfers: [{ ...transfer, amount: '-1' }],
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.field).toBe('transfers[0].amount');
  });
});

describe('validation errors through HTTP', () => {
  it.each([...SCHEMA_CASES, ...PLAN_CASES])('$name → $code', async (c) => {
    const res = await call(base, 'POST', '/api/journal', c.make(validBody()));
    expect(res.status).toBe(
      c.code === 'account_not_found' ||
        c.code.startsWith('unbalanced') ||
        ['asset_mismatch', 'self_transfer'].includes(c.code)
        ? 422
        : 400,
    );
    expect(res.body.error.code).toBe(c.code);
    if (c.field !== undefined) expect(res.body.error.field).toBe(c.field);
    if (c.line !== undefined) expect(res.body.error.line).toBe(c.line);
  });

  it.each([
    {
      name: 'not JSON',
      text: '{"journalId":',
      type: 'application/json',
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'not JSON content',
      text: '{}',
      type: 'text/plain',
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'over 64 KiB',
      text: JSON.stringify({ pad: 'x'.repeat(70_000) }),
      type: 'application/json',
      status: 413,
      code: 'payload_too_large',
    },
  ])('$name → $status $code', async ({ text, type, status, code }) => {
    const res = await call(base, 'POST', '/api/journal', undefined, { text, contentType: type });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
  });

  it('unknown routes answer 404 with a code', async () => {
    const res = await call(base, 'GET', '/api/nothing');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('route_not_found');
  });
});

describe('accounts', () => {
  it('creates idempotently, 409 on different content, 404 when unknown', async () => {
    const body = {
      accountId: id('acc'),
      name: 'A',
      holderId: 'h',
      accountType: 'asset',
      asset: 'USD',
    };
    expect((await call(base, 'POST', '/api/accounts', body)).status).toBe(201);
    expect((await call(base, 'POST', '/api/accounts', body)).status).toBe(200);
    const conflict = await call(base, 'POST', '/api/accounts', { ...body, name: 'B' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'account_conflict', field: 'name' });
    const got = await call(base, 'GET', `/api/accounts/${id('acc')}`);
    expect(got.body).toMatchObject({
      accountId: id('acc'),
      asset: 'USD',
      balance: { balance: '0' },
    });
    expect((await call(base, 'GET', `/api/accounts/${id('none')}`)).status).toBe(404);
    const bad = await call(base, 'POST', '/api/accounts', { ...body, asset: 'XXX' });
    expect(bad.status).toBe(422);
  });
});

describe('outcome events', () => {
  it('a consumer reads exactly one outcome event per journal, with all metadata', async () => {
    const kafka = new Kafka({
      clientId: 'test-http',
      brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:59092').split(','),
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: `test-${h.run}` });
    const events: JournalOutcomeEventV1[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: h.topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          events.push(...decodeOutcomeRecord(message.value));
        },
      });
      const wanted = [...expected.values()].flatMap((events) => [...events.keys()]);
      const deadline = Date.now() + 20_000;
      const seen = () => new Set(events.map((e) => e.eventId));
      while (wanted.some((eventId) => !seen().has(eventId)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Anything published twice by mistake would arrive with the rest; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await consumer.disconnect();
    }
    const published = new Map<string, Map<string, number>>();
    for (const event of events) {
      const counts = published.get(event.journalId) ?? new Map<string, number>();
      counts.set(event.eventId, (counts.get(event.eventId) ?? 0) + 1);
      published.set(event.journalId, counts);
    }
    // Exactly the events the answers imply, each as many times as it was answered: a retry
    // republishes the same event id (consumers dedupe), a 409 publishes nothing.
    expect(published).toEqual(expected);
    expect(expected.get(id('j2'))).toEqual(new Map([[`${id('j2')}:posted`, 2]]));
    expect(expected.has(id('j3'))).toBe(true);
    const j1 = events.filter((e) => e.journalId === id('j1'));
    expect(j1).toHaveLength(1);
    expect(j1[0]!.journal).toMatchObject({
      journalId: id('j1'),
      description: `journal ${id('j1')}`,
      source: 'test/http',
      date: '2026-11-21',
    });
    expect(j1[0]!.journal!.lines).toHaveLength(2);
    expect(j1[0]!.transfers[0]).toMatchObject({ amount: '1500', debitLine: 1, creditLine: 2 });
    const rejected = events.filter((e) => e.journalId === id('j4'));
    expect(rejected.map((e) => e.kind)).toEqual(['rejected']);
    expect(rejected[0]!.transfers[0]!.status).toBe('exceeds_credits');
  }, 40_000);
});

describe('monitoring', () => {
  it('/metrics reports the read replica and the routes by pattern', async () => {
    await h.bridge.monitor.tick();
    const text = await (await fetch(`${base}/metrics`, { headers: withKey() })).text();
    expect(text).toMatch(/^ledger_bridge_dependency_up\{dependency="replica1"\} 1$/m);
    expect(text).toMatch(/^ledger_bridge_replica_lag_seconds\{replica="replica1"\} [0-9.e-]+$/m);
    expect(text).toContain('route="/api/balance/:accountId"');
    expect(text).not.toContain(`route="/api/balance/${id('bank')}"`);
  });
});
