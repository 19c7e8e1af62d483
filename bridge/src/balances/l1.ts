/**
 * L1: balances kept in this process, bounded in entries and with a short TTL (a safety net: an
 * invalidation that never arrives is outlived by at most the TTL).
 *
 * Each account also has a floor: the newest ledger timestamp of a write to it this process has
 * heard of (its own postings, other instances' invalidations). A value read before that write
 * (`asOfNs` below the floor) is never stored, so a lookup or an L2 read that was in flight while
 * the invalidation arrived cannot put the old balance back. Floors live a little longer than any
 * read can be in flight.
 */
import { InvariantError } from '../../../core/assert';
import { LRUCache } from 'lru-cache';
import type { CachedBalance } from './entry';

export interface L1Options {
  /** Most balances kept (~300 bytes each). */
  entriesMax: number;
  /** How long a balance may be served from L1 after it was stored (ms). */
  ttlMs: number;
  /** How long a floor is remembered (ms): longer than the slowest lookup or Redis read. */
  floorTtlMs: number;
}

export class L1Cache {
  private readonly entries: LRUCache<string, CachedBalance>;
  private readonly floors: LRUCache<string, bigint>;

  constructor(options: L1Options) {
    if (options.entriesMax < 1 || options.ttlMs < 1 || options.floorTtlMs < options.ttlMs) {
      throw new InvariantError(`L1 options ${JSON.stringify(options)}`);
    }
    this.entries = new LRUCache({ max: options.entriesMax, ttl: options.ttlMs });
    this.floors = new LRUCache({ max: options.entriesMax, ttl: options.floorTtlMs });
  }

  get(key: string): CachedBalance | undefined {
    return this.entries.get(key);
  }

  /** Stores the entry unless a write newer than its read is known; true when stored. */
  set(key: string, entry: CachedBalance): boolean {
    const floor = this.floors.get(key);
    if (floor !== undefined && entry.asOfNs < floor) return false;
    const current = this.entries.get(key);
    if (current !== undefined && current.asOfNs > entry.asOfNs) return false;
    this.entries.set(key, entry);
    return true;
  }

  /** A write stamped `ledgerTimestampNs` touched these accounts: drop them, raise their floors. */
  invalidate(keys: readonly string[], ledgerTimestampNs: bigint): void {
    for (const key of keys) {
      this.entries.delete(key);
      const floor = this.floors.get(key);
      if (floor === undefined || floor < ledgerTimestampNs) this.floors.set(key, ledgerTimestampNs);
    }
  }

  /** Drops every balance (invalidations may have been missed); floors stay. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
