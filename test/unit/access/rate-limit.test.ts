/**
 * Proves the rate limiter's parts that need no Redis: RATE_LIMITS text parses to the rules it
 * says (table of good and bad entries, each error naming its entry; fast-check: formatting then
 * parsing gives the same rules), the defaults let the load tests through, the local token
 * bucket's arithmetic on a fake clock (burst, refill, cap, Retry-After exact to the millisecond,
 * also as a property), buckets apart per key and scope, the metrics, and the answer's headers.
 * Leases run against a fake Redis (the script's arithmetic, answers held until released): one
 * fetch in flight per bucket, partial and empty grants, refusals without a call, expiry, fallback,
 * and as a property: every admission spends a granted token, no more than a lease held apart.
 */
import fc from 'fast-check';
import client from 'prom-client';
import { loadConfig } from '../../../core/config';
import {
  formatRateLimitRules,
  parseRateLimitRules,
  type RateLimitDecision,
  rateLimitHeaders,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitRule,
  RateLimitRulesError,
} from '../../../bridge/src/access/rate-limit';
import {
  type BucketState,
  decide,
  grantTokens,
  takeTokens,
} from '../../../bridge/src/access/rate-limit-bucket';
import { leaseTokensFor } from '../../../bridge/src/access/rate-limit-lease';
import type { RateLimitStore } from '../../../bridge/src/access/rate-limit-redis';
import { SCOPES } from '../../../bridge/src/access/scopes';

function rulesErrorOf(run: () => unknown): RateLimitRulesError {
  try {
    run();
  } catch (error) {
    if (error instanceof RateLimitRulesError) return error;
    throw error;
  }
  throw new Error('expected a RateLimitRulesError');
}

/** A local-only limiter on a clock the test moves. */
function localLimiter(
  rules: Record<string, RateLimitRule>,
  extra: { localBucketsMax?: number } = {},
) {
  const clock = { now: 1_000_000, nowMs: () => clock.now };
  const registry = new client.Registry();
  const limiter = new RateLimiter({ rules, redisUrl: null, clock, registry, ...extra });
  return { limiter, clock, registry };
}

