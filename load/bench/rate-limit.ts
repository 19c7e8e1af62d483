/**
 * `npm run bench:limiter`: what a rate limit check costs the request it guards. In one run, on one
 * machine, the same closed loop calls four things and times each call:
 *
 * - baseline: no limiter (an async call that returns at once, as the auth hook would without one);
 * - local: RateLimiter without Redis (the in-process buckets, the fallback while Redis is down);
 * - redis: RateLimiter on the stack's Redis (REDIS_URL) with `leases: false`: one EVALSHA per check
 *   (RATE_LIMIT_LEASES=false);
 * - leased: the same with leases (the default): one EVALSHA per lease;
 * - access: the whole access check of a request (bearer key parsed, found in the key cache,
 *   its secret hashed and compared in constant time, the scope checked) before the leased limiter.
 *
 * Each at BENCH_CONCURRENCY callers (each calling again as soon as its last call returned, like
 * requests in flight) on BENCH_KEYS keys, for BENCH_SECONDS each after a short warm-up, metrics on
 * (a registry, as in the bridge). The rule is raised so that no check is refused (a refused check
 * asks Redis nothing while its bucket is known empty, which would flatter leases), with leases of
 * the size the configured journals:write rule gets (1,000 tokens by default); BENCH_RULES sets
 * rules instead (RATE_LIMITS syntax, leases sized by leaseTokensFor). Prints calls/s, latency
 * p50/p99 in µs, CPU µs per call of this process and of the Redis server (INFO cpu: other clients
 * of the stack's Redis add to it), Redis calls per 1,000 checks, the shares allowed and decided
 * locally (in the Redis modes: Redis slower than REDIS_COMMAND_TIMEOUT_MS), and ratios: calls/s
 * and CPU to the baseline of the same cell, calls/s to redis's.
 *
 * Settings (env): BENCH_SECONDS (3), BENCH_CONCURRENCY ("1,64"), BENCH_KEYS ("1,100"),
 * BENCH_RULES (unset).
 */
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import { Redis } from 'ioredis';
import { loadConfig } from '../../core/config';
import {
  leaseTokensFor,
  parseRateLimitRules,
  RateLimiter,
  type RateLimiterOptions,
} from '../../bridge/src/access/rate-limit';
import { envInt, envInts } from '../runner/settings';
import type http from 'node:http';
import { generateKey } from '../../bridge/src/access/api-key';
import { accessCheck, limitedBy } from '../../bridge/src/access/authorize';
import { KeyCache } from '../../bridge/src/access/key-cache';
import type { Queryable } from '../../core/postgres/pool';

const SECONDS = envInt('BENCH_SECONDS', 3, 1, 600);
const CONCURRENCY = envInts('BENCH_CONCURRENCY', [1, 64], 1, 10_000);
const KEYS = envInts('BENCH_KEYS', [1, 100], 1, 1_000_000);
const WARM_UP_SECONDS = 0.5;
/** The event loop turns at least this often (ms), as a busy server's does between requests. */
const TURN_MS = 1;
const SCOPE = 'journals:write';
/** No bench reaches a billion checks a second: nothing is refused. */
const UNREFUSED = 'default=1000000000/s:1000000000';

/** What a check answered: allowed, and where it was decided ('none': no limiter). */
type Call = (keyId: string) => Promise<{ allowed: boolean; source: string }>;

/** A mode: its call, and the registry of its limiter's metrics (none: no limiter). */
interface Mode {
  name: string;
  call: Call;
  registry?: client.Registry;
}

