/**
 * Proves the whole loop end to end, on the stack's TigerBeetle cluster: journals and a raw
 * transfer posted over HTTP reach PostgreSQL by both feeds — their outcome events through Kafka,
 * and the ledger's own change events through `tigerbeetle amqp` → RabbitMQ → the change relay
 * (changefeed/, started here on a queue of this run's own bound to the stack's exchange, writing
 * a change topic of this run's own) → Kafka — and the projection worker's two runners; a read
 * carrying the posting's consistency token sees the journal; the statement shows the journal
 * entries, the hold's post and the raw transfer (kind `raw`) with their running balance; both
 * kinds of hash chain verify; and the reconciler, its horizon proven on both feeds, finds
 * TigerBeetle and PostgreSQL in agreement, the raw transfer counted raw — then flags a
 * deliberately broken row.
 */
import { Kafka, logLevel } from 'kafkajs';
import { verifyChains } from '../../../projections/src/hash-chain/verify';
import type { Worker } from '../../../projections/src/worker';
import { createPools, closePools, type Pools } from '../../../core/postgres/pool';
import { liveFeed, reconcileCaughtUp, startFileWorker } from '../../support/changefeed/live-feed';
import { call, type Harness, startHarness, withKey } from '../../support/http/harness';

/** The change feed's path (CDC job, RabbitMQ, relay, Kafka, worker) takes well under this. */
const FEED_WAIT_MS = 30_000;
const feed = liveFeed('e2e-projections');

let h: Harness;
let worker: Worker;
let pools: Pools;
let kafka: Kafka;

