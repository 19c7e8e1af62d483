/**
 * Per-key rate limits: the auth hook calls `take(keyId, scope)` once per authenticated request,
 * after the key is known and before the route runs, and answers 429 with `rateLimitHeaders` when
 * the decision refuses (the headers go on every answer, allowed or not).
 *
 * Each (key, scope) pair has a token bucket (rules per scope, rate-limit-rules.ts). The buckets
 * live in Redis, so the limits hold across bridge instances. Each instance takes tokens from them
 * in leases and serves checks from its lease (rate-limit-lease.ts: one Redis call per lease, not
 * per check; N instances admit at most N × lease beyond the bucket); `leases: false` asks Redis
 * on every check (exact, and ~20,000 checks/s at most on 2 cores). When Redis is unreachable or
 * slow a check waits on it at most two command timeouts (the fetch it joined, then its own): it
 * falls back to a bucket in this process, so the API keeps limiting (each instance on its own: N
 * instances admit up to N times the rule) instead of failing or admitting everything, and goes
 * back to Redis when Redis answers again.
 */
import client from 'prom-client';
import { assert } from '../../../core/assert';
import type { Config } from '../../../core/config';
import type { Logger } from '../../../core/logger';
import {
  LocalBuckets,
  monotonicClock,
  decide,
  type RateLimitClock,
  type RateLimitDecision,
  type RateLimitSource,
} from './rate-limit-bucket';
import { LeasedBuckets, leaseTokensFor, type RedisCallOutcome } from './rate-limit-lease';
import { RateLimitRedis, type RateLimitStore } from './rate-limit-redis';
import { SCOPES } from './scopes';
import {
  DEFAULT_SCOPE,
  parseRateLimitRules,
  type RateLimitRule,
  RateLimitRulesError,
  ruleFor,
} from './rate-limit-rules';

export type { RateLimitClock, RateLimitDecision, RateLimitRule, RateLimitSource, RateLimitStore };
export { leaseTokensFor } from './rate-limit-lease';
export {
  DEFAULT_SCOPE,
  formatRateLimitRules,
  parseRateLimitRules,
  RateLimitRulesError,
} from './rate-limit-rules';

export interface RateLimiterOptions {
  /** Rules per scope, `default` required (parseRateLimitRules). */
  rules: Readonly<Record<string, RateLimitRule>>;
  /** The Redis every instance shares; null: buckets in this process only. */
  redisUrl: string | null;
  /** A stand-in for that Redis (unit tests); redisUrl is then not used. */
  store?: RateLimitStore;
  /** Tokens taken from Redis in leases (default), or a call per check (exact across instances). */
  leases?: boolean;
  /** Tokens a lease asks for (leaseTokensFor by default). */
  leaseTokens?: (rule: RateLimitRule) => number;
  /** How long leased tokens stay usable before they are dropped (ms). */
  leaseTtlMs?: number;
  /** Redis keys are `<keyPrefix><keyId>:<scope>`. */
  keyPrefix?: string;
  /** Longest a check waits on Redis before the local bucket decides (ms). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Consecutive Redis failures after which Redis is skipped until a probe answers. */
  redisFailuresMax?: number;
  /** Probe period while Redis is skipped (ms). */
  redisProbeMs?: number;
  /** Local buckets, and leases, kept at most (least recently used dropped). */
  localBucketsMax?: number;
  /** Where the limiter's metrics go (the bridge's registry); none: not measured. */
  registry?: client.Registry;
  /** The local buckets' clock (monotonic by default; a fake one in tests). */
  clock?: RateLimitClock;
  logger?: Logger;
}

/**
 * The bridge's metric prefix (monitor/metrics.ts METRIC_PREFIX), written out: monitor imports
 * feature rooms (journal, http), which will ask access who is calling, so importing monitor here
 * would risk a cycle.
 */
const METRIC_PREFIX = 'ledger_bridge_';
/** Redis answers in well under a millisecond on a LAN; 50 ms means it is in trouble (ms). */
const COMMAND_TIMEOUT_MS = 50;
const CONNECT_TIMEOUT_MS = 1_000;
/** Three in a row: one slow answer is noise, three are an outage. */
const REDIS_FAILURES_MAX = 3;
/** Half a second of per-instance limits at most after Redis answers again (ms). */
const REDIS_PROBE_MS = 500;
/** ~260 bytes each (measured): 26 MB at most, more active (key, scope) pairs than we expect. */
const LOCAL_BUCKETS_MAX = 100_000;
/**
 * A second: a key near its limit spends a lease (50 ms of its rate) well within it on up to ~20
 * instances, and an idle instance gives up its tokens before a client's retry would notice.
 */