interface Cell {
  mode: string;
  keys: number;
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
  /** The limiter's Redis calls per 1,000 checks. */
  redisCallsPerK: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/**
 * `concurrency` callers calling `call` until `seconds` have passed; every call timed. Checks that
 * need no I/O (local, leased) resolve as microtasks, so callers alone would never let the event
 * loop turn: Redis replies, command timeouts and health probes would wait for the cell's end.
 * A server turns it between requests; here every caller waits at a gate that opens after one
 * turn (setImmediate), at least every TURN_MS.
 */
async function closedLoop(call: Call, concurrency: number, seconds: number, keyIds: string[]) {
  const latenciesMs: number[] = [];
  let allowed = 0;
  let local = 0;
  let gate: Promise<void> | null = null;
  let turnAtMs = performance.now() + TURN_MS;
  const deadline = performance.now() + seconds * 1_000;
  const caller = async (offset: number): Promise<void> => {
    for (let i = offset; performance.now() < deadline; i += concurrency) {
      if (gate !== null) await gate;
      const started = performance.now();
      const decision = await call(keyIds[i % keyIds.length]!);
      const ended = performance.now();
      if (decision.allowed) allowed += 1;
      if (decision.source === 'local') local += 1;
      latenciesMs.push(ended - started);
      if (ended >= turnAtMs && gate === null) {
        turnAtMs = ended + TURN_MS;
        gate = new Promise((resolve) => {
          setImmediate(() => {
            gate = null;
            resolve();
          });
        });
      }
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

/** The limiter's Redis calls so far, from its metrics. */
async function redisCalls(registry: client.Registry | undefined): Promise<number> {
  const metric = await registry
    ?.getSingleMetric('ledger_bridge_rate_limit_redis_calls_total')
    ?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

async function measure(mode: Mode, concurrency: number, keyIds: string[], admin: Redis) {
  await closedLoop(mode.call, concurrency, WARM_UP_SECONDS, keyIds);
  const serverCpu = await redisCpuSeconds(admin);
  const callsBefore = await redisCalls(mode.registry);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const loop = await closedLoop(mode.call, concurrency, SECONDS, keyIds);
  const seconds = (performance.now() - started) / 1_000;
  const used = process.cpuUsage(cpu);
  const serverUsedS = (await redisCpuSeconds(admin)) - serverCpu;
  const calls = (await redisCalls(mode.registry)) - callsBefore;
  const { latenciesMs, allowed, local } = loop;
  const sorted = Float64Array.from(latenciesMs).sort();
  const cell: Cell = {
    mode: mode.name,
    keys: keyIds.length,
    concurrency,
    callsPerSecond: latenciesMs.length / seconds,
    p50Us: percentile(sorted, 50) * 1_000,
    p99Us: percentile(sorted, 99) * 1_000,
    cpuUsPerCall: (used.user + used.system) / latenciesMs.length,
    allowedShare: allowed / Math.max(1, latenciesMs.length),
    localShare: local / Math.max(1, latenciesMs.length),
    redisCpuUsPerCall: (serverUsedS * 1e6) / latenciesMs.length,
    redisCallsPerK: (calls * 1_000) / Math.max(1, latenciesMs.length),
  };
  return cell;
}

const HEADER =
  'mode      keys conc     calls/s    p50 µs    p99 µs cpu µs/call redis µs/c calls/1k ' +
  'allowed  local  calls×base cpu×base calls×redis';

function row(cell: Cell, base: Cell | undefined, redis: Cell | undefined): string {
  const ratio = (value: number, of: number | undefined) =>
    of === undefined || of === 0 ? '-' : `${(value / of).toFixed(2)}×`;
  return [
    cell.mode.padEnd(9),
    String(cell.keys).padStart(4),
    String(cell.concurrency).padStart(4),
    Math.round(cell.callsPerSecond).toLocaleString('en-US').padStart(11),
    cell.p50Us.toFixed(1).padStart(9),
    cell.p99Us.toFixed(1).padStart(9),
    cell.cpuUsPerCall.toFixed(2).padStart(11),
    cell.redisCpuUsPerCall.toFixed(2).padStart(10),
    cell.redisCallsPerK.toFixed(2).padStart(8),
    `${(cell.allowedShare * 100).toFixed(0)}%`.padStart(7),
    `${(cell.localShare * 100).toFixed(0)}%`.padStart(6),
    ratio(cell.callsPerSecond, base?.callsPerSecond).padStart(11),
    ratio(cell.cpuUsPerCall, base?.cpuUsPerCall).padStart(8),
    ratio(cell.callsPerSecond, redis?.callsPerSecond).padStart(11),
  ].join(' ');
}

function callOf(limiter: RateLimiter): Call {
  return (keyId) => limiter.take(keyId, SCOPE);
}

/**
 * The whole access check a request runs behind (bridge/src/access/authorize.ts): the bearer
 * header parsed, the key found in the cache (a hit: the database is asked once per key), its
 * secret hashed and compared, the scope checked, then the leased limiter.
 */
function accessCallOf(limiter: RateLimiter): Call {
  const records = new Map<string, unknown>();
  const requests = new Map<string, http.IncomingMessage>();
  const db = {
    query: async (_text: string, values?: unknown[]) => ({
      rows: [records.get(String(values![0]))],
    }),
  } as unknown as Queryable;
  const keys = new KeyCache({ db, ttlMs: 3_600_000, staleMaxMs: 0, entriesMax: 1_000_000 });
  const check = accessCheck({ keys, limiter: limitedBy(limiter) });
  const res = { setHeader: () => undefined } as unknown as http.ServerResponse;
  const allowed = { allowed: true, source: 'redis' };
  return async (keyId) => {
    let req = requests.get(keyId);
    if (req === undefined) {
      const key = generateKey();
      records.set(key.id, {
        id: key.id,
        name: keyId,
        secret_sha256: key.secretSha256,
        scopes: [SCOPE],
        assets: null,
        holders: null,
        created_at: new Date(),
        expires_at: null,
        revoked_at: null,
        replaced_by: null,
      });
      req = { headers: { authorization: `Bearer ${key.text}` } } as http.IncomingMessage;
      requests.set(keyId, req);
    }
    await check(req, res, SCOPE);
    return allowed;
  };
}

/** The four modes; the Redis ones on `prefix`, leases as the configured journal rule's. */
function modesOf(
  config: ReturnType<typeof loadConfig>,
  prefix: string,
): { modes: Mode[]; limiters: RateLimiter[]; describe: string } {
  const custom = process.env.BENCH_RULES;
  const rules = parseRateLimitRules(custom ?? UNREFUSED);
  const journalRule = parseRateLimitRules(config.RATE_LIMITS)[SCOPE]!;
  const leaseTokens = custom === undefined ? () => leaseTokensFor(journalRule) : leaseTokensFor;
  const redisMode = (name: string, extra: Partial<RateLimiterOptions>) => {
    const registry = new client.Registry();
    const limiter = new RateLimiter({
      rules,
      redisUrl: config.REDIS_URL,
      keyPrefix: prefix,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
      registry,
      ...extra,
    });
    return { limiter, mode: { name, call: callOf(limiter), registry } };
  };
  const local = new RateLimiter({ rules, redisUrl: null, registry: new client.Registry() });
  const perCall = redisMode('redis', { leases: false });
  const leased = redisMode('leased', { leaseTokens });
  const allowedByNone = { allowed: true, source: 'none' };
  return {
    modes: [
      { name: 'baseline', call: async () => allowedByNone },
      { name: 'local', call: callOf(local) },
      perCall.mode,
      leased.mode,
      { name: 'access', call: accessCallOf(leased.limiter), registry: leased.mode.registry },
    ],
    limiters: [local, perCall.limiter, leased.limiter],
    describe: custom === undefined ? `leases of ${leaseTokensFor(journalRule)}` : custom,
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const prefix = `${config.RATE_LIMIT_KEY_PREFIX}bench:${process.pid}:`;
  const { modes, limiters, describe } = modesOf(config, prefix);
  const admin = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  const started = Date.now();
  while (!limiters.slice(1).every((l) => l.redisHealthy())) {
    if (Date.now() - started > 5_000) throw new Error(`Redis at ${config.REDIS_URL} not ready`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log(
    `rate limiter: scope ${SCOPE}, ${describe}, ${SECONDS} s per cell, Redis ${config.REDIS_URL}`,
  );
  console.log(HEADER);
  try {
    for (const keys of KEYS) {
      const keyIds = Array.from({ length: keys }, (_, i) => `bench${keys}k${i}`);
      for (const concurrency of CONCURRENCY) {
        const cells = new Map<string, Cell>();
        for (const mode of modes) {
          const cell = await measure(mode, concurrency, keyIds, admin);
          cells.set(mode.name, cell);
          console.log(row(cell, cells.get('baseline'), cells.get('redis')));
        }
      }
    }
  } finally {
    await Promise.all(limiters.map((l) => l.close()));
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