beforeAll(async () => {
  h = await startHarness(feed.env);
  if (h.bridge.ledger.kind !== 'tigerbeetle') {
    throw new Error(
      'this test follows the ledger change feed of the TigerBeetle cluster (its CDC job): ' +
        'start the stack with a TigerBeetle server (TB_BIN; infra/stack.sh up)',
    );
  }
  // Bound before the first transfer: the queue receives every event from now on.
  await feed.start(h.config);
  worker = await startFileWorker(h.config);
  pools = createPools(h.config);
  kafka = new Kafka({
    clientId: 'test-e2e',
    brokers: h.config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await feed.stop();
  if (pools) await closePools(pools);
  await h?.dispose();
}, 60_000);

function journal(id: string, debit: string, credit: string, amount: number) {
  return {
    journalId: id,
    date: '2026-11-21',
    description: `e2e ${id}`,
    source: 'test/http',
    lines: [
      { accountId: debit, lineType: 'DEBIT', amount, lineNumber: 1 },
      { accountId: credit, lineType: 'CREDIT', amount, lineNumber: 2 },
    ],
  };
}

async function until<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + FEED_WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${FEED_WAIT_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Entry {
  amount: string;
  balance: string;
  kind: string;
  journalId: string | null;
}

it('posts, projects both feeds, reads consistently, verifies and reconciles', async () => {
  const base = h.bridge.url;
  const acc = (name: string) => `${h.run}-${name}`;
  const ledgerIds: Record<string, string> = {};
  let usdLedger = 0;
  for (const [name, type] of [
    ['bank', 'asset'],
    ['sales', 'revenue'],
    ['wallet', 'liability'],
  ] as const) {
    const res = await call(base, 'POST', '/api/accounts', {
      accountId: acc(name),
      name,
      holderId: `${h.run}-holder`,
      accountType: type,
      asset: 'USD',
    });
    expect(res.status).toBe(201);
    ledgerIds[name] = res.body.ledgerId;
    usdLedger = res.body.ledger;
  }
  const posted = await call(
    base,
    'POST',
    '/api/journal',
    journal(acc('j1'), acc('bank'), acc('sales'), 700),
  );
  expect(posted.status).toBe(201);
  const hold = {
    ...journal(acc('j2'), acc('bank'), acc('sales'), 300),
    pending: { timeoutSeconds: 600 },
  };
  expect((await call(base, 'POST', '/api/journal', hold)).status).toBe(201);
  expect((await call(base, 'POST', `/api/journal/${acc('j2')}/post`, { amount: 120 })).status).toBe(
    201,
  );
  const refused = await call(
    base,
    'POST',
    '/api/journal',
    journal(acc('j3'), acc('wallet'), acc('bank'), 5),
  );
  expect(refused.status).toBe(422);
  // A raw transfer: no journal, so no outcome event; only the change feed knows it.
  const raw = await call(base, 'POST', '/api/transfers/batch', {
    transfers: [
      {
        id: (BigInt(`0x${h.run}`) * 1_000_000n + 1n).toString(),
        debit_account_id: ledgerIds.bank,
        credit_account_id: ledgerIds.sales,
        amount: '5',
        ledger: usdLedger,
        code: 900,
      },
    ],
  });
  expect(raw.status).toBe(200);
  expect(raw.body.results[0].status).toBe('created');

  // A read with the posting's token waits for the outcome runner, then sees the journal.
  const token = posted.headers.get('consistency-token')!;
  const read = await fetch(`${base}/api/journal/${acc('j1')}`, {
    headers: withKey({ 'consistency-token': token }),
  });
  expect(read.status).toBe(200);
  const entry = (await read.json()) as { lines: unknown[] };
  expect(entry).toMatchObject({
    journalId: acc('j1'),
    status: 'posted',
    description: `e2e ${acc('j1')}`,
  });
  expect(entry.lines).toHaveLength(2);

  // The statement follows the change feed: a read with the last posting's token waits for the
  // outcome, then for the account's change events up to that posting (425 = retry, as a client
  // would while the worker joins its groups), and shows every posting with the ledger's balances.
  const lastToken = (
    await call(base, 'POST', '/api/journal', journal(acc('j4'), acc('bank'), acc('sales'), 1))
  ).headers.get('consistency-token')!;
  const readStatement = async (): Promise<Entry[] | null> => {
    const statement = await fetch(`${base}/api/accounts/${acc('bank')}/entries`, {
      headers: withKey({ 'consistency-token': lastToken }),
    });
    if (statement.status === 425) return null;
    expect(statement.status).toBe(200);
    return ((await statement.json()) as { entries: Entry[] }).entries;
  };
  const entries = await until('a statement read with the token to answer', readStatement);
  expect(entries.map((e) => [e.amount, e.balance])).toEqual([
    ['700', '700'],
    ['120', '820'],
    ['5', '825'],
    ['1', '826'],
  ]);
  // Journal metadata is joined when read: the hold's post shows as a journal once its own
  // outcome (another partition, maybe) is projected; the raw transfer has none, ever.
  const joined = await until('every journal posting to carry its journal', async () => {
    const page = await readStatement();
    return page !== null && page.filter((e) => e.kind === 'raw').length === 1 ? page : null;
  });
  expect(joined).toMatchObject([
    { amount: '700', kind: 'posted', journalId: acc('j1'), balance: '700' },
    { amount: '120', kind: 'hold_posted', journalId: acc('j2'), balance: '820' },
    { amount: '5', kind: 'raw', journalId: null, balance: '825' },
    { amount: '1', kind: 'posted', journalId: acc('j4'), balance: '826' },
  ]);

  // Both kinds of chain hold their events and verify: outcomes, and the ledger's own changes.
  const verified = await verifyChains(pools.direct, { full: true });
  expect(verified.chains.filter((c) => !c.ok)).toEqual([]);
  const chained = (topic: string) =>
    verified.chains
      .filter((c) => c.chain.startsWith(`${topic}/`))
      .reduce((sum, c) => sum + c.eventsChecked, 0);
  expect(chained(h.topic)).toBeGreaterThanOrEqual(5);
  // j1, j2's hold and post, the raw transfer, j4 (the cluster's other events may be there too).
  expect(chained(feed.topic)).toBeGreaterThanOrEqual(5);

  // TigerBeetle and PostgreSQL agree once both feeds caught up, then a broken row is flagged.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deps = { config: h.config, db: pools.primary, ledger: h.bridge.ledger.ledger, admin };
    // From this test's first transfer: the cluster holds every other test's transfers too.
    const from = BigInt(posted.body.transfers[0].timestamp);
    const clean = await reconcileCaughtUp(deps, from);
    expect(clean.deferred).toBeNull();
    expect(clean.mismatchCount).toBe(0);
    expect(clean.transfers.raw).toBe(1);
    await pools.direct.query(
      `UPDATE rm_account_balance SET debits_posted = debits_posted + 1
        WHERE ledger_account_id = $1`,
      [ledgerIds.bank],
    );
    const broken = await reconcileCaughtUp(deps, from);
    expect(broken.mismatchCount).toBe(1);
    expect(broken.examples[0]).toMatchObject({
      kind: 'account_balance_mismatch',
      field: 'debits_posted',
    });
  } finally {
    await admin.disconnect();
  }
}, 90_000);
