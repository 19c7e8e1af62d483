/**
 * Leases: each instance takes tokens from the shared Redis bucket in batches and serves checks
 * from its lease until it is spent, so a Redis round trip is paid once per lease, not per check
 * (one costs ~50–100 µs of bridge CPU and ~45 µs of Redis CPU: per check, a 2-core machine
 * topped out near 21,000 checks/s).
 *
 * - Size: leaseTokensFor. A check that finds the lease short queues behind the one fetch in
 *   flight for its bucket (never N fetches); that fetch asks for max(lease, what the queued
 *   checks lack) and takes nothing unless Redis holds what the smallest of them lacks.
 * - Partial grant: the lease is what Redis granted, and checks it does not cover are refused,
 *   Retry-After from Redis's answer (it holds less than a token more). After a full grant, the
 *   checks it does not cover came after it was asked for: they wait for the next fetch.
 * - Refusal without a call: Redis's bucket at its last answer, refilled at the rule's rate since,
 *   bounds what it holds now (other instances only take), so a check that bound cannot cover is
 *   refused here. It is stricter than Redis by at most one round trip of refill (the answer is
 *   older than Redis's clock), and a flood of refused checks costs no Redis calls.
 * - Expiry: tokens still unused `ttlMs` after their grant are dropped (counted), so an idle
 *   instance does not sit on them. They are not given back: a return would cost a call and a
 *   sweep, to save at most 50 ms of refill per lease.
 *
 * Bound: an instance holds at most lease − 1 tokens of a bucket (max(lease, cost) − 1 after a
 * partial grant to a check of cost above 1), tokens Redis counted as taken when it granted them.
 * So N instances admit at most what a call per check would admit plus N × lease: the leases held
 * when a window starts. Within a window Redis never grants more than it holds.
 */
import { LRUCache } from 'lru-cache';
import { assert } from '../../../core/assert';
import {
  decide,
  type RateLimitClock,
  type RateLimitDecision,
  TOKEN_EPSILON,
} from './rate-limit-bucket';
import type { RateLimitStore } from './rate-limit-redis';
import type { RateLimitRule } from './rate-limit-rules';

/**
 * Tokens a lease asks for: at most a tenth of the bucket, so a few instances cannot hold it all,
 * and at most 50 ms of the rate, the refill the leases can lose or over-admit per instance. With
 * the default rules: 1,000 for journals:write (one Redis call per 1,000 journals), 2,500 for
 * balances:read, 50 for the default scope. At least one: a small rule asks per check.
 */
export function leaseTokensFor(rule: RateLimitRule): number {
  return Math.max(1, Math.floor(Math.min(rule.burst / 10, rule.ratePerSecond / 20)));
}

/** How a Redis call for a bucket ended: all asked, fewer, none, or no answer. */
export type RedisCallOutcome = 'granted' | 'partial' | 'refused' | 'failed';

export interface LeaseEvents {
  redisCall(scope: string, outcome: RedisCallOutcome): void;
  expired(scope: string, tokens: number): void;
}

export interface LeasedBucketsOptions {
  store: RateLimitStore;
  clock: RateLimitClock;
  /** How long granted tokens stay usable here (ms). */
  ttlMs: number;
  leaseTokens: (rule: RateLimitRule) => number;
  /** Leases kept at most (least recently used dropped, its tokens with it). */
  leasesMax: number;
  events?: LeaseEvents;
}

interface Waiter {
  cost: number;
  /** Undefined: Redis gave no verdict; the caller decides locally. */
  resolve: (decision: RateLimitDecision | undefined) => void;
}

/** One bucket's lease in this process. */
interface Lease {
  /** Whole tokens granted and not used yet. */
  tokens: number;
  /** When unused tokens are dropped (ms on this process's clock). */
  expiresAtMs: number;
  /** Redis's bucket after its last answer, and when that arrived (-Infinity: never). */
  redisTokens: number;
  answeredAtMs: number;
  /** Checks waiting for the fetch in flight, in arrival order; empty while none is. */
  waiters: Waiter[];
  fetching: boolean;
}

export class LeasedBuckets {
  private readonly leases: LRUCache<string, Lease>;

  constructor(private readonly options: LeasedBucketsOptions) {
    assert(options.ttlMs > 0, () => `lease ttl ${options.ttlMs} ms`);
    this.leases = new LRUCache({ max: options.leasesMax });
  }

  /**
   * Takes `cost` tokens (at most the burst) for `bucket`: from the lease at once when it holds
   * them, else after a fetch. Undefined: Redis gave no verdict; the caller decides locally.
   */
  take(
    bucket: string,
    scope: string,
    rule: RateLimitRule,
    cost: number,
  ): RateLimitDecision | Promise<RateLimitDecision | undefined> {
    assert(cost >= 1 && cost <= rule.burst, () => `leased cost ${cost} of ${rule.burst}`);
    const lease = this.leaseOf(bucket);
    if (!lease.fetching) {
      const nowMs = this.options.clock.nowMs();
      this.expire(lease, scope, nowMs);
      if (lease.tokens >= cost) {
        lease.tokens -= cost;
        return this.decided(lease, rule, cost, true, nowMs);
      }
      if (!this.redisMayCover(lease, rule, cost, nowMs)) {
        return this.decided(lease, rule, cost, false, nowMs);
      }
    }
    return new Promise((resolve) => {
      lease.waiters.push({ cost, resolve });
      if (!lease.fetching) void this.fetch(bucket, scope, rule, lease);
    });
  }

