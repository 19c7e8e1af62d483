/**
 * Proves that raw transfers (POST /api/transfers/batch) take the journals' path to the ledger,
 * over HTTP on a whole bridge (the stack's TigerBeetle cluster, PostgreSQL, Kafka, Redis): posted
 * while journals are, they ride the same createTransfers requests, each raw request whole and in
 * order, and both kinds show in the batcher's metrics, told apart by `kind`. The ledger is
 * observed through a spy on its createTransfers, which holds the first request until every
 * other submission is queued, so the sharing is certain rather than likely. Also: the answer
 * carries a balance token, and a void that names no accounts still refreshes the cached balances
 * of its pending transfer's accounts.
 */
import { transferId } from '../../../ledger/ids';
import {
  type CreateTransferResult,
  type Ledger,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';
import { call, type Harness, startHarness } from '../../support/http/harness';

let h: Harness;
let base: string;
let bank: { ledgerId: string; ledger: number };
let sales: { ledgerId: string; ledger: number };
const acc = (name: string) => `${h.run}-${name}`;
/** Raw transfer ids of this run: no other run's. */
const rawId = (n: number) => (BigInt(`0x${h.run}`) * 1_000_000n + BigInt(n)).toString();

async function openAccount(name: string, accountType: string) {
  const res = await call(base, 'POST', '/api/accounts', {
    accountId: acc(name),
    name,
    holderId: `${h.run}-holder`,
    accountType,
    asset: 'USD',
  });
  expect(res.status).toBe(201);
  return { ledgerId: res.body.ledgerId as string, ledger: res.body.ledger as number };
}

function journal(name: string, amount: number) {
  return {
    journalId: acc(name),
    date: '2026-12-05',
    description: `raw-share ${name}`,
    source: 'test/raw',
    lines: [
      { accountId: acc('bank'), lineType: 'DEBIT', amount, lineNumber: 1 },
      { accountId: acc('sales'), lineType: 'CREDIT', amount, lineNumber: 2 },
    ],
  };
}

function raw(n: number, amount: string, fields: Record<string, unknown> = {}) {
  return {
    id: rawId(n),
    debit_account_id: bank.ledgerId,
    credit_account_id: sales.ledgerId,
    amount,
    ledger: bank.ledger,
    code: 900,
    ...fields,
  };
}

async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A metric's value in /metrics text, by its full series name with labels. */
function sampled(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series}`);
  return Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  // L1 outlives the test, so a stale cached balance could only be dropped by an invalidation.
  h = await startHarness({ BALANCE_L1_TTL_MS: '60000', BATCH_FLUSH_DELAY_MS: '20' });
  base = h.bridge.url;
  bank = await openAccount('bank', 'asset');
  sales = await openAccount('sales', 'revenue');
}, 60_000);

afterAll(async () => {
  await h?.dispose();
}, 60_000);

/** The batcher's counters for a kind, from the bridge's registry (what /metrics serves). */
async function batcherCounts(kind: 'journal' | 'raw') {
  const text = await h.bridge.monitor.metrics.registry.metrics();
  return {
    chains: sampled(text, `ledger_bridge_batcher_chains_total{kind="${kind}"}`),
    events: sampled(text, `ledger_bridge_batcher_events_total{kind="${kind}"}`),
  };
}

/** Posts while the first ledger request is held; answers once the rest went out. */
async function postTogether(journals: unknown[], rawBodies: unknown[][]) {
  const ledger: Ledger = h.bridge.ledger.ledger;
  const requests: Transfer[][] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const original = ledger.createTransfers.bind(ledger);
  // The batcher's (instrumented) port calls through this property on every request.
  ledger.createTransfers = async (batch: Transfer[]): Promise<CreateTransferResult[]> => {
    requests.push(batch);
    if (requests.length === 1) await held;
    return original(batch);
  };
  try {
    const first = call(base, 'POST', '/api/journal', journal('j0', 1));
    await until('the first request to reach the ledger', () => requests.length === 1);
    const answers = Promise.all([
      ...journals.map((body) => call(base, 'POST', '/api/journal', body)),
      ...rawBodies.map((transfers) => call(base, 'POST', '/api/transfers/batch', { transfers })),
    ]);
    // A two-line journal is one transfer.
    const queued = journals.length + rawBodies.reduce((sum, b) => sum + b.length, 0);
    await until('every submission to queue', () => h.bridge.batcher.stats.queuedEvents === queued);
    release();
    const all = await answers;
    expect((await first).status).toBe(201);
    return {
      requests,
      journalAnswers: all.slice(0, journals.length),
      rawAnswers: all.slice(journals.length),
    };
  } finally {
    release();
    ledger.createTransfers = original;
  }
}

it('raw transfers and journals posted together share ledger requests, counted apart', async () => {
  const journals = Array.from({ length: 20 }, (_, i) => journal(`j${i + 1}`, i + 1));
  const rawBodies = [
    // A linked pair and a lone transfer; then three lone ones.
    [raw(1, '5', { flags: TransferFlags.linked }), raw(2, '6'), raw(3, '7')],
    [raw(4, '8'), raw(5, '9'), raw(6, '10')],
  ];
  const journalBefore = await batcherCounts('journal');
  const rawBefore = await batcherCounts('raw');
  const { requests, journalAnswers, rawAnswers } = await postTogether(journals, rawBodies);

  expect(journalAnswers.map((a) => a.status)).toEqual(journals.map(() => 201));
  rawAnswers.forEach((answer, r) => {
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual(
      rawBodies[r]!.map((t, index) => ({
        index,
        id: t.id,
        status: 'created',
        timestamp: expect.stringMatching(/^[1-9][0-9]*$/),
      })),
    );
    // The latest of its transfers' ledger times, as a journal's token is.
    expect(answer.headers.get('balance-token')).toBe(answer.body.results.at(-1).timestamp);
  });

  // The held request, then one with everything else: every journal and both raw requests.
  expect(requests).toHaveLength(2);
  const ids = requests[1]!.map((t) => t.id.toString());
  for (const body of journals) {
    expect(ids).toContain(transferId(body.journalId, 'create', 0).toString());
  }
  // Each raw request whole, in order, at consecutive places.
  for (const first of [1, 4]) {
    const at = ids.indexOf(rawId(first));
    expect(ids.slice(at, at + 3)).toEqual([rawId(first), rawId(first + 1), rawId(first + 2)]);
  }
  expect(ids).toHaveLength(journals.length + 6);

  const journalAfter = await batcherCounts('journal');
  const rawAfter = await batcherCounts('raw');
  expect(rawAfter.chains - rawBefore.chains).toBe(2);
  expect(rawAfter.events - rawBefore.events).toBe(6);
  expect(journalAfter.chains - journalBefore.chains).toBe(journals.length + 1);
  expect(journalAfter.events - journalBefore.events).toBe(journals.length + 1);
});

it("a void that names no accounts refreshes its pending transfer's cached balances", async () => {
  const held = await call(base, 'POST', '/api/transfers/batch', {
    transfers: [raw(20, '40', { flags: TransferFlags.pending, timeout: 3600 })],
  });
  expect(held.body.results[0].status).toBe('created');
  const read = () => call(base, 'GET', `/api/balance/${acc('bank')}`);
  await read();
  const cached = await read();
  expect(cached.body).toMatchObject({ pending: { debits: '40' }, cache: { level: 'l1' } });

  const voided = await call(base, 'POST', '/api/transfers/batch', {
    transfers: [
      raw(21, '0', {
        debit_account_id: '0',
        credit_account_id: '0',
        pending_id: rawId(20),
        flags: TransferFlags.void_pending_transfer,
      }),
    ],
  });
  expect(voided.body.results[0].status).toBe('created');
  // No token sent: only the invalidation of the pending transfer's accounts makes this fresh.
  const after = await read();
  expect(after.body.pending.debits).toBe('0');
  expect(after.body.cache.level).toBe('ledger');
});
