/**
 * Proves issue 13's promise, on the stack's real path — TigerBeetle cluster → `tigerbeetle amqp`
 * → RabbitMQ → relay → Kafka change topic → projection worker: once the feed has caught up,
 * `reconcile` finds 0 mismatches after each of the three cases that used to put it in alarm:
 *
 * 1. a hold that expires by timeout: the journal reads `expired`, the balance read no longer
 *    shows the pending amount (well before the cache's TTL), the read model holds no pending;
 * 2. raw transfers through POST /api/transfers/batch, a raw closing transfer included: they show
 *    as `raw` statement entries, the balances and the `closed` flag agree with TigerBeetle;
 * 3. a bridge killed with SIGKILL after TigerBeetle committed a journal and before Kafka took its
 *    outcome (its publisher lingers two minutes before a send, which holds it in that window;
 *    pausing Kafka would not: the bytes already in the dead process's socket still arrive), the
 *    client never retrying: the transfers are in the books as raw movements, nothing is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { AccountFlags, TransferFlags } from '../../../ledger/port';
import { transferId } from '../../../ledger/ids';
import { verifyChains } from '../../../projections/src/hash-chain/verify';
import type { Pools } from '../../../core/postgres/pool';
import { liveFeed, reconcileCaughtUp, useLiveBooks } from '../../support/changefeed/live-feed';
import { call, type Harness, withKey } from '../../support/http/harness';

const ROOT = path.resolve(__dirname, '../../..');
let h: Harness;
let pools: Pools;
let kafka: Kafka;
const feed = liveFeed('books');

const books = useLiveBooks(feed, 'test-books');
beforeAll(() => {
  ({ h, pools, kafka } = books());
});

const acc = (name: string) => `${h.run}-${name}`;

async function openAccount(
  name: string,
  type: string,
): Promise<{ ledgerId: string; ledger: number }> {
  const res = await call(h.bridge.url, 'POST', '/api/accounts', {
    accountId: acc(name),
    name,
    holderId: `${h.run}-holder`,
    accountType: type,
    asset: 'USD',
  });
  expect(res.status).toBe(201);
  return { ledgerId: res.body.ledgerId, ledger: res.body.ledger };
}

function journal(id: string, debit: string, credit: string, amount: number) {
  return {
    journalId: acc(id),
    date: '2026-12-03',
    description: `books ${id}`,
    source: 'test/changefeed',
    lines: [
      { accountId: acc(debit), lineType: 'DEBIT', amount, lineNumber: 1 },
      { accountId: acc(credit), lineType: 'CREDIT', amount, lineNumber: 2 },
    ],
  };
}

async function until<T>(what: string, probe: () => Promise<T | null>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the balance read model holds TigerBeetle's totals and flags for these accounts. */
async function feedCaughtUp(ledgerIds: string[]): Promise<void> {
  await until('the change feed to reach the read model', async () => {
    const ledger = await h.bridge.ledger.ledger.lookupAccounts(ledgerIds.map(BigInt));
    const { rows } = await pools.primary.query<Record<string, string>>(
      `SELECT ledger_account_id::text AS id, debits_pending::text AS dp, debits_posted::text AS dpo,
              credits_pending::text AS cp, credits_posted::text AS cpo, flags::text AS flags
         FROM rm_account_balance WHERE ledger_account_id = ANY($1::numeric[])`,
      [ledgerIds],
    );
    const stored = new Map(rows.map((row) => [row.id, row]));
    const same = ledger.every((a) => {
      const row = stored.get(a.id.toString());
      return (
        row !== undefined &&
        row.dp === a.debits_pending.toString() &&
        row.dpo === a.debits_posted.toString() &&
        row.cp === a.credits_pending.toString() &&
        row.cpo === a.credits_posted.toString() &&
        row.flags === String(a.flags)
      );
    });
    return same && ledger.length === ledgerIds.length ? true : null;
  });
}

async function reconcileFrom(timestampMin: bigint) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deps = { config: h.config, db: pools.primary, ledger: h.bridge.ledger.ledger, admin };
    return await reconcileCaughtUp(deps, timestampMin);
  } finally {
    await admin.disconnect();
  }
}

it('an expired hold: expired on read, released in the cache and the read model, reconciled', async () => {
  const bank = await openAccount('x-bank', 'asset');
  const sales = await openAccount('x-sales', 'revenue');
  const hold = { ...journal('x-hold', 'x-bank', 'x-sales', 40), pending: { timeoutSeconds: 1 } };
  const held = await call(h.bridge.url, 'POST', '/api/journal', hold);
  expect(held.status).toBe(201);
  const first = BigInt(held.body.transfers[0].timestamp);
  // Read once while held, so the cache holds the pending amount.
  const before = await call(h.bridge.url, 'GET', `/api/balance/${acc('x-bank')}`);
  expect(before.body.pending.debits).toBe('40');

  const expiredAt = await until('the journal to read expired', async () => {
    const read = await call(h.bridge.url, 'GET', `/api/journal/${acc('x-hold')}`);
    return read.status === 200 && read.body.status === 'expired' ? Date.now() : null;
  });
  // The cache learned it from the feed, not from its 30 s L2 TTL.
  await until(
    'the cached balance to drop the hold',
    async () => {
      const read = await call(h.bridge.url, 'GET', `/api/balance/${acc('x-bank')}`);
      return read.body.pending.debits === '0' ? true : null;
    },
    10_000,
  );
  expect(Date.now() - expiredAt).toBeLessThan(10_000);
  await feedCaughtUp([bank.ledgerId, sales.ledgerId]);
  const report = await reconcileFrom(first);
  expect(report.deferred).toBeNull();
  expect(report.counts).toEqual(Object.fromEntries(Object.keys(report.counts).map((k) => [k, 0])));
}, 90_000);

