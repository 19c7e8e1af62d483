/**
 * The balance reader: L1 in process, L2 in Redis, L3 the ledger (batched, single-flight), with
 * invalidation on every posting and read-your-writes through the balance token (./token.ts).
 *
 * Reads: L1, then L2, then the ledger; a level serves only a value whose `asOfNs` is at least the
 * read's token (0 without one). Values read from L2 or the ledger fill the levels above them,
 * unless a newer write to the account is known (floors: ./l1.ts, ./l2-redis.ts).
 *
 * Writes: the posting instance calls `onPosted` once the transfers are committed. It drops the
 * accounts from its L1 at once (synchronously: a read on this instance right after the 201 never
 * sees the old balance), then drops them from L2 and publishes the invalidation to the other
 * instances, which drop them from their L1. If Redis fails, the invalidation is kept (bounded)
 * and replayed when Redis is healthy again; every instance also drops its whole L1 then, since it
 * may have missed others' messages.
 *
 * Redis is optional at run time: while it is unhealthy, reads use L1 and the ledger and writes go
 * on; `redisHealthy()` says so for /ready and the metrics.
 */
import { assert } from '../../../core/assert';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../http/api-error';
import type { Ledger } from '../../../ledger/port';
import type { Logger } from '../../../core/logger';
import { InvalidationBus, type Invalidation } from './bus';
import type { CachedBalance } from './entry';
import { L1Cache } from './l1';
import { L2Redis } from './l2-redis';
import { BalanceLoader } from './loader';
import { RedisLink } from './redis-link';
import { type Subject, SubjectCache, type SubjectSource } from './subjects';
import { type BalanceView, balanceView, frozenView } from './view';

export type CacheLevel = 'l1' | 'l2' | 'ledger';

export interface BalanceRead {
  view: BalanceView;
  level: CacheLevel;
  /** How long ago the value was read from the ledger (ms). */
  ageMs: number;
  /** Every write stamped at or before this ledger timestamp is in the value (0: unknown). */
  asOfNs: bigint;
}

export interface BalanceCacheSettings {
  /** L1 bound (entries) and TTL (ms). */
  l1EntriesMax: number;
  l1TtlMs: number;
  /** L2 TTL (ms): the bound on how long a missed invalidation can leave a stale L2 value. */
  l2TtlMs: number;
  /** Redis command timeout (ms): past it a read falls through to the ledger. */
  redisCommandTimeoutMs: number;
  redisConnectTimeoutMs: number;
  /** Consecutive Redis failures that mark it unhealthy. */
  redisFailuresMax: number;
  /** Invalidations kept while Redis is down, for the replay (accounts). */
  pendingInvalidationsMax: number;
  /** Subjects (account id → ledger id, asset, side) kept in process. */
  subjectEntriesMax: number;
}

export const DEFAULT_BALANCE_CACHE_SETTINGS: BalanceCacheSettings = {
  l1EntriesMax: 100_000,
  l1TtlMs: 1_000,
  l2TtlMs: 30_000,
  redisCommandTimeoutMs: 50,
  redisConnectTimeoutMs: 1_000,
  redisFailuresMax: 3,
  pendingInvalidationsMax: 100_000,
  subjectEntriesMax: 100_000,
};

export interface BalanceReaderOptions {
  ledger: Pick<Ledger, 'lookupAccounts'>;
  /** AccountService (its requireAccount answers AccountRecord, a superset of Subject). */
  accounts: SubjectSource;
  /** Redis for L2 and the invalidation channel; null: L1 and the ledger only. */
  redisUrl: string | null;
  settings?: Partial<BalanceCacheSettings>;
  /** Key prefix and channel; tests give each run its own. */
  keyPrefix?: string;
  channel?: string;
  instanceId?: string;
  logger?: Logger;
  now?: () => number;
}

/** Floors outlive the slowest read in flight: a ledger request is bounded by 5 s by default. */
const FLOOR_TTL_MS_MIN = 10_000;
/** Redis probe period while it is connected but failing (ms). */
const REDIS_PROBE_MS = 500;

export interface BalanceReaderStats {
  served: Record<CacheLevel, number>;
  ledgerLookups: number;
  ledgerIdsLookedUp: number;
  l1Entries: number;
  redisHealthy: boolean;
  redisRecoveries: number;
  invalidationsPublished: number;
  invalidationsReceived: number;
  pendingInvalidations: number;
  pendingInvalidationsDropped: number;
  watermarkNs: string;
}

