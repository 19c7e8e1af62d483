/**
 * Proves the graceful shutdown: journals the server has already taken in are finished — posted
 * in the ledger, published to Kafka, answered 201 — while the bridge stops, and the ledger holds
 * every one of them (a new client of the same cluster, or the engine reopened, finds them). The stop is issued while journals are still arriving: a
 * request the server never accepted fails to connect (the client retries it elsewhere), but no
 * accepted one is cut off with a 5xx.
 */
import { openLedger } from '../../../ledger/open';
import { transferId } from '../../../ledger/ids';
import { call, type Harness, startHarness } from '../../support/http/harness';

const JOURNALS = 1_500;
/** Stop once this many chains reached the batcher: the rest are on the wire or in the queue. */
const TAKEN_BEFORE_STOP = 200;
let h: Harness;

beforeAll(async () => {
  // A long flush delay keeps chains waiting in the batcher when the stop begins.
  h = await startHarness({ BATCH_FLUSH_DELAY_MS: '50' });
}, 60_000);

afterAll(async () => {
  await h?.dispose();
});

it('finishes every journal in flight before it stops', async () => {
  const base = h.bridge.url;
  for (const name of ['from', 'to']) {
    const res = await call(base, 'POST', '/api/accounts', {
      accountId: `${h.run}-${name}`,
      name,
      holderId: 'h',
      accountType: 'asset',
      asset: 'USD',
    });
    expect(res.status).toBe(201);
  }
  const journalIds = Array.from({ length: JOURNALS }, (_, i) => `${h.run}-shutdown-${i}`);
  const answers = journalIds.map((journalId) =>
    call(base, 'POST', '/api/journal', {
      journalId,
      date: '2026-11-21',
      description: 'in flight at shutdown',
      source: 'test/http',
      lines: [
        { accountId: `${h.run}-from`, lineType: 'DEBIT', amount: 1, lineNumber: 1 },
        { accountId: `${h.run}-to`, lineType: 'CREDIT', amount: 1, lineNumber: 2 },
      ],
    }),
  );
  const deadline = Date.now() + 20_000;
  const taken = () => h.bridge.batcher.stats.events + h.bridge.batcher.stats.queuedEvents;
  while (taken() < TAKEN_BEFORE_STOP && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const stopped = h.stop();
  const settled = await Promise.allSettled(answers);
  await stopped;
  const statuses = settled.map((s) => (s.status === 'fulfilled' ? s.value.status : 'refused'));
  expect(statuses.filter((status) => status !== 201 && status !== 'refused')).toEqual([]);
  const answered = journalIds.filter((_, i) => statuses[i] === 201);
  expect(answered.length).toBeGreaterThanOrEqual(TAKEN_BEFORE_STOP);

  const { ledger } = await openLedger(h.config);
  try {
    const found = await ledger.lookupTransfers(answered.map((id) => transferId(id, 'create', 0)));
    expect(found).toHaveLength(answered.length);
  } finally {
    await ledger.close();
  }
}, 60_000);
