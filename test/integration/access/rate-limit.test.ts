/**
 * Proves the rate limiter against real Redis: two limiters (two bridge instances) sharing a bucket
 * admit exactly its burst together when their checks race, with or without leases (a rule this
 * small leases one token); with leases of 5, a bucket that refills while both hold leases admits
 * the burst plus what the leases held (8: under the documented N × lease) and then refuses; a
 * lease serves a thousand checks per Redis call; the bucket refills on Redis's clock and vanishes
 * when full (PEXPIRE). Against a redis-server this file starts on a
 * port of its own (the stack's Redis is never disturbed): nothing listening means local buckets
 * at once, still limiting; a hung Redis (SIGSTOP) costs a check at most the command timeout, then
 * is skipped; a killed one likewise; and the limiter goes back to Redis by itself when it returns.
 * Bucket keys carry a run-unique prefix (Redis outlives test runs) and are deleted at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { loadConfig } from '../../../core/config';
import client from 'prom-client';
import {
  leaseTokensFor,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitRule,
} from '../../../bridge/src/access/rate-limit';

const RUN = `lb:rl:test:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
const STACK_REDIS_URL = loadConfig().REDIS_URL;
const COMMAND_TIMEOUT_MS = 50;
/** Slack for a loaded test machine on top of the command timeout (ms). */
const SLACK_MS = 100;
/** For the tests of sharing, not of timeouts: a loaded test machine must not fall back (ms). */
const PATIENT = { commandTimeoutMs: 2_000 };
/** Ten tokens and almost no refill during a test: counts are exact. */
const TEN: RateLimitRule = { ratePerSecond: 0.01, burst: 10 };

const limiters: RateLimiter[] = [];
let admin: Redis;