export class BalanceReader {
  private readonly settings: BalanceCacheSettings;
  private readonly l1: L1Cache;
  private readonly link: RedisLink | null;
  private readonly l2: L2Redis | null;
  private readonly bus: InvalidationBus | null;
  private readonly loader: BalanceLoader;
  private readonly subjects: SubjectCache;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private watermark = 0n;
  private readonly pendingReplay = new Map<string, bigint>();
  /**
   * Invalidations of this event-loop turn, told to Redis together: one script call and one
   * message for all the postings of a busy moment instead of two round trips per posting.
   */
  private outgoing: { ids: Set<string>; ledgerTimestampNs: bigint; told: Promise<void> } | null =
    null;
  private replaying: Promise<void> | null = null;
  /** Each cached entry's view, made on its first read (answer). */
  private readonly views = new WeakMap<CachedBalance, BalanceView>();
  private readonly counters = {
    served: { l1: 0, l2: 0, ledger: 0 } as Record<CacheLevel, number>,
    published: 0,
    received: 0,
    dropped: 0,
  };

  constructor(options: BalanceReaderOptions) {
    this.settings = { ...DEFAULT_BALANCE_CACHE_SETTINGS, ...options.settings };
    const s = this.settings;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.l1 = new L1Cache({
      entriesMax: s.l1EntriesMax,
      ttlMs: s.l1TtlMs,
      floorTtlMs: Math.max(FLOOR_TTL_MS_MIN, s.l1TtlMs),
    });
    this.subjects = new SubjectCache(options.accounts, s.subjectEntriesMax);
    this.loader = new BalanceLoader({
      lookupAccounts: (ids) => options.ledger.lookupAccounts(ids),
      watermarkNs: () => this.watermark,
      onLoaded: (key, entry) => this.fill(key, entry),
      now: this.now,
    });
    if (options.redisUrl === null) {
      this.link = null;
      this.l2 = null;
      this.bus = null;
      return;
    }
    this.link = new RedisLink({
      url: options.redisUrl,
      commandTimeoutMs: s.redisCommandTimeoutMs,
      connectTimeoutMs: s.redisConnectTimeoutMs,
      failuresMax: s.redisFailuresMax,
      probeMs: REDIS_PROBE_MS,
      logger: options.logger,
    });
    this.l2 = new L2Redis(this.link, options.keyPrefix ?? 'lb:bal:', s.l2TtlMs, options.logger);
    this.bus = new InvalidationBus(
      this.link,
      options.channel ?? 'lb:bal:invalidations',
      options.instanceId ?? randomUUID(),
    );
    this.bus.listen(
      (invalidation) => this.applyRemote(invalidation),
      (message) => this.logger?.warn({ message: message.slice(0, 200) }, 'bad invalidation'),
    );
    this.link.onRecovered(() => this.recover());
  }

