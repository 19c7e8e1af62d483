/**
 * L2: balances in Redis, shared by every instance. One hash per account, `<prefix><ledger id>`:
 *   v  the cached entry (./entry.ts), absent after an invalidation;
 *   f  the floor: the newest write timestamp an invalidation announced (20 digits).
 * Both scripts run atomically in Redis, so a reader whose lookup predates a write can never store
 * its older balance after that write's invalidation (its `asOf` is below the floor), whatever the
 * order in which instances reach Redis. Keys expire after `ttlMs` (a safety net).
 */
import type { Redis } from 'ioredis';
import { type CachedBalance, decodeEntry, encodeEntry, padTimestamp } from './entry';
import type { Logger } from '../../../core/logger';
import type { RedisLink } from './redis-link';

/** Store v only when its asOf is not below the floor; refresh the TTL. Returns 1 when stored. */
const SET_SCRIPT = `
local floor = redis.call('HGET', KEYS[1], 'f')
if floor and floor > ARGV[2] then return 0 end
local current = redis.call('HGET', KEYS[1], 'v')
if current then
  local a = string.match(current, '"a":"(%d+)"')
  if a and a > ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'v', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** For every key: drop v, raise the floor to ARGV[1]; the floor outlives in-flight reads. */
const INVALIDATE_SCRIPT = `
for _, key in ipairs(KEYS) do
  local floor = redis.call('HGET', key, 'f')
  if not floor or floor < ARGV[1] then redis.call('HSET', key, 'f', ARGV[1]) end
  redis.call('HDEL', key, 'v')
  redis.call('PEXPIRE', key, ARGV[2])
end
return #KEYS`;

/** Keys per invalidation script call: bounded so one call never blocks Redis for long. */
export const INVALIDATE_KEYS_PER_CALL_MAX = 1_000;

type ScriptedRedis = Redis & {
  balanceSet(key: string, value: string, asOf: string, ttlMs: number): Promise<number>;
  balanceInvalidate(...args: Array<string | number>): Promise<number>;
};

export class L2Redis {
  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly logger?: Logger,
  ) {
    link.commands.defineCommand('balanceSet', { numberOfKeys: 1, lua: SET_SCRIPT });
    link.commands.defineCommand('balanceInvalidate', { lua: INVALIDATE_SCRIPT });
  }

  key(ledgerId: string): string {
    return this.prefix + ledgerId;
  }

  /**
   * The entry, or undefined on a miss, when Redis is unhealthy or slow, or when the value is not
   * one this code wrote (logged; the ledger answers instead and its result overwrites it).
   */
  async get(ledgerId: string): Promise<CachedBalance | undefined> {
    const text = await this.link.run((redis) => redis.hget(this.key(ledgerId), 'v'));
    if (text === undefined || text === null) return undefined;
    try {
      return decodeEntry(text);
    } catch (error) {
      this.logger?.error({ err: error, key: this.key(ledgerId) }, 'unreadable cached balance');
      return undefined;
    }
  }

  /** Stores the entry unless a newer write is known; false when refused or Redis failed. */
  async set(ledgerId: string, entry: CachedBalance): Promise<boolean> {
    const stored = await this.link.run((redis) =>
      (redis as ScriptedRedis).balanceSet(
        this.key(ledgerId),
        encodeEntry(entry),
        padTimestamp(entry.asOfNs),
        this.ttlMs,
      ),
    );
    return stored === 1;
  }

  /** Drops the accounts' entries and raises their floors; false when Redis failed. */
  async invalidate(ledgerIds: readonly string[], ledgerTimestampNs: bigint): Promise<boolean> {
    const floor = padTimestamp(ledgerTimestampNs);
    for (let i = 0; i < ledgerIds.length; i += INVALIDATE_KEYS_PER_CALL_MAX) {
      const keys = ledgerIds.slice(i, i + INVALIDATE_KEYS_PER_CALL_MAX).map((id) => this.key(id));
      const done = await this.link.run((redis) =>
        (redis as ScriptedRedis).balanceInvalidate(keys.length, ...keys, floor, this.ttlMs),
      );
      if (done === undefined) return false;
    }
    return true;
  }
}
