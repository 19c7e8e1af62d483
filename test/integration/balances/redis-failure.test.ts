/**
 * Proves that Redis is optional at run time for balances, against a redis-server this file starts
 * on a free port of its own (the stack's shared Redis is never touched): with Redis killed, reads
 * and postings go on (L1 + ledger), `redisHealthy()` reports the degradation, and reads stay fast;
 * with Redis hung (SIGSTOP) no read waits longer than the command timeout; when Redis returns,
 * both instances recover by themselves — they drop their L1 (invalidations were missed), replay
 * the invalidations kept during the outage, and receive each other's invalidations again; an
 * instance started while Redis was down works meanwhile and subscribes once Redis is there. The
 * ledger is the real TigerBeetle cluster when configured (test/support/ledger.ts), else the
 * embedded engine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import type { BalanceReader } from '../../../bridge/src/balances/reader';
import {
  createAccount,
  eventually,
  newReader,
  openWorld,
  post,
  type World,
} from '../../support/balances/fixtures';

let world: World;
let port: number;
let redis: ChildProcess | null = null;
let a: BalanceReader;
let b: BalanceReader;
let house: bigint;
/** Each reader gives up on a Redis command after this, then reads the ledger. */
const REDIS_COMMAND_TIMEOUT_MS = 50;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as net.AddressInfo;
      server.close(() => resolve(p));
    });
  });
}

/** redis-server in the foreground, no persistence; as `redis` under root (it is our child). */
async function startRedis(): Promise<void> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', '/tmp');
  const [command, argv] =
    process.getuid?.() === 0
      ? [
          'setpriv',
          ['--reuid=redis', '--regid=redis', '--clear-groups', '/usr/bin/redis-server', ...args],
        ]
      : ['/usr/bin/redis-server', args];
  redis = spawn(command, argv as string[], { stdio: 'ignore' });
  await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => resolve(socket.destroy() === socket));
        socket.once('error', () => resolve(false));
      }),
    10_000,
  );
}

async function killRedis(): Promise<void> {
  const child = redis!;
  redis = null;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

beforeAll(async () => {
  world = await openWorld('redisfail');
  house = await createAccount(world, `house-${world.run}`, 'world');
  port = await freePort();
  await startRedis();
  // A long L1 TTL, so only an invalidation or the recovery's wholesale drop can refresh L1.
  const settings = { l1TtlMs: 60_000, redisCommandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS };
  const redisUrl = `redis://127.0.0.1:${port}`;
  a = newReader(world, { redisUrl, instanceId: 'a', settings });
  b = newReader(world, { redisUrl, instanceId: 'b', settings });
  await Promise.all([a.start(), b.start()]);
});

afterAll(async () => {
  // The ledger is disposed even when set-up failed half way: an open cluster client keeps jest
  // from exiting.
  try {
    await Promise.all([a?.close(), b?.close()]);
    if (redis !== null) {
      redis.kill('SIGCONT');
      await killRedis();
    }
  } finally {
    await world?.dispose();
  }
});

test('Redis killed: reads and postings go on; Redis back: both instances recover', async () => {
  const id = `down-${world.run}`;
  const ledgerId = await createAccount(world, id);
  await post(world, house, ledgerId, 10n);
  expect((await a.read(id)).view.balance).toBe('10');
  expect((await b.read(id)).view.balance).toBe('10');
  expect(a.redisHealthy() && b.redisHealthy()).toBe(true);

  await killRedis();
  await eventually(async () => !a.redisHealthy() && !b.redisHealthy(), 5_000);

  const during = await post(world, house, ledgerId, 5n);
  const told = await timed(() => a.onPosted(during.ledgerIds, during.ledgerTimestampNs));
  expect(told.ms).toBeLessThan(100);
  expect(a.stats().pendingInvalidations).toBe(2);
  const onA = await timed(() => a.read(id));
  expect(onA.value.view.balance).toBe('15');
  expect(onA.ms).toBeLessThan(100);
  // B missed the invalidation: without a token it may serve its L1; with one, never.
  expect((await b.read(id)).view.balance).toBe('10');
  const onB = await timed(() => b.read(id, { minAsOfNs: during.ledgerTimestampNs }));
  expect(onB.value.view.balance).toBe('15');
  expect(onB.value.level).toBe('ledger');
  expect(onB.ms).toBeLessThan(100);

  // A third instance starts while Redis is down: it serves from the ledger and L1 meanwhile.
  const late = newReader(world, {
    redisUrl: `redis://127.0.0.1:${port}`,
    instanceId: 'late',
    settings: { l1TtlMs: 60_000, redisCommandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS },
  });
  await late.start(200);
  expect(late.redisHealthy()).toBe(false);
  expect((await late.read(id)).view.balance).toBe('15');

  await startRedis();
  await eventually(async () => a.redisHealthy() && b.redisHealthy(), 10_000);
  await eventually(async () => late.redisHealthy(), 10_000);
  expect(b.stats().redisRecoveries).toBeGreaterThanOrEqual(1);
  // Recovery dropped B's L1 wholesale and A replayed what it kept.
  expect((await b.read(id)).view.balance).toBe('15');
  await eventually(async () => a.stats().pendingInvalidations === 0, 5_000);

  // Re-subscribed: invalidations flow between the instances again. A's replay reaches B over
  // pub/sub at its own pace and drops the entry B read before it (B cannot prove that entry
  // newer than the replayed write), so B serves from L1 again once it has heard it.
  await eventually(async () => (await b.read(id)).level === 'l1', 2_000);
  await late.read(id);
  expect((await late.read(id)).level).toBe('l1');
  const after = await post(world, house, ledgerId, 1n);
  await a.onPosted(after.ledgerIds, after.ledgerTimestampNs);
  await eventually(async () => (await b.read(id)).view.balance === '16', 2_000);
  // The late instance subscribed once Redis came (its first SUBSCRIBE had failed).
  await eventually(async () => (await late.read(id)).view.balance === '16', 2_000);
  await late.close();
});

test('Redis hung (SIGSTOP): no read waits past the command timeout; recovers on SIGCONT', async () => {
  const id = `hung-${world.run}`;
  const ledgerId = await createAccount(world, id);
  await post(world, house, ledgerId, 7n);
  await a.read(id);
  redis!.kill('SIGSTOP');
  try {
    // What a read waits beyond the ledger's own answer, measured against a direct lookup in the
    // same iteration: on a loaded machine the ledger's time varies; the wait on Redis must not.
    let slowestBeyondLedgerMs = 0;
    for (let i = 0; i < 20; i++) {
      const change = await post(world, house, ledgerId, 1n);
      // onPosted drops L1 at once, so the next read must look past it: to L2 (hung), then L3.
      void a.onPosted(change.ledgerIds, change.ledgerTimestampNs);
      const read = await timed(() => a.read(id));
      expect(read.value.view.balance).toBe(String(8 + i));
      const direct = await timed(() => world.ledger.lookupAccounts([ledgerId]));
      slowestBeyondLedgerMs = Math.max(slowestBeyondLedgerMs, read.ms - direct.ms);
    }
    expect(slowestBeyondLedgerMs).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 50);
    expect(a.redisHealthy()).toBe(false);
  } finally {
    redis!.kill('SIGCONT');
  }
  await eventually(async () => a.redisHealthy(), 10_000);
  expect((await a.read(id)).view.balance).toBe('27');
});