function limiter(redisUrl: string, rules: Record<string, RateLimitRule>, extra = {}) {
  const options: RateLimiterOptions = {
    rules,
    redisUrl,
    keyPrefix: RUN,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    connectTimeoutMs: 500,
    redisProbeMs: 50,
    ...extra,
  };
  const made = new RateLimiter(options);
  limiters.push(made);
  return made;
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

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

/** redis-server in the foreground, no persistence; as `redis` under root (it is our child). */
async function startRedis(port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', '/tmp');
  const [command, argv] =
    process.getuid?.() === 0
      ? ['setpriv', ['--reuid=redis', '--regid=redis', '--clear-groups', '/usr/bin/redis-server']]
      : ['/usr/bin/redis-server', []];
  const child = spawn(command, [...argv, ...args], { stdio: 'ignore' });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  await eventually(
    () =>
      probe.ping().then(
        () => true,
        () => false,
      ),
    10_000,
  );
  probe.disconnect();
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT');
  child.kill('SIGKILL');
  await exited;
}

beforeAll(() => {
  admin = new Redis(STACK_REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  const keys = await admin.keys(`${RUN}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
});

describe.each([
  ['leases', {}],
  ['a call per check', { leases: false }],
])('shared in Redis, %s', (_, mode) => {
  it('two instances admit exactly the burst together, even racing', async () => {
    expect(leaseTokensFor(TEN)).toBe(1);
    const a = limiter(STACK_REDIS_URL, { default: TEN }, { ...PATIENT, ...mode });
    const b = limiter(STACK_REDIS_URL, { default: TEN }, { ...PATIENT, ...mode });
    await eventually(() => a.redisHealthy() && b.redisHealthy());
    const key = `k1${Object.keys(mode).length}`;
    const takes = Array.from({ length: 24 }, (_, i) =>
      (i % 2 === 0 ? a : b).take(key, 'journals:write'),
    );
    const decisions = await Promise.all(takes);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(new Set(decisions.map((d) => d.source))).toEqual(new Set(['redis']));
    expect(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((x, y) => x - y),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // One token at 0.01/s: 100 s away, whichever instance is asked.
    const next = await b.take(key, 'journals:write');
    expect(next).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 100 });
    // Another key and another scope have buckets of their own.
    expect((await a.take(`${key}x`, 'journals:write')).allowed).toBe(true);
    expect((await a.take(key, 'balances:read')).allowed).toBe(true);
  });
});

describe('shared in Redis', () => {
  it('leases: a bucket refilled while leases are held admits burst + what they hold', async () => {
    const rule = { ratePerSecond: 0.01, burst: 20 };
    const options = { ...PATIENT, leaseTokens: () => 5 };
    const a = limiter(STACK_REDIS_URL, { default: rule }, options);
    const b = limiter(STACK_REDIS_URL, { default: rule }, options);
    await eventually(() => a.redisHealthy() && b.redisHealthy());
    await Promise.all([a.take('k8', 's'), b.take('k8', 's')]);
    // A missing bucket is a full one: the refill of 1,000 s at once, both leases still held (4).
    await admin.del(`${RUN}k8:s`);
    const takes = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).take('k8', 's'));
    const admitted = (await Promise.all(takes)).filter((d) => d.allowed).length;
    // Beyond the burst: N × (lease − 1) = 8, within the documented N × lease = 10.
    expect(admitted).toBe(20 + 2 * 4);
    const after = await Promise.all([a.take('k8', 's'), b.take('k8', 's')]);
    expect(after.map((d) => [d.allowed, d.retryAfterSeconds])).toEqual([
      [false, 100],
      [false, 100],
    ]);
  });

  it('leases: a thousand checks per Redis call at the default journal rule', async () => {
    const registry = new client.Registry();
    const rule = { ratePerSecond: 20_000, burst: 40_000 };
    const a = limiter(STACK_REDIS_URL, { default: rule }, { ...PATIENT, registry });
    await eventually(() => a.redisHealthy());
    const first = await Promise.all(Array.from({ length: 500 }, () => a.take('k9', 's')));
    for (let i = 0; i < 1_500; i++) await a.take('k9', 's');
    expect(first.every((d) => d.allowed && d.source === 'redis')).toBe(true);
    const text = await registry.metrics();
    // 500 at once wait for one lease of 1,000; 1,500 one by one spend it and one more.
    expect(text).toMatch(/rate_limit_redis_calls_total\{scope="s",outcome="granted"\} 2$/m);
    expect(text).toMatch(
      /rate_limit_decisions_total\{scope="s",outcome="allowed",source="redis"\} 2000$/m,
    );
  });

  it('keeps the bucket at <prefix><keyId>:<scope>, expiring when it would be full again', async () => {
    const a = limiter(STACK_REDIS_URL, { default: { ratePerSecond: 100, burst: 50 } }, PATIENT);
    await eventually(() => a.redisHealthy());
    for (let i = 0; i < 20; i++) await a.take('k3', 'holds:write');
    const key = `${RUN}k3:holds:write`;
    const ttlMs = await admin.pttl(key);
    // 20 tokens short at 100/s: full in ~200 ms.
    expect(ttlMs).toBeGreaterThan(100);
    expect(ttlMs).toBeLessThanOrEqual(201);
    expect(Number(await admin.hget(key, 'tokens'))).toBeGreaterThanOrEqual(30);
    await eventually(async () => (await admin.exists(key)) === 0, 2_000);
    expect((await a.take('k3', 'holds:write')).remaining).toBe(49);
  });

  it("refills on Redis's clock: a retry after retryAfterMs is served", async () => {
    const a = limiter(STACK_REDIS_URL, { default: { ratePerSecond: 50, burst: 1 } }, PATIENT);
    await eventually(() => a.redisHealthy());
    expect((await a.take('k4', 's')).allowed).toBe(true);
    const refused = await a.take('k4', 's');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(20);
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 2));
    expect(await a.take('k4', 's')).toMatchObject({ allowed: true, source: 'redis' });
  });
});

describe('Redis trouble: per-instance limits within the command timeout, then back', () => {
  let port: number;
  let redis: ChildProcess | null = null;

  beforeAll(async () => {
    port = await freePort();
  });

  afterAll(async () => {
    if (redis !== null) await stopRedis(redis);
  });

  it('nothing listening: local decisions at once, still limiting; Redis arrives: shared', async () => {
    const a = limiter(`redis://127.0.0.1:${port}`, { default: TEN });
    const decisions = [];
    for (let i = 0; i < 12; i++) {
      const { value, ms } = await timed(() => a.take('k5', 's'));
      expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
      decisions.push(value);
    }
    expect(decisions.map((d) => d.source)).toEqual(Array(12).fill('local'));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);

    redis = await startRedis(port);
    await eventually(() => a.redisHealthy(), 10_000);
    expect(await a.take('k5', 's')).toMatchObject({ allowed: true, source: 'redis' });
  });

  it('hung (SIGSTOP): no check waits past the timeout, then Redis is skipped; SIGCONT: back', async () => {
    const a = limiter(`redis://127.0.0.1:${port}`, { default: TEN });
    await eventually(() => a.redisHealthy(), 10_000);
    expect((await a.take('k6', 's')).source).toBe('redis');
    redis!.kill('SIGSTOP');
    try {
      const slowest: number[] = [];
      const decisions = [];
      for (let i = 0; i < 12; i++) {
        const { value, ms } = await timed(() => a.take('k6', 's'));
        slowest.push(ms);
        decisions.push(value);
        // Three timeouts in a row and Redis is skipped: later checks do not wait at all.
        if (i === 2) expect(a.redisHealthy()).toBe(false);
      }
      expect(Math.max(...slowest)).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
      expect(Math.max(...slowest.slice(3))).toBeLessThan(COMMAND_TIMEOUT_MS);
      expect(decisions.every((d) => d.source === 'local')).toBe(true);
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      expect(a.redisHealthy()).toBe(false);
    } finally {
      redis!.kill('SIGCONT');
    }
    await eventually(() => a.redisHealthy(), 10_000);
    expect((await a.take('k6', 's')).source).toBe('redis');
  });

  it('killed: local at once; restarted: shared again', async () => {
    const a = limiter(`redis://127.0.0.1:${port}`, { default: TEN });
    await eventually(() => a.redisHealthy(), 10_000);
    await stopRedis(redis!);
    redis = null;
    await eventually(() => !a.redisHealthy(), 5_000);
    const { value, ms } = await timed(() => a.take('k7', 's'));
    expect(value).toMatchObject({ allowed: true, source: 'local' });
    expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS);
    redis = await startRedis(port);
    await eventually(() => a.redisHealthy(), 10_000);
    expect((await a.take('k7', 's')).source).toBe('redis');
  });
});
