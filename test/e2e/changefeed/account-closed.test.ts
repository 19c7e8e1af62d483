/**
 * Proves that an account's flags in PostgreSQL follow the ledger (issue 15): on the stack's real
 * path — TigerBeetle cluster → `tigerbeetle amqp` → RabbitMQ → relay → Kafka change topic →
 * projection worker — a raw closing transfer (POST /api/transfers/batch, `closing_debit`) closes
 * the account in TigerBeetle, and GET /api/accounts/:accountId, which reads PostgreSQL (the
 * balance read model the change feed keeps), then answers `flags.closed: true`; the void of that
 * transfer, naming no accounts, reopens it there and in the answer. The other account stays open
 * throughout, and the reconciler, which compares the `closed` flag, finds nothing to report.
 */
import type { Kafka } from 'kafkajs';
import { AccountFlags, TransferFlags } from '../../../ledger/port';
import type { Pools } from '../../../core/postgres/pool';
import { liveFeed, reconcileCaughtUp, useLiveBooks } from '../../support/changefeed/live-feed';
import { call, type Harness } from '../../support/http/harness';

let h: Harness;
let pools: Pools;
let kafka: Kafka;
const feed = liveFeed('closed');
/** Longest the feed may take from the ledger to PostgreSQL here (ms). */
const FEED_WAIT_MS = 30_000;

const books = useLiveBooks(feed, 'test-closed');
beforeAll(() => {
  ({ h, pools, kafka } = books());
});

const acc = (name: string) => `${h.run}-${name}`;

async function openAccount(name: string, type: string) {
  const res = await call(h.bridge.url, 'POST', '/api/accounts', {
    accountId: acc(name),
    name,
    holderId: `${h.run}-holder`,
    accountType: type,
    asset: 'USD',
  });
  expect(res.status).toBe(201);
  expect(res.body.flags.closed).toBe(false);
  return { ledgerId: res.body.ledgerId as string, ledger: res.body.ledger as number };
}

/** GET /api/accounts/:accountId's `flags.closed`, polled until it is `wanted`. */
async function closedBecomes(name: string, wanted: boolean): Promise<void> {
  const deadline = Date.now() + FEED_WAIT_MS;
  for (;;) {
    const res = await call(h.bridge.url, 'GET', `/api/accounts/${acc(name)}`);
    expect(res.status).toBe(200);
    if (res.body.flags.closed === wanted) return;
    if (Date.now() > deadline) {
      throw new Error(`${name}: flags.closed still ${res.body.flags.closed}, wanted ${wanted}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ledgerClosed(ledgerId: string): Promise<boolean> {
  const [account] = await h.bridge.ledger.ledger.lookupAccounts([BigInt(ledgerId)]);
  return (account!.flags & AccountFlags.closed) !== 0;
}

async function storedFlags(ledgerId: string): Promise<number | null> {
  const { rows } = await pools.primary.query<{ flags: number }>(
    'SELECT flags FROM rm_account_balance WHERE ledger_account_id = $1::numeric',
    [ledgerId],
  );
  return rows[0]?.flags ?? null;
}

it('a closing transfer closes the account in PostgreSQL and the API; its void reopens it', async () => {
  const closing = await openAccount('c-closing', 'asset');
  const other = await openAccount('c-other', 'revenue');
  const closingId = (BigInt(`0x${h.run}`) * 1_000_000n + 31n).toString();
  const close = await call(h.bridge.url, 'POST', '/api/transfers/batch', {
    transfers: [
      {
        id: closingId,
        debit_account_id: closing.ledgerId,
        credit_account_id: other.ledgerId,
        amount: '0',
        ledger: closing.ledger,
        code: 900,
        flags: TransferFlags.pending | TransferFlags.closing_debit,
      },
    ],
  });
  expect(close.status).toBe(200);
  expect(close.body.results[0].status).toBe('created');
  expect(await ledgerClosed(closing.ledgerId)).toBe(true);

  await closedBecomes('c-closing', true);
  expect((await storedFlags(closing.ledgerId))! & AccountFlags.closed).toBe(AccountFlags.closed);
  await closedBecomes('c-other', false);

  const reopen = await call(h.bridge.url, 'POST', '/api/transfers/batch', {
    transfers: [
      {
        id: (BigInt(closingId) + 1n).toString(),
        debit_account_id: '0',
        credit_account_id: '0',
        amount: '0',
        pending_id: closingId,
        ledger: closing.ledger,
        code: 900,
        flags: TransferFlags.void_pending_transfer,
      },
    ],
  });
  expect(reopen.status).toBe(200);
  expect(reopen.body.results[0].status).toBe('created');
  expect(await ledgerClosed(closing.ledgerId)).toBe(false);

  await closedBecomes('c-closing', false);
  expect((await storedFlags(closing.ledgerId))! & AccountFlags.closed).toBe(0);

  const admin = kafka.admin();
  await admin.connect();
  try {
    const deps = { config: h.config, db: pools.primary, ledger: h.bridge.ledger.ledger, admin };
    const report = await reconcileCaughtUp(deps, BigInt(close.body.results[0].timestamp));
    expect(report.deferred).toBeNull();
    expect(report.mismatchCount).toBe(0);
    expect(report.transfers.raw).toBe(2);
  } finally {
    await admin.disconnect();
  }
}, 120_000);