describe('parseRateLimitRules', () => {
  it('reads the documented example', () => {
    expect(
      parseRateLimitRules('default=200/s:400,journals:write=1000/s:2000,ledger:raw=50/s:100'),
    ).toEqual({
      default: { ratePerSecond: 200, burst: 400 },
      'journals:write': { ratePerSecond: 1000, burst: 2000 },
      'ledger:raw': { ratePerSecond: 50, burst: 100 },
    });
  });

  it('allows spaces around entries and parts, and decimal rates', () => {
    expect(parseRateLimitRules(' default = 0.5/s : 1 , balances:read=2.25/s:3 ')).toEqual({
      default: { ratePerSecond: 0.5, burst: 1 },
      'balances:read': { ratePerSecond: 2.25, burst: 3 },
    });
  });

  it.each([
    ['default=1/s:1,', '', 'empty entry'],
    ['default=1/s:1,journals:write', 'journals:write', 'must be <scope>=<rate>/s:<burst>'],
    ['default=1/s:1,journals:write=5/s', 'journals:write=5/s', 'must be <scope>=<rate>/s:<burst>'],
    ['default=1/s:1,Journals:write=5/s:5', 'Journals:write=5/s:5', 'scope must be'],
    ['default=1/s:1,=5/s:5', '=5/s:5', 'scope must be'],
    ['default=1/s:1,journals:write=5:5', 'journals:write=5:5', 'rate must be'],
    ['default=1/s:1,journals:write=5/m:5', 'journals:write=5/m:5', 'rate must be'],
    ['default=1/s:1,journals:write=-5/s:5', 'journals:write=-5/s:5', 'rate must be'],
    ['default=1/s:1,journals:write=1e3/s:5', 'journals:write=1e3/s:5', 'rate must be'],
    ['default=0/s:1', 'default=0/s:1', 'rate must be above 0'],
    ['default=2000000000/s:1', 'default=2000000000/s:1', 'rate must be above 0 and at most'],
    ['default=1/s:0', 'default=1/s:0', 'burst must be an integer'],
    ['default=1/s:1.5', 'default=1/s:1.5', 'burst must be an integer'],
    ['default=1/s:x', 'default=1/s:x', 'burst must be an integer'],
    ['default=1/s:1,default=2/s:2', 'default=2/s:2', 'scope listed twice'],
    ['journals:write=5/s:5', 'journals:write=5/s:5', 'lists no "default" rule'],
  ])('%j: refused, naming %j', (text, entry, reason) => {
    const error = rulesErrorOf(() => parseRateLimitRules(text));
    expect(error.code).toBe('rate_limit_rules_invalid');
    expect(error.entry).toBe(entry);
    expect(error.reason).toContain(reason);
    expect(error.message).toContain(`"${entry}"`);
  });

  it('refuses a scope outside the known ones when given them (a typo must not pass)', () => {
    const error = rulesErrorOf(() =>
      parseRateLimitRules('default=1/s:1,journal:write=5/s:5', SCOPES),
    );
    expect(error.entry).toBe('journal:write=5/s:5');
    expect(error.reason).toContain('unknown scope');
    expect(parseRateLimitRules('default=1/s:1,journals:write=5/s:5', SCOPES)).toBeDefined();
  });

  it('reads back what formatRateLimitRules writes (property)', () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
    const scope = fc.tuple(
      word,
      fc.array(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { maxLength: 2 }),
    );
    // Rates as written: an integer scaled by a power of ten (String() keeps them decimal).
    const rule = fc.record({
      ratePerSecond: fc
        .tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 3 }))
        .map(([n, k]) => n / 10 ** k),
      burst: fc.integer({ min: 1, max: 1_000_000_000_000 }),
    });
    const rules = fc
      .tuple(rule, fc.array(fc.tuple(scope, rule), { maxLength: 8 }))
      .map(([fallback, listed]) => {
        const out: Record<string, RateLimitRule> = { default: fallback };
        for (const [[head, tail], r] of listed) out[[head, ...tail].join(':')] = r;
        return out;
      });
    fc.assert(
      fc.property(rules, (r) => {
        const text = formatRateLimitRules(r);
        expect(parseRateLimitRules(text)).toEqual(r);
        expect(formatRateLimitRules(parseRateLimitRules(text))).toBe(text);
      }),
    );
  });
});

describe('configuration', () => {
  it('defaults to rules that let one key carry the load tests, every scope a known one', () => {
    const config = loadConfig({});
    expect(config.RATE_LIMIT_REDIS).toBe(true);
    expect(config.RATE_LIMIT_KEY_PREFIX).toBe('lb:rl:');
    const rules = parseRateLimitRules(config.RATE_LIMITS, SCOPES);
    // load/bench and load/k6 reach ~5,000 journals/s and ~20,000 balance reads/s with one key.
    expect(rules['journals:write']!.ratePerSecond).toBeGreaterThanOrEqual(4 * 5_000);
    expect(rules['balances:read']!.ratePerSecond).toBeGreaterThanOrEqual(2 * 20_000);
    expect(rules.default!.ratePerSecond).toBeGreaterThan(0);
  });

  it('reads the settings from the environment', () => {
    const config = loadConfig({
      RATE_LIMITS: 'default=7/s:9',
      RATE_LIMIT_REDIS: 'false',
      RATE_LIMIT_KEY_PREFIX: 'x:',
    });
    expect([config.RATE_LIMITS, config.RATE_LIMIT_REDIS, config.RATE_LIMIT_KEY_PREFIX]).toEqual([
      'default=7/s:9',
      false,
      'x:',
    ]);
  });
});