const LEASE_TTL_MS = 1_000;

interface LimiterMetrics {
  decisions: client.Counter<'scope' | 'outcome' | 'source'>;
  redisCalls: client.Counter<'scope' | 'outcome'>;
  expiredTokens: client.Counter<'scope'>;
}

export class RateLimiter {
  private readonly rules: Readonly<Record<string, RateLimitRule>>;
  private readonly keyPrefix: string;
  private readonly local: LocalBuckets;
  private readonly redis: RateLimitStore | null;
  /** Null: one Redis call per check. */
  private readonly leased: LeasedBuckets | null;
  private readonly metrics: LimiterMetrics | null;
  /** The decisions counter's series by `<scope> <outcome> <source>` (scopes: a closed set). */
  private readonly decisionSeries = new Map<string, client.Counter.Internal>();

  constructor(options: RateLimiterOptions) {
    if (!Object.hasOwn(options.rules, DEFAULT_SCOPE)) {
      throw new RateLimitRulesError(Object.keys(options.rules).join(','), 'no "default" rule');
    }
    this.rules = options.rules;
    this.keyPrefix = options.keyPrefix ?? 'lb:rl:';
    const clock = options.clock ?? monotonicClock;
    const bucketsMax = options.localBucketsMax ?? LOCAL_BUCKETS_MAX;
    this.local = new LocalBuckets(bucketsMax, clock);
    this.redis = options.store ?? redisOf(options);
    this.metrics = options.registry === undefined ? null : this.register(options.registry);
    const metrics = this.metrics;
    this.leased =
      this.redis === null || options.leases === false
        ? null
        : new LeasedBuckets({
            store: this.redis,
            clock,
            ttlMs: options.leaseTtlMs ?? LEASE_TTL_MS,
            leaseTokens: options.leaseTokens ?? leaseTokensFor,
            leasesMax: bucketsMax,
            events: {
              redisCall: (scope, outcome) => metrics?.redisCalls.inc({ scope, outcome }),
              expired: (scope, tokens) => metrics?.expiredTokens.inc({ scope }, tokens),
            },
          });
  }

  /**
   * Takes `cost` tokens from the bucket of (keyId, scope). A cost above the rule's burst takes a
   * full bucket (it could never be served otherwise). Redis trouble never fails a check: the
   * local bucket decides, within two command timeouts.
   */
  async take(keyId: string, scope: string, cost = 1): Promise<RateLimitDecision> {
    return this.check(keyId, scope, cost);
  }

  /**
   * `take`, answered at once (no promise) when the decision needs no Redis call: a check served
   * from this instance's lease, refused on its known bound, or decided by the local bucket. The
   * request path's common case; a promise only when a lease must be fetched or every check asks
   * Redis (`leases: false`).
   */
  check(keyId: string, scope: string, cost = 1): RateLimitDecision | Promise<RateLimitDecision> {
    // `:` ends the key id in the bucket's name; one inside it could alias another key's bucket.
    if (keyId === '' || keyId.includes(':')) assert(false, `rate limit key id ${keyId}`);
    if (!Number.isSafeInteger(cost) || cost < 1) assert(false, `rate limit cost ${cost}`);
    const rule = ruleFor(this.rules, scope);
    const tokens = Math.min(cost, rule.burst);
    const bucket = `${this.keyPrefix}${keyId}:${scope}`;
    if (this.redis?.isHealthy() === true) {
      if (this.leased === null) {
        return this.takeFromRedis(this.redis, bucket, scope, rule, tokens).then((decision) =>
          this.counted(scope, decision ?? this.local.take(bucket, rule, tokens)),
        );
      }
      const leased = this.leased.take(bucket, scope, rule, tokens);
      if (!(leased instanceof Promise)) return this.counted(scope, leased);
      return leased.then((decision) =>
        this.counted(scope, decision ?? this.local.take(bucket, rule, tokens)),
      );
    }
    return this.counted(scope, this.local.take(bucket, rule, tokens));
  }

  /** True while checks go to Redis (false without Redis, or while it is skipped). */
  redisHealthy(): boolean {
    return this.redis?.isHealthy() === true;
  }

  async close(): Promise<void> {
    await this.redis?.close();
  }

