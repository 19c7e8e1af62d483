/**
 * Proves the journal read side over real HTTP and PostgreSQL (own schema; rows written by the
 * journal projection itself): GET /api/journal/:journalId answers the entry, lines and transfers
 * with u128 amounts as decimal strings, 404 and 400 with typed codes; with a consistency token it
 * waits until the projection's checkpoint passes the token's offset, answers 425 with the current
 * position when the wait runs out, and 400 for a garbage token; the token codec round-trips.
 */
import { NO_TENANTS } from '../../support/http/keys';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { toOutcomeEvent } from '../../../events/schema';
import { sendError } from '../../../bridge/src/http/respond';
import { Router } from '../../../bridge/src/http/router';
import {
  ConsistencyTokenError,
  decodeToken,
  encodeToken,
  waitForProjection,
} from '../../../bridge/src/journal/consistency';
import { journalReadRoutes } from '../../../bridge/src/journal/read-routes';
import { withTransaction } from '../../../core/postgres/pool';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import { migratedSchema, outcome } from '../../support/projections/runner.harness';
import type { TestSchema } from '../../support/store/schema';

const TOPIC = 'ledger.journal-outcomes.test';
const GROUP = 'test-journals';
/** The topic's partitions, as the routes are told. */
const PARTITIONS = 6;
let db: TestSchema;
let server: http.Server;
let base: string;

beforeAll(async () => {
  db = await migratedSchema('journals');
  const events = [
    outcome('J-1', 1),
    outcome('H-1', 2, 'held'),
    outcome('H-1', 3, 'hold_posted', { pendingOf: 2 }),
  ].map((o, i) => ({
    event: toOutcomeEvent(o),
    topic: TOPIC,
    partition: 0,
    offset: String(i),
    timestamp: '0',
  }));
  await withTransaction(db.pool, (tx) => new JournalStoreProjection().apply(tx, events));
  const router = new Router();
  journalReadRoutes(
    router,
    {
      pick: () => db.pool,
      topic: TOPIC,
      groupId: GROUP,
      consistencyWaitMs: 300,
      partitions: { countFor: async () => PARTITIONS },
    },
    NO_TENANTS,
  );
  const log = pino({ level: 'silent' });
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const route = router.match(req.method ?? 'GET', path);
    if (route === null) {
      res.writeHead(404).end();
      return;
    }
    route.handler({ req, res, params: route.params, path }).catch((error: unknown) => {
      sendError(res, error, log, { method: req.method, path });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await db?.drop();
});

// The answers' shapes are what these tests check: read them loosely typed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Json };
}

async function setCheckpoint(nextOffset: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO projection_checkpoint (consumer_group, topic, partition, next_offset)
     VALUES ($1, $2, 0, $3)
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = $3`,
    [GROUP, TOPIC, nextOffset],
  );
}

test('a posted journal: entry, lines and transfers, amounts as strings', async () => {
  const { status, body } = await get('/api/journal/J-1');
  expect(status).toBe(200);
  const amount = ((1n << 100n) + 1n).toString();
  expect(body).toMatchObject({
    journalId: 'J-1',
    status: 'posted',
    date: '2025-11-21',
    source: 'test/events',
    pending: null,
    rejection: null,
    tbTimestamp: '1763700000000000001',
    firstEventId: 'J-1:posted',
    lines: [
      { lineNumber: 1, accountId: 'acc-cash', lineType: 'DEBIT', amount },
      { lineNumber: 2, accountId: 'acc-revenue', lineType: 'CREDIT', amount },
    ],
    transfers: [
      {
        step: 'create',
        amount,
        debitLine: 1,
        creditLine: 2,
        debitAccountId: 'acc-cash',
        debitAccountLedgerId: '1001',
        status: 'created',
      },
    ],
  });
  expect(body.createdAt).toBe(new Date(1_763_700_000_000).toISOString());
});

test('a posted hold lists both steps; unknown and invalid ids are typed errors', async () => {
  const held = await get('/api/journal/H-1');
  expect(held.body.status).toBe('hold_posted');
  expect(held.body.pending).toEqual({ timeoutSeconds: 3600 });
  expect(held.body.transfers.map((t: { step: string }) => t.step)).toEqual(['create', 'post']);
  expect(await get('/api/journal/nope')).toEqual({
    status: 404,
    body: { error: expect.objectContaining({ code: 'journal_not_found', field: 'journalId' }) },
  });
  const bad = await get(`/api/journal/${encodeURIComponent('a b')}`);
  expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_journal_id']);
});

test('a consistency token waits for the projection, or answers 425 with the position', async () => {
  await setCheckpoint(2);
  const behind = await get('/api/journal/J-1', { 'consistency-token': 'p0.o2' });
  expect(behind.status).toBe(425);
  expect(behind.body.error).toMatchObject({ code: 'projection_behind', current: 'p0.o1' });

  const started = Date.now();
  setTimeout(() => void setCheckpoint(3), 100);
  const waited = await get('/api/journal/J-1?consistency=p0.o2');
  expect(waited.status).toBe(200);
  expect(Date.now() - started).toBeGreaterThanOrEqual(90);

  const garbage = await get('/api/journal/J-1', { 'consistency-token': 'p0.oX' });
  expect([garbage.status, garbage.body.error.code]).toEqual([400, 'invalid_consistency_token']);
});

test('a token naming a partition the topic does not have is a 400 at once, not a wait', async () => {
  for (const token of [`p${PARTITIONS}.o1`, 'p99.o1']) {
    const res = await get('/api/journal/J-1', { 'consistency-token': token });
    // A wait would end in 425 projection_behind (the checkpoint of that partition never moves).
    expect([res.status, res.body.error]).toEqual([
      400,
      expect.objectContaining({ code: 'invalid_consistency_token', field: 'consistency' }),
    ]);
    expect(res.body.error.message).toContain(token);
  }
  await setCheckpoint(3);
  const last = await get(`/api/journal/J-1?consistency=p0.o2`);
  expect(last.status).toBe(200);
});

test('waitForProjection is bounded; the token codec round-trips and rejects garbage', async () => {
  await setCheckpoint(5);
  const target = { topic: TOPIC, partition: 0, offset: '4' };
  expect(await waitForProjection(db.pool, target, 0, { groupId: GROUP })).toBe('caught_up');
  const started = Date.now();
  expect(
    await waitForProjection(db.pool, { ...target, offset: '5' }, 50, { groupId: GROUP }),
  ).toEqual({ current: '5' });
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(
    await waitForProjection(db.pool, { ...target, partition: 9 }, 0, { groupId: GROUP }),
  ).toEqual({ current: '0' });

  expect(decodeToken(encodeToken({ partition: 3, offset: '1234' }))).toEqual({
    partition: 3,
    offset: '1234',
  });
  expect(encodeToken({ partition: 3, offset: '1234' })).toBe('p3.o1234');
  for (const garbage of ['', 'p3', 'p-1.o2', 'p1.o01x', 'p1.o99999999999999999999', 'x']) {
    expect(() => decodeToken(garbage)).toThrow(ConsistencyTokenError);
  }
});