describe('local token bucket', () => {
  const rules = { default: { ratePerSecond: 10, burst: 5 } };

  it('serves a full burst at once, then refuses until a token has refilled', async () => {
    const { limiter, clock } = localLimiter(rules);
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await limiter.take('k1', 'journals:write');
      expect(d).toMatchObject({ allowed: true, limit: 5, retryAfterSeconds: 0, source: 'local' });
      remaining.push(d.remaining);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const refused = await limiter.take('k1', 'journals:write');
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 100 });
    expect(refused.retryAfterSeconds).toBe(1);
    clock.now += 99;
    expect((await limiter.take('k1', 'journals:write')).allowed).toBe(false);
    clock.now += 1;
    expect(await limiter.take('k1', 'journals:write')).toMatchObject({
      allowed: true,
      remaining: 0,
    });
  });

  it('refills at the rate and never above the burst; reset is the time to full', async () => {
    const { limiter, clock } = localLimiter(rules);
    for (let i = 0; i < 5; i++) await limiter.take('k1', 's');
    clock.now += 250; // 2.5 tokens
    const d = await limiter.take('k1', 's');
    expect(d).toMatchObject({ allowed: true, remaining: 1, resetSeconds: 1, windowSeconds: 1 });
    clock.now += 60_000;
    expect(await limiter.take('k1', 's')).toMatchObject({ remaining: 4, resetSeconds: 1 });
    const slow = localLimiter({ default: { ratePerSecond: 0.5, burst: 3 } });
    const first = await slow.limiter.take('k1', 's');
    // One token short of full at 0.5/s: 2 s to full, 6 s for an empty bucket.
    expect(first).toMatchObject({ remaining: 2, resetSeconds: 2, windowSeconds: 6 });
  });

  it('answers Retry-After to the millisecond for any rule and cost (property)', () => {
    const arb = fc.record({
      ratePerSecond: fc.double({ min: 0.01, max: 100_000, noNaN: true }),
      burst: fc.integer({ min: 1, max: 10_000 }),
      drain: fc.integer({ min: 0, max: 20_000 }),
      cost: fc.integer({ min: 1, max: 100 }),
    });
    fc.assert(
      fc.property(arb, ({ ratePerSecond, burst, drain, cost }) => {
        const rule = { ratePerSecond, burst };
        const used = Math.min(burst, drain);
        const state = takeTokens(undefined, rule, used, 0).state;
        const want = Math.min(cost, burst);
        const first = takeTokens(state, rule, want, 0);
        fc.pre(!first.allowed);
        // decide() is what the local and the Redis path both answer with.
        const decision = decide(rule, want, false, first.state.tokens, 'local');
        const retryAt = decision.retryAfterMs;
        expect(takeTokens(first.state, rule, want, retryAt - 1).allowed).toBe(false);
        expect(takeTokens(first.state, rule, want, retryAt).allowed).toBe(true);
        expect(decision.retryAfterSeconds).toBe(Math.ceil(decision.retryAfterMs / 1_000));
      }),
    );
  });

  it('takes a full bucket for a cost above the burst (served when full, never forever refused)', async () => {
    const { limiter, clock } = localLimiter(rules);
    expect((await limiter.take('k1', 's', 50)).allowed).toBe(true);
    const refused = await limiter.take('k1', 's', 50);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 500 });
    clock.now += 500;
    expect((await limiter.take('k1', 's', 50)).allowed).toBe(true);
  });

  it('refills nothing when the clock goes back', () => {
    const rule = { ratePerSecond: 10, burst: 5 };
    const empty = takeTokens(undefined, rule, 5, 1_000).state;
    const back = takeTokens(empty, rule, 1, 500);
    expect(back.allowed).toBe(false);
    expect(back.state).toEqual({ tokens: 0, atMs: 1_000 });
    expect(takeTokens(back.state, rule, 1, 1_100).allowed).toBe(true);
  });
});