  /** Waits (at most `timeoutMs`) for Redis; the reader works without it either way. */
  async start(timeoutMs = 2_000): Promise<void> {
    if (this.bus === null) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.bus.ready(), timeout]);
    clearTimeout(timer);
  }

  async read(accountId: string, options: { minAsOfNs?: bigint } = {}): Promise<BalanceRead> {
    const minAsOfNs = options.minAsOfNs ?? 0n;
    const subject = this.subjects.peek(accountId) ?? (await this.subjects.get(accountId));
    const key = subject.ledgerId.toString();
    const inL1 = this.l1.get(key);
    if (inL1 !== undefined && inL1.asOfNs >= minAsOfNs) return this.answer(subject, inL1, 'l1');
    if (this.l2 !== null && this.link!.isHealthy()) {
      const inL2 = await this.l2.get(key);
      if (inL2 !== undefined && inL2.asOfNs >= minAsOfNs) {
        this.l1.set(key, inL2);
        return this.answer(subject, inL2, 'l2');
      }
    }
    const loaded = await this.loader.load(subject.ledgerId, minAsOfNs);
    if (loaded.entry === null) {
      // The metadata row exists but its ledger account does not: an interrupted account
      // creation, which the client's retry of POST /api/accounts completes.
      throw new ApiError(
        409,
        'account_incomplete',
        `account '${accountId}' has no ledger account yet; retry its creation`,
        { field: 'accountId' },
      );
    }
    return this.answer(subject, loaded.entry, 'ledger');
  }

  /**
   * The posting instance, after a journal's transfers committed (created or exists): the touched
   * accounts and the largest transfer timestamp. Drops L1 at once; resolves when L2 and the
   * other instances were told (or the invalidation was kept for a replay). Never rejects.
   */
  async onPosted(ledgerIds: readonly bigint[], ledgerTimestampNs: bigint): Promise<void> {
    if (ledgerIds.length === 0) return;
    assert(!(ledgerTimestampNs <= 0n), 'a posting has a ledger timestamp');
    this.raiseWatermark(ledgerTimestampNs);
    const keys = ledgerIds.map((id) => id.toString());
    this.l1.invalidate(keys, ledgerTimestampNs);
    if (this.l2 === null) return;
    if (this.outgoing === null) {
      const outgoing = { ids: new Set<string>(), ledgerTimestampNs, told: Promise.resolve() };
      outgoing.told = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.outgoing = null;
        // One floor for the lot: the newest of their writes. A floor later than an account's own
        // write only turns some cached reads into ledger reads; it never serves an older balance.
        const invalidation = {
          ledgerIds: [...outgoing.ids],
          ledgerTimestampNs: outgoing.ledgerTimestampNs,
        };
        if (!(await this.tell(invalidation))) this.keepForReplay(invalidation);
      });
      this.outgoing = outgoing;
    }
    for (const key of keys) this.outgoing.ids.add(key);
    if (ledgerTimestampNs > this.outgoing.ledgerTimestampNs) {
      this.outgoing.ledgerTimestampNs = ledgerTimestampNs;
    }
    await this.outgoing.told;
  }

  redisHealthy(): boolean {
    return this.link?.isHealthy() ?? false;
  }

  /** Whether this reader uses Redis at all (for /ready: unhealthy only matters then). */
  get redisConfigured(): boolean {
    return this.link !== null;
  }

  stats(): BalanceReaderStats {
    return {
      served: { ...this.counters.served },
      ledgerLookups: this.loader.lookups,
      ledgerIdsLookedUp: this.loader.idsLookedUp,
      l1Entries: this.l1.size,
      redisHealthy: this.redisHealthy(),
      redisRecoveries: this.link?.recoveries ?? 0,
      invalidationsPublished: this.counters.published,
      invalidationsReceived: this.counters.received,
      pendingInvalidations: this.pendingReplay.size,
      pendingInvalidationsDropped: this.counters.dropped,
      watermarkNs: this.watermark.toString(),
    };
  }

  async close(): Promise<void> {
    await this.replaying;
    await this.link?.close();
  }

  private answer(subject: Subject, entry: CachedBalance, level: CacheLevel): BalanceRead {
    this.counters.served[level] += 1;
    // A cached entry is read many times: its view (six u128s in decimal) is made once, frozen,
    // and shared by those reads. An entry belongs to one ledger account, so to one subject.
    let view = this.views.get(entry);
    if (view === undefined || view.accountId !== subject.accountId) {
      view = frozenView(balanceView(subject, entry.balances));
      this.views.set(entry, view);
    }
    return {
      view,
      level,
      ageMs: Math.max(0, this.now() - entry.fetchedAtMs),
      asOfNs: entry.asOfNs,
    };
  }

  /** A ledger lookup's result fills L1 and L2, unless a newer write to the account is known. */
  private fill(key: string, entry: CachedBalance): void {
    if (this.l1.set(key, entry) && this.l2 !== null) void this.l2.set(key, entry);
  }

  private raiseWatermark(ns: bigint): void {
    if (ns > this.watermark) this.watermark = ns;
  }

  private applyRemote(invalidation: Invalidation): void {
    this.counters.received += 1;
    this.raiseWatermark(invalidation.ledgerTimestampNs);
    this.l1.invalidate(invalidation.ledgerIds, invalidation.ledgerTimestampNs);
  }

  /** L2 first, then the message: an instance that drops its L1 must not refill it from L2. */
  private async tell(invalidation: Invalidation): Promise<boolean> {
    const ok =
      (await this.l2!.invalidate(invalidation.ledgerIds, invalidation.ledgerTimestampNs)) &&
      (await this.bus!.publish(invalidation));
    if (ok) this.counters.published += 1;
    return ok;
  }

  private keepForReplay(invalidation: Invalidation): void {
    for (const id of invalidation.ledgerIds) {
      const known = this.pendingReplay.get(id);
      if (known !== undefined) {
        if (known < invalidation.ledgerTimestampNs) {
          this.pendingReplay.set(id, invalidation.ledgerTimestampNs);
        }
      } else if (this.pendingReplay.size < this.settings.pendingInvalidationsMax) {
        this.pendingReplay.set(id, invalidation.ledgerTimestampNs);
      } else {
        // Past the bound, L2's TTL is what limits how long this account's L2 value can be stale.
        this.counters.dropped += 1;
      }
    }
  }

  /** Redis is back: others' invalidations may be lost, and ours may not have reached anyone. */
  private recover(): void {
    this.l1.clear();
    if (this.pendingReplay.size === 0 || this.replaying !== null) return;
    this.replaying = this.replay().finally(() => (this.replaying = null));
  }

  private async replay(): Promise<void> {
    const byTimestamp = new Map<bigint, string[]>();
    for (const [id, ts] of this.pendingReplay) {
      const ids = byTimestamp.get(ts) ?? [];
      ids.push(id);
      byTimestamp.set(ts, ids);
    }
    this.pendingReplay.clear();
    for (const [ledgerTimestampNs, ledgerIds] of byTimestamp) {
      const invalidation = { ledgerIds, ledgerTimestampNs };
      if (!(await this.tell(invalidation))) this.keepForReplay(invalidation);
    }
    this.logger?.info({ accounts: this.pendingReplay.size }, 'invalidations replayed');
  }
}