it('raw transfers, a closing one included: raw statement entries, reconciled', async () => {
  const bank = await openAccount('r-bank', 'asset');
  const sales = await openAccount('r-sales', 'revenue');
  const closing = await openAccount('r-closing', 'asset');
  const base = BigInt(`0x${h.run}`) * 1_000_000n;
  const raw = (id: bigint, debit: string, credit: string, amount: string, flags = 0) => ({
    id: id.toString(),
    debit_account_id: debit,
    credit_account_id: credit,
    amount,
    ledger: bank.ledger,
    code: 900,
    flags,
  });
  const res = await call(h.bridge.url, 'POST', '/api/transfers/batch', {
    transfers: [
      raw(base + 11n, bank.ledgerId, sales.ledgerId, '11'),
      raw(base + 12n, bank.ledgerId, sales.ledgerId, '12'),
      raw(
        base + 13n,
        closing.ledgerId,
        sales.ledgerId,
        '0',
        TransferFlags.pending | TransferFlags.closing_debit,
      ),
    ],
  });
  expect(res.status).toBe(200);
  expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
    'created',
    'created',
    'created',
  ]);
  const [closed] = await h.bridge.ledger.ledger.lookupAccounts([BigInt(closing.ledgerId)]);
  expect(closed!.flags & AccountFlags.closed).toBe(AccountFlags.closed);

  await feedCaughtUp([bank.ledgerId, sales.ledgerId, closing.ledgerId]);
  const statement = await call(h.bridge.url, 'GET', `/api/accounts/${acc('r-bank')}/entries`);
  expect(statement.status).toBe(200);
  expect(statement.body.entries).toMatchObject([
    { kind: 'raw', journalId: null, amount: '11', balance: '11' },
    { kind: 'raw', journalId: null, amount: '12', balance: '23' },
  ]);
  const report = await reconcileFrom(BigInt(res.body.results[0].timestamp));
  expect(report.deferred).toBeNull();
  expect(report.mismatchCount).toBe(0);
  expect(report.transfers.raw).toBe(3);
}, 90_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

it('a bridge killed between the commit and the publish: raw movements, reconciled', async () => {
  const bank = await openAccount('k-bank', 'asset');
  const sales = await openAccount('k-sales', 'revenue');
  const port = await freePort();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, {
    PORT: String(port),
    DATABASE_URL: h.config.DATABASE_URL,
    DATABASE_DIRECT_URL: h.config.DATABASE_DIRECT_URL,
    DATABASE_REPLICA_URLS: '',
    KAFKA_OUTCOMES_TOPIC: h.topic,
    KAFKA_CHANGES_TOPIC: feed.topic,
    BALANCE_FOLLOW_EXPIRIES: 'false',
    BALANCE_CACHE_KEY_PREFIX: h.config.BALANCE_CACHE_KEY_PREFIX,
    BALANCE_INVALIDATION_CHANNEL: h.config.BALANCE_INVALIDATION_CHANNEL,
    // The outcome waits here after the commit: the window the kill lands in.
    KAFKA_LINGER_MS: '120000',
    LOG_LEVEL: 'warn',
  });
  // `node --import tsx` rather than the tsx wrapper: SIGKILL must reach the bridge itself.
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bridge/src/main.ts')],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => logs.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => logs.push(chunk));
  const output = () => Buffer.concat(logs).toString('utf8').slice(-2_000);
  try {
    const url = `http://127.0.0.1:${port}`;
    await until(
      'the child bridge to listen',
      async () => {
        const res = await fetch(`${url}/health`).catch(() => null);
        return res?.ok ? true : null;
      },
      60_000,
    );
    const body = journal('k-lost', 'k-bank', 'k-sales', 25);
    // No answer comes: the bridge holds it until the outcome is published, which never happens.
    let answered = '';
    void fetch(`${url}/api/journal`, {
      method: 'POST',
      headers: withKey({ 'content-type': 'application/json' }),
      body: JSON.stringify(body),
    }).then(
      async (res) => void (answered = `${res.status} ${await res.text()}`),
      () => undefined,
    );
    const id = transferId(body.journalId, 'create', 0);
    const committed = await until('TigerBeetle to commit the journal', async () => {
      if (answered !== '') throw new Error(`the bridge answered: ${answered}; ${output()}`);
      const [transfer] = await h.bridge.ledger.ledger.lookupTransfers([id]);
      return transfer ?? null;
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    await feedCaughtUp([bank.ledgerId, sales.ledgerId]);
    expect((await call(h.bridge.url, 'GET', `/api/journal/${body.journalId}`)).status).toBe(404);
    const report = await reconcileFrom(committed.timestamp);
    expect(report.deferred).toBeNull();
    expect(report.mismatchCount).toBe(0);
    expect(report.transfers.raw).toBeGreaterThanOrEqual(1);
    const verified = await verifyChains(pools.direct, { full: true });
    expect(verified.ok).toBe(true);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 120_000);