describe('RateLimiter, local only', () => {
  it('keeps one bucket per key and scope; unlisted scopes get the default rule', async () => {
    const { limiter } = localLimiter({
      default: { ratePerSecond: 1, burst: 1 },
      'journals:write': { ratePerSecond: 1, burst: 3 },
    });
    const take = async (key: string, scope: string) => (await limiter.take(key, scope)).allowed;
    expect([await take('a', 'journals:write'), await take('a', 'journals:write')]).toEqual([
      true,
      true,
    ]);
    expect(await take('b', 'journals:write')).toBe(true);
    expect([await take('a', 'balances:read'), await take('a', 'balances:read')]).toEqual([
      true,
      false,
    ]);
    expect((await limiter.take('a', 'monitor:read')).limit).toBe(1);
    expect((await limiter.take('a', 'journals:write')).limit).toBe(3);
  });

  it('keeps at most localBucketsMax buckets; a dropped one comes back full', async () => {
    const { limiter } = localLimiter(
      { default: { ratePerSecond: 1, burst: 1 } },
      { localBucketsMax: 2 },
    );
    expect((await limiter.take('a', 's')).allowed).toBe(true);
    expect((await limiter.take('a', 's')).allowed).toBe(false);
    await limiter.take('b', 's');
    await limiter.take('c', 's');
    expect((await limiter.take('a', 's')).allowed).toBe(true);
  });

  it('refuses a key id that could alias another bucket, and a cost that is not a count', async () => {
    const { limiter } = localLimiter({ default: { ratePerSecond: 1, burst: 1 } });
    await expect(limiter.take('a:b', 's')).rejects.toThrow(/invariant/);
    await expect(limiter.take('', 's')).rejects.toThrow(/invariant/);
    await expect(limiter.take('a', 's', 0)).rejects.toThrow(/invariant/);
    await expect(limiter.take('a', 's', 1.5)).rejects.toThrow(/invariant/);
  });

  it('refuses rules without a default', () => {
    expect(() => localLimiter({ 'journals:write': { ratePerSecond: 1, burst: 1 } })).toThrow(
      RateLimitRulesError,
    );
  });

  it('counts decisions by scope, outcome and source; redis_up is 0 without Redis', async () => {
    const { limiter, registry } = localLimiter({ default: { ratePerSecond: 1, burst: 2 } });
    for (let i = 0; i < 3; i++) await limiter.take('a', 'journals:write');
    await limiter.take('a', 'balances:read');
    const text = await registry.metrics();
    const line = (labels: string) => `ledger_bridge_rate_limit_decisions_total{${labels}}`;
    expect(text).toContain(`${line('scope="journals:write",outcome="allowed",source="local"')} 2`);
    expect(text).toContain(`${line('scope="journals:write",outcome="refused",source="local"')} 1`);
    expect(text).toContain(`${line('scope="balances:read",outcome="allowed",source="local"')} 1`);
    expect(text).toContain('ledger_bridge_rate_limit_redis_up 0');
    expect(limiter.redisHealthy()).toBe(false);
    await limiter.close();
  });
});

describe('rateLimitHeaders', () => {
  const base: RateLimitDecision = {
    allowed: true,
    limit: 2000,
    remaining: 1999,
    resetSeconds: 1,
    windowSeconds: 2,
    retryAfterSeconds: 0,
    retryAfterMs: 0,
    source: 'redis',
  };

  it('says the limit, what is left, when full again and the policy; no Retry-After', () => {
    expect(rateLimitHeaders(base)).toEqual({
      'ratelimit-limit': '2000',
      'ratelimit-remaining': '1999',
      'ratelimit-reset': '1',
      'ratelimit-policy': '2000;w=2',
    });
  });

  it('adds Retry-After when refused', () => {
    const refused = {
      ...base,
      allowed: false,
      remaining: 0,
      retryAfterSeconds: 3,
      retryAfterMs: 2_001,
    };
    expect(rateLimitHeaders(refused)).toMatchObject({
      'ratelimit-remaining': '0',
      'retry-after': '3',
    });
  });
});