  /** Leases held (tests, and a bound on memory). */
  get size(): number {
    return this.leases.size;
  }

  private leaseOf(bucket: string): Lease {
    let lease = this.leases.get(bucket);
    if (lease === undefined) {
      lease = {
        tokens: 0,
        expiresAtMs: 0,
        redisTokens: 0,
        answeredAtMs: -Infinity,
        waiters: [],
        fetching: false,
      };
      this.leases.set(bucket, lease);
    }
    return lease;
  }

  /** One Redis call for every check queued on `lease`; settles them with its answer. */
  private async fetch(
    bucket: string,
    scope: string,
    rule: RateLimitRule,
    lease: Lease,
  ): Promise<void> {
    assert(!lease.fetching && lease.waiters.length > 0, 'a lease fetch with nothing to fetch');
    lease.fetching = true;
    let demand = 0;
    let smallest = Infinity;
    for (const waiter of lease.waiters) {
      demand += waiter.cost;
      smallest = Math.min(smallest, waiter.cost);
    }
    // Queued checks are those the lease could not serve, so each lacks at least a token.
    const need = smallest - lease.tokens;
    const want = Math.max(this.options.leaseTokens(rule), demand - lease.tokens);
    assert(need >= 1 && want >= need, () => `lease fetch need ${need} want ${want}`);
    const grant = await this.options.store.take(bucket, rule, want, need);
    lease.fetching = false;
    const waiters = lease.waiters;
    lease.waiters = [];
    if (grant === undefined) {
      this.options.events?.redisCall(scope, 'failed');
      for (const waiter of waiters) waiter.resolve(undefined);
      return;
    }
    const { granted } = grant;
    const outcome = granted === want ? 'granted' : granted === 0 ? 'refused' : 'partial';
    this.options.events?.redisCall(scope, outcome);
    const nowMs = this.options.clock.nowMs();
    lease.tokens += granted;
    lease.redisTokens = grant.tokens;
    lease.answeredAtMs = nowMs;
    lease.expiresAtMs = nowMs + this.options.ttlMs;
    this.settle(bucket, scope, rule, lease, waiters, granted < want, nowMs);
  }

  /**
   * Serves what the lease covers; refuses the rest when Redis was short (it granted less than
   * asked) or cannot cover them; fetches again for the others. Those came after the fetch was
   * sent (a full grant covers every check it counted), so a check waits on two fetches at most.
   */
  private settle(
    bucket: string,
    scope: string,
    rule: RateLimitRule,
    lease: Lease,
    waiters: Waiter[],
    short: boolean,
    nowMs: number,
  ): void {
    for (const waiter of waiters) {
      if (lease.tokens >= waiter.cost) {
        lease.tokens -= waiter.cost;
        waiter.resolve(this.decided(lease, rule, waiter.cost, true, nowMs));
      } else if (short || !this.redisMayCover(lease, rule, waiter.cost, nowMs)) {
        waiter.resolve(this.decided(lease, rule, waiter.cost, false, nowMs));
      } else {
        lease.waiters.push(waiter);
      }
    }
    if (lease.waiters.length > 0) void this.fetch(bucket, scope, rule, lease);
  }

  /** Whether Redis may hold what the lease lacks for `cost` (at most its answer, refilled). */
  private redisMayCover(lease: Lease, rule: RateLimitRule, cost: number, nowMs: number): boolean {
    return this.redisAtMost(lease, rule, nowMs) + lease.tokens + TOKEN_EPSILON >= cost;
  }

  /** Never answered: -Infinity makes the refill infinite, so the bound is a full bucket. */
  private redisAtMost(lease: Lease, rule: RateLimitRule, nowMs: number): number {
    const refill = (Math.max(0, nowMs - lease.answeredAtMs) * rule.ratePerSecond) / 1_000;
    return Math.min(rule.burst, lease.redisTokens + refill);
  }

  /**
   * The decision, its tokens left being Redis's bound plus this lease (capped at the burst):
   * what this instance could still admit if no other one takes.
   */
  private decided(
    lease: Lease,
    rule: RateLimitRule,
    cost: number,
    allowed: boolean,
    nowMs: number,
  ): RateLimitDecision {
    const tokens = Math.min(rule.burst, this.redisAtMost(lease, rule, nowMs) + lease.tokens);
    return decide(rule, cost, allowed, tokens, 'redis');
  }

  private expire(lease: Lease, scope: string, nowMs: number): void {
    if (lease.tokens === 0 || nowMs < lease.expiresAtMs) return;
    this.options.events?.expired(scope, lease.tokens);
    lease.tokens = 0;
  }
}
