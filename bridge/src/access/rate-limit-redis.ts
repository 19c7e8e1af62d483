/**
 * The limiter's Redis connection and its token bucket script, shared by every bridge instance.
 *
 * The script refills and takes in one atomic step on Redis's own clock (TIME), so instances whose
 * clocks disagree still share one bucket; PEXPIRE drops a bucket when it would be full again,
 * which is exact: a missing bucket counts as full. It takes a lease (rate-limit-lease.ts): as
 * many whole tokens as it holds up to `want`, or none when it holds fewer than `need`; a check
 * without leases asks want = need = cost (all or nothing). The bucket's fields (`tokens`, `at`)
 * are those of the one-token-per-call script before it, so instances of both versions can share
 * buckets during a rolling deploy. ioredis runs it by EVALSHA and sends the source (EVAL) only
 * when the server does not know it yet (defineCommand).
 *
 * Like the balances' link (balances/redis-link.ts, whose two-connection health does not fit one
 * command connection), a limit check must never wait on Redis longer than the command timeout:
 * no offline queue (while disconnected a command fails at once), no retries, and after
 * `failuresMax` failures in a row Redis is skipped until a PING probe answers.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../../../core/logger';
import type { RateLimitRule } from './rate-limit-rules';

export interface RateLimitRedisOptions {
  url: string;
  /** Longest a limit check waits on Redis before the local bucket decides (ms). */
  commandTimeoutMs: number;
  /** Longest a (re)connection attempt may take (ms). */
  connectTimeoutMs: number;
  /** Consecutive command failures after which Redis is skipped until a probe answers. */
  failuresMax: number;
  /** Probe period while skipped (ms). */
  probeMs: number;
  logger?: Logger;
}

/** Reconnection backoff: 50 ms, 100 ms, … capped here (ms). */
const RECONNECT_DELAY_MS_MAX = 1_000;

/**
 * KEYS[1]: the bucket. ARGV: tokens a second, burst, want, need (whole, need <= want). Returns
 * {tokens granted, tokens left as text} (a Lua number would reach the client truncated to an
 * integer). Time is whole milliseconds: differences of truncated times add up to the real elapsed
 * time, so nothing drifts. The arithmetic is grantTokens' (rate-limit-bucket.ts), epsilon included.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local need = tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local granted = 0
if tokens + 1e-9 >= need then
  granted = math.min(want, math.floor(tokens + 1e-9))
  tokens = math.max(0, tokens - granted)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1)
return {granted, tostring(tokens)}
`;

interface TakeCommand {
  rateLimitTake(
    bucket: string,
    rate: number,
    burst: number,
    want: number,
    need: number,
  ): Promise<unknown>;
}

/** Redis's answer to a take: whole tokens granted (0: refused) and the bucket's tokens after. */
export interface RedisGrant {
  granted: number;
  tokens: number;
}

/** What the limiter needs of the shared buckets: RateLimitRedis, or a stand-in in unit tests. */
export interface RateLimitStore {
  /** False while checks should not wait on it (the limiter decides locally). */
  isHealthy(): boolean;
  /**
   * Takes as many whole tokens as the bucket holds, up to `want`, or none when it holds fewer
   * than `need`. Undefined: no verdict (the store failed; already counted against its health).
   */
  take(
    bucket: string,
    rule: RateLimitRule,
    want: number,
    need: number,
  ): Promise<RedisGrant | undefined>;
  close(): Promise<void>;
}

export class RateLimitRedis implements RateLimitStore {
  private readonly redis: Redis & TakeCommand;
  private failures = 0;
  /** Whether the last transition logged was to unhealthy (logs transitions, not every failure). */
  private down = false;
  private probe: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: RateLimitRedisOptions) {
    this.redis = new Redis(options.url, {
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // Auto-pipelining builds a pipeline per event-loop turn: measured (load/bench/rate-limit.ts)
      // at several times the CPU of a plain command at low concurrency, and no faster at 64.
      enableAutoPipelining: false,
      retryStrategy: (times) => Math.min(times * 50, RECONNECT_DELAY_MS_MAX),
      connectionName: 'ledger-bridge:rate-limit',
    }) as Redis & TakeCommand;
    this.redis.defineCommand('rateLimitTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    this.redis.on('error', (error: Error) => {
      options.logger?.debug({ err: error }, 'rate limit redis connection error');
    });
    this.redis.on('ready', () => {
      // A fresh connection: failures of the old one say nothing about it.
      this.failures = 0;
      this.stopProbe();
      this.markUp();
    });
    this.redis.on('close', () => this.markDown('connection lost'));
  }

  /** True while limit checks go to Redis. */
  isHealthy(): boolean {
    return this.redis.status === 'ready' && this.failures < this.options.failuresMax;
  }

  /** See RateLimitStore.take. */
  async take(
    bucket: string,
    rule: RateLimitRule,
    want: number,
    need: number,
  ): Promise<RedisGrant | undefined> {
    let reply: unknown;
    try {
      reply = await this.redis.rateLimitTake(bucket, rule.ratePerSecond, rule.burst, want, need);
    } catch (error) {
      this.recordFailure(error);
      return undefined;
    }
    this.failures = 0;
    const [granted, tokens] = Array.isArray(reply) ? reply : [];
    const left = Number(tokens);
    const grantOk =
      granted === 0 || (Number.isSafeInteger(granted) && granted >= need && granted <= want);
    if (!grantOk || typeof tokens !== 'string' || !Number.isFinite(left)) {
      // Someone else's value under our key, or a script of another version: not a verdict.
      this.recordFailure(new Error(`unexpected rate limit reply ${JSON.stringify(reply)}`));
      return undefined;
    }
    return { granted: granted as number, tokens: left };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopProbe();
    this.redis.disconnect();
  }

  private recordFailure(error: unknown): void {
    this.failures += 1;
    this.options.logger?.debug({ err: error, failures: this.failures }, 'rate limit check failed');
    if (this.failures !== this.options.failuresMax) return;
    this.markDown(`${this.failures} checks failed in a row`);
    this.startProbe();
  }

  private markDown(reason: string): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.options.logger?.warn({ reason }, 'rate limits per instance until Redis answers');
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    this.options.logger?.info('rate limits shared in Redis again');
  }

  /** While connected but failing (a hung server), PING until it answers. */
  private startProbe(): void {
    if (this.probe !== null || this.closed) return;
    this.probe = setInterval(() => {
      if (this.redis.status !== 'ready') return; // reconnecting: 'ready' will reset
      this.redis.ping().then(
        () => {
          this.failures = 0;
          this.stopProbe();
          this.markUp();
        },
        () => undefined,
      );
    }, this.options.probeMs);
    this.probe.unref();
  }

  private stopProbe(): void {
    if (this.probe !== null) clearInterval(this.probe);
    this.probe = null;
  }
}