/** Redis as the script computes, on the test's clock; with `hold`, answers wait for release(). */
class FakeRedis implements RateLimitStore {
  healthy = true;
  fail = false;
  hold = false;
  calls: Array<[want: number, need: number]> = [];
  granted = 0;
  inFlightMax = 0;
  readonly buckets = new Map<string, BucketState>();
  private gates: Array<() => void> = [];
  private answered = 0;
  constructor(private readonly clock: { nowMs(): number }) {}
  isHealthy = () => this.healthy;
  async take(bucket: string, rule: RateLimitRule, want: number, need: number) {
    this.calls.push([want, need]);
    this.inFlightMax = Math.max(this.inFlightMax, this.calls.length - this.answered);
    if (this.hold) await new Promise<void>((resolve) => this.gates.push(resolve));
    this.answered += 1;
    if (this.fail) return undefined;
    const taken = grantTokens(this.buckets.get(bucket), rule, want, need, this.clock.nowMs());
    this.buckets.set(bucket, taken.state);
    this.granted += taken.granted;
    return { granted: taken.granted, tokens: taken.state.tokens };
  }
  /** Answers every call held so far, until no check is waiting. */
  async drain(pending: Promise<unknown>): Promise<void> {
    let done = false;
    void pending.finally(() => (done = true));
    while (!done) {
      this.gates.splice(0).forEach((open) => open());
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  close = async () => undefined;
}

/** A limiter on the fake Redis: rule 200/s, burst 100 (a lease of 10 tokens), ttl 1 s. */
function leasedLimiter(extra: Partial<RateLimiterOptions> = {}) {
  const clock = { now: 1_000_000, nowMs: () => clock.now };
  const redis = new FakeRedis(clock);
  const registry = new client.Registry();
  const rules = { default: { ratePerSecond: 200, burst: 100 } };
  // Small caches: the default's 100,000 entries take ~30 ms to allocate, per property run.
  const limiter = new RateLimiter({
    ...{ rules, redisUrl: null, store: redis, clock, registry },
    ...{ leaseTtlMs: 1_000, localBucketsMax: 16, ...extra },
  });
  const metric = async (name: string, labels: string) =>
    Number(
      new RegExp(`^ledger_bridge_rate_limit_${name}\\{${labels}\\} (\\S+)$`, 'm').exec(
        await registry.metrics(),
      )?.[1] ?? 0,
    );
  return { limiter, clock, redis, metric, take: (cost = 1) => limiter.take('k', 's', cost) };
}

describe('leases', () => {
  it.each([
    [{ ratePerSecond: 20_000, burst: 40_000 }, 1_000],
    [{ ratePerSecond: 50_000, burst: 100_000 }, 2_500],
    [{ ratePerSecond: 1_000, burst: 2_000 }, 50],
    [{ ratePerSecond: 1_000_000, burst: 35 }, 3],
    [{ ratePerSecond: 0.01, burst: 10 }, 1],
  ])('%j: a lease of %d tokens (a tenth of the burst, 50 ms of the rate, ≥ 1)', (rule, want) => {
    expect(leaseTokensFor(rule)).toBe(want);
  });

  it('serves a lease with one call; remaining is Redis at its answer plus the lease', async () => {
    const { redis, metric, take } = leasedLimiter();
    const remaining = [];
    for (let i = 0; i < 10; i++) remaining.push((await take()).remaining);
    expect(remaining).toEqual([99, 98, 97, 96, 95, 94, 93, 92, 91, 90]);
    expect(redis.calls).toEqual([[10, 1]]);
    expect((await take()).source).toBe('redis');
    expect(redis.calls).toHaveLength(2);
    expect(await metric('redis_calls_total', 'scope="s",outcome="granted"')).toBe(2);
    expect(await metric('decisions_total', 'scope="s",outcome="allowed",source="redis"')).toBe(11);
  });

  it('keeps one fetch in flight: checks arriving meanwhile wait, then one for all', async () => {
    const { redis, take } = leasedLimiter();
    redis.hold = true;
    const all = Promise.all(Array.from({ length: 64 }, () => take()));
    expect(redis.calls).toEqual([[10, 1]]);
    await redis.drain(all);
    expect((await all).every((d) => d.allowed)).toBe(true);
    // The first lease served 10 of the 64; the second asked for the 54 that waited.
    expect(redis.calls).toEqual([
      [10, 1],
      [54, 1],
    ]);
    expect(redis.inFlightMax).toBe(1);
  });

  it('partial grant: the lease is what was granted, the rest refused by the answer', async () => {
    const { limiter, clock, redis, metric, take } = leasedLimiter();
    redis.buckets.set('lb:rl:k:s', { tokens: 3.5, atMs: clock.now });
    redis.hold = true;
    const all = Promise.all(Array.from({ length: 5 }, () => take()));
    await redis.drain(all);
    const decisions = await all;
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    // Half a token in Redis at 200/s: the next one in 2.5 ms.
    expect(decisions[4]).toMatchObject({ remaining: 0, retryAfterMs: 3, retryAfterSeconds: 1 });
    expect(redis.calls).toHaveLength(1);
    expect(await metric('redis_calls_total', 'scope="s",outcome="partial"')).toBe(1);
    redis.hold = false;
    clock.now += 3;
    expect(await limiter.take('k', 's')).toMatchObject({ allowed: true, source: 'redis' });
  });

  it('empty grant: refused, Retry-After from the answer; refused again with no call', async () => {
    const { clock, redis, take } = leasedLimiter();
    redis.buckets.set('lb:rl:k:s', { tokens: 0.25, atMs: clock.now });
    expect(await take()).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 4 });
    clock.now += 3;
    for (let i = 0; i < 5; i++) expect((await take()).allowed).toBe(false);
    expect(redis.calls).toEqual([[10, 1]]);
    clock.now += 1;
    expect((await take()).allowed).toBe(true);
    expect(redis.calls).toHaveLength(2);
  });

  it('asks for what a costly check lacks, and needs at least that', async () => {
    const { redis, take } = leasedLimiter();
    await take(1);
    expect(await take(15)).toMatchObject({ allowed: true, remaining: 84 });
    expect(redis.calls).toEqual([
      [10, 1],
      [10, 6],
    ]);
  });

  it('drops unused tokens when the lease expires (counted), then fetches again', async () => {
    const { clock, redis, metric, take } = leasedLimiter();
    await take();
    clock.now += 999;
    await take();
    expect(redis.calls).toHaveLength(1);
    clock.now += 1;
    await take();
    expect(redis.calls).toHaveLength(2);
    expect(await metric('lease_tokens_expired_total', 'scope="s"')).toBe(8);
  });

  it('Redis fails: the checks that waited decide locally, after one call', async () => {
    const { redis, metric, take } = leasedLimiter();
    Object.assign(redis, { hold: true, fail: true });
    const all = Promise.all(Array.from({ length: 5 }, () => take()));
    await redis.drain(all);
    expect((await all).map((d) => d.source)).toEqual(Array(5).fill('local'));
    expect(await metric('redis_calls_total', 'scope="s",outcome="failed"')).toBe(1);
    redis.healthy = false;
    expect((await take()).source).toBe('local');
    expect(redis.calls).toHaveLength(1);
  });

  it('without leases: one call per check, all of its cost or nothing', async () => {
    const { redis, take } = leasedLimiter({ leases: false });
    for (let i = 0; i < 3; i++) expect((await take(2)).remaining).toBe(98 - 2 * i);
    expect(redis.calls).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
  });

  it('admits only granted tokens, and holds fewer than a lease apart (property)', async () => {
    const step = fc.record({
      costs: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 30 }),
      waitMs: fc.integer({ min: 0, max: 1_500 }),
      hold: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
        const { clock, redis, metric, take } = leasedLimiter();
        let admitted = 0;
        for (const { costs, waitMs, hold } of steps) {
          redis.hold = hold;
          const all = Promise.all(costs.map((cost) => take(cost)));
          await redis.drain(all);
          for (const [i, d] of (await all).entries()) if (d.allowed) admitted += costs[i]!;
          const expired = await metric('lease_tokens_expired_total', 'scope="s"');
          const held = redis.granted - admitted - expired;
          // Held: under a lease (10) or, after a partial grant, under the largest cost (3).
          expect(held).toBeGreaterThanOrEqual(0);
          expect(held).toBeLessThan(10);
          clock.now += waitMs;
        }
      }),
      { numRuns: 200 },
    );
  });
});
