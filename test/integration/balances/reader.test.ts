/**
 * Proves the balance reader against the real TigerBeetle cluster when configured
 * (test/support/ledger.ts), else the embedded engine, with real PostgreSQL account metadata and
 * the real local Redis, with two readers on separate Redis connections standing for two API
 * instances: reads are served by L1, then L2, then the ledger, with their age; a posting on one
 * instance reaches the other's L1 through the invalidation channel within milliseconds; a read
 * carrying the posting's balance token never sees an older balance on either instance, even
 * before (or without) any invalidation; and concurrent misses share one batched, single-flight
 * ledger lookup.
 */
import { Redis } from 'ioredis';
import type { Account } from '../../../ledger/port';
import type { BalanceReader } from '../../../bridge/src/balances/reader';
import {
  createAccount,
  eventually,
  newReader,
  openWorld,
  post,
  type World,
} from '../../support/balances/fixtures';
import { stackSettings } from '../../support/infra/settings';

let world: World;
let a: BalanceReader;
let b: BalanceReader;
let house: bigint;

beforeAll(async () => {
  world = await openWorld('reader');
  house = await createAccount(world, `house-${world.run}`, 'world');
  a = newReader(world, { instanceId: 'a' });
  b = newReader(world, { instanceId: 'b' });
  await Promise.all([a.start(), b.start()]);
  // start() waits 2 s at most; on a loaded CI machine the connections may take longer.
  await eventually(async () => a.redisHealthy() && b.redisHealthy(), 15_000);
}, 30_000);

afterAll(async () => {
  // The ledger is disposed even when set-up failed half way: an open cluster client keeps jest
  // from exiting.
  try {
    await Promise.all([a?.close(), b?.close()]);
  } finally {
    await world?.dispose();
  }
});

test('levels: the ledger first, then L1 on this instance, L2 on the other; age in ms', async () => {
  const id = `levels-${world.run}`;
  const ledgerId = await createAccount(world, id);
  await post(world, house, ledgerId, 500n);
  const first = await a.read(id);
  expect(first.level).toBe('ledger');
  expect(first.view.balance).toBe('500');
  expect(first.ageMs).toBeLessThan(100);
  const again = await a.read(id);
  expect(again.level).toBe('l1');
  expect(again.view.balance).toBe('500');
  // L2 is filled in the background; the other instance finds it there.
  const redis = new Redis(stackSettings.redisUrl);
  try {
    await eventually(async () => (await redis.hget(world.keyPrefix + ledgerId, 'v')) !== null);
  } finally {
    redis.disconnect();
  }
  const other = await b.read(id);
  expect(other.level).toBe('l2');
  expect(other.view).toEqual(first.view);
  expect((await b.read(id)).level).toBe('l1');
});

test('a posting on A reaches B: B stops serving the old balance within milliseconds', async () => {
  const id = `cross-${world.run}`;
  const ledgerId = await createAccount(world, id);
  await post(world, house, ledgerId, 10n);
  expect((await b.read(id)).view.balance).toBe('10');
  expect((await b.read(id)).level).toBe('l1');
  const change = await post(world, house, ledgerId, 5n);
  await a.onPosted(change.ledgerIds, change.ledgerTimestampNs);
  const tookMs = await eventually(async () => (await b.read(id)).view.balance === '15', 2_000);
  expect(tookMs).toBeLessThan(500);
  expect(b.stats().invalidationsReceived).toBeGreaterThan(0);
  // A dropped its own L1 at once (synchronously in onPosted).
  expect((await a.read(id)).view.balance).toBe('15');
});

test('read-your-writes: with the token, never older — even when no invalidation arrives', async () => {
  const id = `ryw-${world.run}`;
  const ledgerId = await createAccount(world, id);
  await post(world, house, ledgerId, 1n);
  // Both instances hold the balance in L1.
  for (const reader of [a, b]) await reader.read(id);
  for (const reader of [a, b]) expect((await reader.read(id)).level).toBe('l1');
  let expected = 1n;
  for (let i = 0; i < 40; i++) {
    const amount = BigInt(1 + (i % 7));
    const change = await post(world, house, ledgerId, amount);
    expected += amount;
    // Every other posting tells nobody (a lost or late invalidation).
    if (i % 2 === 0) void a.onPosted(change.ledgerIds, change.ledgerTimestampNs);
    for (const reader of [b, a]) {
      const read = await reader.read(id, { minAsOfNs: change.ledgerTimestampNs });
      expect(BigInt(read.view.balance)).toBe(expected);
    }
  }
  // Without a token, a value cached before an unannounced posting may still be served from L1.
  const silent = await post(world, house, ledgerId, 100n);
  const untokened = await b.read(id);
  expect(['l1', 'l2', 'ledger']).toContain(untokened.level);
  const tokened = await b.read(id, { minAsOfNs: silent.ledgerTimestampNs });
  expect(BigInt(tokened.view.balance)).toBe(expected + 100n);
});

test('single-flight: 200 concurrent misses of one account, 50 of others: one lookup', async () => {
  const hotId = `sf-hot-${world.run}`;
  const ids = Array.from({ length: 50 }, (_, i) => `sf-${world.run}-${i}`);
  const hot = await createAccount(world, hotId);
  const ledgerIds = [hot];
  for (const id of ids) ledgerIds.push(await createAccount(world, id));
  let calls = 0;
  let idsAsked = 0;
  const counting = {
    lookupAccounts: (wanted: bigint[]): Promise<Account[]> => {
      calls += 1;
      idsAsked += wanted.length;
      return world.ledger.lookupAccounts(wanted);
    },
  };
  const reader = newReader(world, { ledger: counting, instanceId: 'c', redisUrl: null });
  // Learn the subjects (account metadata) first, then drop the balances so every read misses.
  await Promise.all([hotId, ...ids].map((id) => reader.read(id)));
  const change = await post(world, house, hot, 1n);
  await reader.onPosted(ledgerIds, change.ledgerTimestampNs);
  calls = 0;
  idsAsked = 0;
  const results = await Promise.all([
    ...Array.from({ length: 200 }, () => reader.read(hotId)),
    ...ids.map((id) => reader.read(id)),
  ]);
  expect(calls).toBe(1);
  expect(idsAsked).toBe(51);
  expect(results.slice(0, 200).every((r) => r.view.balance === '1')).toBe(true);
  expect(results.every((r) => r.level === 'ledger')).toBe(true);
  // The burst filled L1: the next reads do not reach the ledger.
  await Promise.all(Array.from({ length: 100 }, () => reader.read(hotId)));
  expect(calls).toBe(1);
  await reader.close();
});

test('a token from the future is served by the ledger, never from a cache level', async () => {
  const id = `future-${world.run}`;
  await createAccount(world, id);
  await a.read(id);
  const read = await a.read(id, { minAsOfNs: (1n << 63n) - 1n });
  expect(read.level).toBe('ledger');
});