  /** Without leases: one call, all of the cost or none of it. */
  private async takeFromRedis(
    redis: RateLimitStore,
    bucket: string,
    scope: string,
    rule: RateLimitRule,
    cost: number,
  ): Promise<RateLimitDecision | undefined> {
    const grant = await redis.take(bucket, rule, cost, cost);
    const outcome: RedisCallOutcome =
      grant === undefined ? 'failed' : grant.granted > 0 ? 'granted' : 'refused';
    this.metrics?.redisCalls.inc({ scope, outcome });
    if (grant === undefined) return undefined;
    return decide(rule, cost, grant.granted > 0, grant.tokens, 'redis');
  }

  private counted(scope: string, decision: RateLimitDecision): RateLimitDecision {
    if (this.metrics === null) return decision;
    // One labelled series per (scope, outcome, source), found once: a label set hashed on every
    // request costs more than the rest of the decision.
    const outcome = decision.allowed ? 'allowed' : 'refused';
    const name = `${scope} ${outcome} ${decision.source}`;
    let series = this.decisionSeries.get(name);
    if (series === undefined) {
      series = this.metrics.decisions.labels({ scope, outcome, source: decision.source });
      this.decisionSeries.set(name, series);
    }
    series.inc();
    return decision;
  }

  private register(registry: client.Registry): LimiterMetrics {
    const registers = [registry];
    const decisions = new client.Counter({
      name: `${METRIC_PREFIX}rate_limit_decisions_total`,
      // Scopes are the routes' declared scopes, a closed set: no per-key series.
      help: 'Rate limit decisions by scope, outcome (allowed, refused) and source (redis, local)',
      labelNames: ['scope', 'outcome', 'source'] as const,
      registers,
    });
    const redisCalls = new client.Counter({
      name: `${METRIC_PREFIX}rate_limit_redis_calls_total`,
      // Against decisions_total{source="redis"}: checks per Redis call, the leases' saving.
      help:
        'Redis calls of the rate limiter (lease fetches, or checks without leases) by scope and ' +
        'outcome (granted, partial, refused, failed)',
      labelNames: ['scope', 'outcome'] as const,
      registers,
    });
    const expiredTokens = new client.Counter({
      name: `${METRIC_PREFIX}rate_limit_lease_tokens_expired_total`,
      help: 'Leased tokens dropped unused when their lease expired: admissions the leases cost',
      labelNames: ['scope'] as const,
      registers,
    });
    const redis = this.redis;
    new client.Gauge({
      name: `${METRIC_PREFIX}rate_limit_redis_up`,
      help: '1 while rate limits are shared in Redis; 0 while each instance limits on its own',
      registers,
      collect() {
        this.set(redis?.isHealthy() === true ? 1 : 0);
      },
    });
    return { decisions, redisCalls, expiredTokens };
  }
}

function redisOf(options: RateLimiterOptions): RateLimitRedis | null {
  if (options.redisUrl === null) return null;
  return new RateLimitRedis({
    url: options.redisUrl,
    commandTimeoutMs: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    connectTimeoutMs: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    failuresMax: options.redisFailuresMax ?? REDIS_FAILURES_MAX,
    probeMs: options.redisProbeMs ?? REDIS_PROBE_MS,
    logger: options.logger,
  });
}

/**
 * The answer's headers for a decision, after draft-ietf-httpapi-ratelimit-headers: the bucket
 * size, whole tokens left, seconds until full, the policy (`<burst>;w=<seconds to fill>`) and,
 * when refused, Retry-After. Lowercase, like every header the bridge sets. With leases, tokens
 * left are Redis's bucket at its last answer, refilled since, plus this instance's lease, at most
 * the burst: what this instance could still admit if no other took any.
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': String(decision.resetSeconds),
    'ratelimit-policy': `${decision.limit};w=${decision.windowSeconds}`,
  };
  if (!decision.allowed) headers['retry-after'] = String(decision.retryAfterSeconds);
  return headers;
}

/**
 * The limiter as configured (RATE_LIMITS, RATE_LIMIT_REDIS, RATE_LIMIT_LEASES,
 * RATE_LIMIT_KEY_PREFIX, REDIS_*).
 */
export function rateLimiterFromConfig(
  config: Config,
  deps: { registry?: client.Registry; logger?: Logger } = {},
): RateLimiter {
  return new RateLimiter({
    rules: parseRateLimitRules(config.RATE_LIMITS, SCOPES),
    redisUrl: config.RATE_LIMIT_REDIS ? config.REDIS_URL : null,
    keyPrefix: config.RATE_LIMIT_KEY_PREFIX,
    leases: config.RATE_LIMIT_LEASES,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
    registry: deps.registry,
    logger: deps.logger,
  });
}
