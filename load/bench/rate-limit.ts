/**
 * `npm run bench:limiter`: what a rate limit check costs the request it guards. In one run, on one
 * machine, the same closed loop calls three things and times each call:
 *
 * - baseline: no limiter (an async call that returns at once, as the auth hook would without one);
 * - local: RateLimiter without Redis (the in-process buckets, also the fallback while Redis is down);
 * - redis: RateLimiter on the stack's Redis (REDIS_URL; the production path: one EVALSHA per check,
 *   one connection).
 *
 * Each at BENCH_CONCURRENCY callers (each calling again as soon as its last call returned, like
 * requests in flight), for BENCH_SECONDS each after a short warm-up, with the configured rules
 * (RATE_LIMITS) on BENCH_KEYS keys, metrics on (a registry, as in the bridge). Prints calls/s,
 * latency p50/p99 in µs, CPU µs per call of this process and of the Redis server (INFO cpu: other
 * clients of the stack's Redis add to it), and each figure's ratio to the baseline of the same
 * concurrency. `local` is the share of checks the local buckets decided: in the redis mode, checks
 * Redis did not answer within REDIS_COMMAND_TIMEOUT_MS (a loaded machine shows here).
 *
 * Settings (env): BENCH_SECONDS (3), BENCH_CONCURRENCY ("1,64"), BENCH_KEYS (100).
 */
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import { Redis } from 'ioredis';
import { loadConfig } from '../../core/config';
import { parseRateLimitRules, RateLimiter } from '../../bridge/src/access/rate-limit';
import { envInt, envInts } from '../runner/settings';

const SECONDS = envInt('BENCH_SECONDS', 3, 1, 600);
const CONCURRENCY = envInts('BENCH_CONCURRENCY', [1, 64], 1, 10_000);
const KEYS = envInt('BENCH_KEYS', 100, 1, 1_000_000);
const WARM_UP_SECONDS = 0.5;
const SCOPE = 'journals:write';

/** What a check answered: allowed, and where it was decided ('none': no limiter). */
type Call = (keyId: string) => Promise<{ allowed: boolean; source: string }>;

interface Cell {
  mode: string;
  concurrency: number;
  callsPerSecond: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerCall: number;
  allowedShare: number;
  /** Checks decided by the local buckets (in the redis mode: Redis slower than its timeout). */
  localShare: number;
  /** The Redis server's CPU per call (µs). */
  redisCpuUsPerCall: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** `concurrency` callers calling `call` until `seconds` have passed; every call timed. */
async function closedLoop(call: Call, concurrency: number, seconds: number, keyIds: string[]) {
  const latenciesMs: number[] = [];
  let allowed = 0;
  let local = 0;
  const deadline = performance.now() + seconds * 1_000;
  const caller = async (offset: number): Promise<void> => {
    for (let i = offset; performance.now() < deadline; i += concurrency) {
      const started = performance.now();
      const decision = await call(keyIds[i % keyIds.length]!);
      if (decision.allowed) allowed += 1;
      if (decision.source === 'local') local += 1;
      latenciesMs.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => caller(i)));
  return { latenciesMs, allowed, local };
}

/** The Redis server's CPU time so far (s), from INFO cpu. */
async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function measure(
  mode: string,
  call: Call,
  concurrency: number,
  keyIds: string[],
  admin: Redis,
) {
  await closedLoop(call, concurrency, WARM_UP_SECONDS, keyIds);
  const serverCpu = await redisCpuSeconds(admin);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { latenciesMs, allowed, local } = await closedLoop(call, concurrency, SECONDS, keyIds);
  const seconds = (performance.now() - started) / 1_000;
  const used = process.cpuUsage(cpu);
  const serverUsedS = (await redisCpuSeconds(admin)) - serverCpu;
  const sorted = Float64Array.from(latenciesMs).sort();
  const cell: Cell = {
    mode,
    concurrency,
    callsPerSecond: latenciesMs.length / seconds,
    p50Us: percentile(sorted, 50) * 1_000,
    p99Us: percentile(sorted, 99) * 1_000,
    cpuUsPerCall: (used.user + used.system) / latenciesMs.length,
    allowedShare: allowed / Math.max(1, latenciesMs.length),
    localShare: local / Math.max(1, latenciesMs.length),
    redisCpuUsPerCall: (serverUsedS * 1e6) / latenciesMs.length,
  };
  return cell;
}

function row(cell: Cell, base: Cell | undefined): string {
  const ratio = (value: number, of: number | undefined) =>
    of === undefined || of === 0 ? '-' : `${(value / of).toFixed(1)}×`;
  return [
    cell.mode.padEnd(9),
    String(cell.concurrency).padStart(4),
    Math.round(cell.callsPerSecond).toLocaleString('en-US').padStart(11),
    cell.p50Us.toFixed(1).padStart(9),
    cell.p99Us.toFixed(1).padStart(9),
    cell.cpuUsPerCall.toFixed(2).padStart(10),
    cell.redisCpuUsPerCall.toFixed(2).padStart(10),
    `${(cell.allowedShare * 100).toFixed(0)}%`.padStart(8),
    `${(cell.localShare * 100).toFixed(0)}%`.padStart(6),
    ratio(base?.callsPerSecond ?? 0, cell.callsPerSecond).padStart(10),
    ratio(cell.p50Us, base?.p50Us).padStart(9),
    ratio(cell.cpuUsPerCall, base?.cpuUsPerCall).padStart(9),
  ].join(' ');
}

async function main(): Promise<void> {
  const config = loadConfig();
  const rules = parseRateLimitRules(config.RATE_LIMITS);
  const prefix = `${config.RATE_LIMIT_KEY_PREFIX}bench:${process.pid}:`;
  const keyIds = Array.from({ length: KEYS }, (_, i) => `bench${i}`);
  const local = new RateLimiter({ rules, redisUrl: null, registry: new client.Registry() });
  const redis = new RateLimiter({
    rules,
    redisUrl: config.REDIS_URL,
    keyPrefix: prefix,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    registry: new client.Registry(),
  });
  const admin = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  const started = Date.now();
  while (!redis.redisHealthy()) {
    if (Date.now() - started > 5_000) throw new Error(`Redis at ${config.REDIS_URL} not ready`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const allowedByNone = { allowed: true, source: 'none' };
  const modes: Array<[string, Call]> = [
    ['baseline', async () => allowedByNone],
    ['local', (keyId) => local.take(keyId, SCOPE)],
    ['redis', (keyId) => redis.take(keyId, SCOPE)],
  ];
  console.log(
    `rate limiter: ${KEYS} keys, scope ${SCOPE} (${rules[SCOPE]?.ratePerSecond ?? 'default'}/s), ` +
      `${SECONDS} s per cell, Redis ${config.REDIS_URL}`,
  );
  console.log(
    'mode      conc     calls/s    p50 µs    p99 µs  cpu µs/call redis µs/c allowed  local ' +
      'base/this  p50 ×base cpu ×base',
  );
  try {
    for (const concurrency of CONCURRENCY) {
      let base: Cell | undefined;
      for (const [mode, call] of modes) {
        const cell = await measure(mode, call, concurrency, keyIds, admin);
        if (mode === 'baseline') base = cell;
        console.log(row(cell, base));
      }
    }
  } finally {
    await Promise.all([local.close(), redis.close()]);
    await deleteBuckets(admin, prefix);
    admin.disconnect();
  }
}

/** The bench's buckets would expire by themselves within seconds; tidy at once anyway. */
async function deleteBuckets(admin: Redis, prefix: string): Promise<void> {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
