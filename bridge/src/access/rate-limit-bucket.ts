/**
 * Token bucket arithmetic, and the in-process buckets the limiter falls back to while Redis is
 * unreachable. The Redis script (rate-limit-redis.ts) does the same arithmetic on the server; both
 * hand the tokens left to `decide`, so a decision reads the same whichever place made it.
 *
 * Tokens are floats: a comparison forgives TOKEN_EPSILON, far below one token and far above the
 * rounding of a double, so that a client who waits exactly `retryAfterMs` is served.
 */
import { LRUCache } from 'lru-cache';
import type { RateLimitRule } from './rate-limit-rules';

export type RateLimitSource = 'redis' | 'local';

export interface RateLimitDecision {
  allowed: boolean;
  /** The bucket's size (RateLimit-Limit): requests a key may send at once. */
  limit: number;
  /** Whole tokens left after this request (RateLimit-Remaining). */
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds an empty bucket takes to fill: the policy's window (RateLimit-Policy `w`). */
  windowSeconds: number;
  /** Seconds until this request's cost is there (Retry-After), rounded up; 0 when allowed. */
  retryAfterSeconds: number;
  /** The same in milliseconds, rounded up: the request is served if retried this much later. */
  retryAfterMs: number;
  /** Where the bucket is: Redis (shared by every instance), or this process (fallback). */
  source: RateLimitSource;
}

export const TOKEN_EPSILON = 1e-9;

export interface BucketState {
  tokens: number;
  /** When `tokens` was counted (ms on the clock of the bucket's owner). */
  atMs: number;
}

/**
 * Refills a bucket up to `nowMs` and grants as many whole tokens as it holds up to `want`, or none
 * when it holds fewer than `need`: the Redis script's arithmetic (rate-limit-redis.ts), so unit
 * tests can stand in for Redis. A missing bucket is full. A clock that went back refills nothing
 * (`atMs` never decreases).
 */
export function grantTokens(
  state: BucketState | undefined,
  rule: RateLimitRule,
  want: number,
  need: number,
  nowMs: number,
): { granted: number; state: BucketState } {
  let tokens = rule.burst;
  let atMs = nowMs;
  if (state !== undefined) {
    atMs = Math.max(state.atMs, nowMs);
    const refill = ((atMs - state.atMs) * rule.ratePerSecond) / 1_000;
    tokens = Math.min(rule.burst, state.tokens + refill);
  }
  let granted = 0;
  if (tokens + TOKEN_EPSILON >= need) {
    granted = Math.min(want, Math.floor(tokens + TOKEN_EPSILON));
    tokens = Math.max(0, tokens - granted);
  }
  return { granted, state: { tokens, atMs } };
}

/** Takes `cost` (a whole number) from the bucket if it holds that much: all or nothing. */
export function takeTokens(
  state: BucketState | undefined,
  rule: RateLimitRule,
  cost: number,
  nowMs: number,
): { allowed: boolean; state: BucketState } {
  const taken = grantTokens(state, rule, cost, cost, nowMs);
  return { allowed: taken.granted > 0, state: taken.state };
}

/** The decision for a bucket left holding `tokens` (after the take when allowed). */
/**
 * How long the rule takes to refill `missing` tokens (ms). A function of its own, not a closure in
 * `decide`: under tsx a named closure is also given its name, on every check.
 */
function msToRefill(rule: RateLimitRule, missing: number): number {
  return Math.ceil((Math.max(0, missing - TOKEN_EPSILON) * 1_000) / rule.ratePerSecond);
}

export function decide(
  rule: RateLimitRule,
  cost: number,
  allowed: boolean,
  tokens: number,
  source: RateLimitSource,
): RateLimitDecision {
  const retryAfterMs = allowed ? 0 : Math.max(1, msToRefill(rule, cost - tokens));
  return {
    allowed,
    limit: rule.burst,
    remaining: Math.floor(tokens + TOKEN_EPSILON),
    resetSeconds: Math.ceil(msToRefill(rule, rule.burst - tokens) / 1_000),
    windowSeconds: Math.ceil(rule.burst / rule.ratePerSecond),
    retryAfterSeconds: Math.ceil(retryAfterMs / 1_000),
    retryAfterMs,
    source,
  };
}

export interface RateLimitClock {
  nowMs(): number;
}

/** Monotonic: a wall clock stepped back or forward would grant or withhold tokens. */
export const monotonicClock: RateLimitClock = { nowMs: () => performance.now() };

/**
 * Buckets of this process, least recently used dropped first past `bucketsMax`. A dropped bucket
 * comes back full: the bound trades a little leniency towards idle keys for bounded memory.
 */
export class LocalBuckets {
  private readonly buckets: LRUCache<string, BucketState>;

  constructor(
    bucketsMax: number,
    private readonly clock: RateLimitClock,
  ) {
    this.buckets = new LRUCache({ max: bucketsMax });
  }

  take(bucket: string, rule: RateLimitRule, cost: number): RateLimitDecision {
    const taken = takeTokens(this.buckets.get(bucket), rule, cost, this.clock.nowMs());
    this.buckets.set(bucket, taken.state);
    return decide(rule, cost, taken.allowed, taken.state.tokens, 'local');
  }

  get size(): number {
    return this.buckets.size;
  }
}
