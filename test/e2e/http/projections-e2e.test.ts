/**
 * Proves the whole loop end to end: journals posted over HTTP reach PostgreSQL through Kafka and
 * the projection worker; a read carrying the posting's consistency token sees it; the statement
 * shows it with its running balance; the hash chain verifies; and the reconciler finds TigerBeetle
 * (the engine) and PostgreSQL in agreement — then flags a deliberately broken row.
 */
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { verifyChains } from '../../../projections/src/hash-chain/verify';
import { loadProjectionsConfig } from '../../../projections/src/config';
import { kafkaCaughtUpHorizon } from '../../../projections/src/reconcile/horizon';
import { reconcile } from '../../../projections/src/reconcile/reconcile';
import { startWorker, type Worker } from '../../../projections/src/worker';
import { createPools, closePools, type Pools } from '../../../core/postgres/pool';
import { call, type Harness, startHarness } from '../../support/http/harness';

let h: Harness;
let worker: Worker;
let pools: Pools;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  h = await startHarness();
  worker = await startWorker({
    config: h.config,
    projectionsConfig: loadProjectionsConfig({
      PROJECTIONS_MIGRATE: 'false',
      PROJECTIONS_METRICS_PORT: '0',
    }),
    logger: silent,
  });
  pools = createPools(h.config);
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (pools) await closePools(pools);
  await h?.dispose();
});

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

it('posts, projects, reads consistently, verifies and reconciles', async () => {
  const base = h.bridge.url;
  const acc = (name: string) => `${h.run}-${name}`;
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

  // A read with the posting's token waits for the projection, then sees the journal.
  const token = posted.headers.get('consistency-token')!;
  const read = await fetch(`${base}/api/journal/${acc('j1')}`, {
    headers: { 'consistency-token': token },
  });
  expect(read.status).toBe(200);
  const entry = (await read.json()) as { lines: unknown[] };
  expect(entry).toMatchObject({
    journalId: acc('j1'),
    status: 'posted',
    description: `e2e ${acc('j1')}`,
  });
  expect(entry.lines).toHaveLength(2);

  // The statement, once the hold's post is projected too.
  const lastToken = (
    await call(base, 'POST', '/api/journal', journal(acc('j4'), acc('bank'), acc('sales'), 1))
  ).headers.get('consistency-token')!;
  const statement = await fetch(`${base}/api/accounts/${acc('bank')}/entries`, {
    headers: { 'consistency-token': lastToken },
  });
  expect(statement.status).toBe(200);
  const page = (await statement.json()) as {
    entries: Array<{ amount: string; balance: string }>;
  };
  expect(page.entries.map((e) => e.amount)).toEqual(['700', '120', '1']);
  expect(page.entries.at(-1)!.balance).toBe('821');

  // The hash chain holds every event and verifies.
  const verified = await verifyChains(pools.direct, { full: true });
  expect(verified.ok).toBe(true);
  expect(verified.eventsChecked).toBeGreaterThanOrEqual(5);

  // TigerBeetle and PostgreSQL agree, then a broken row is flagged.
  const kafka = new Kafka({
    clientId: 'test-e2e',
    brokers: h.config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const horizon = kafkaCaughtUpHorizon({
      admin,
      db: pools.primary,
      topic: h.topic,
      consumerGroup: h.config.PROJECTIONS_GROUP_ID,
      settleDelayMs: 0,
    });
    const deps = { db: pools.primary, ledger: h.bridge.ledger.ledger, horizon };
    // From this test's first transfer: the cluster holds every other test's transfers too.
    const window = { timestampMin: BigInt(posted.body.transfers[0].timestamp) };
    const clean = await reconcile(deps, window);
    expect(clean.deferred).toBeNull();
    expect(clean.mismatchCount).toBe(0);
    await pools.direct.query(
      `UPDATE rm_account_balance SET debits_posted = debits_posted + 1 WHERE account_id = $1`,
      [acc('bank')],
    );
    const broken = await reconcile(deps, window);
    expect(broken.mismatchCount).toBe(1);
  } finally {
    await admin.disconnect();
  }
}, 60_000);
