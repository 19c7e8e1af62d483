/**
 * API keys as the bridge knows them: read from PostgreSQL on first use and cached, so a request
 * costs no database round trip. Bounded staleness, both ways:
 * - a cached key (or a cached "no such key") is re-read after `ttlMs`, so a revocation, a
 *   rotation's end of grace or a new key takes effect on every instance within `ttlMs`;
 * - while PostgreSQL does not answer, a key read less than `staleMaxMs` ago keeps working (the
 *   ledger and the balance reads need no database), and older ones fail as the store does.
 * Concurrent misses on one key share one query.
 */
import { LRUCache } from 'lru-cache';
import type { Queryable } from '../../../core/postgres/pool';
import { findKey, type KeyRecord } from './key-store';

export interface KeyCacheOptions {
  db: Queryable;
  ttlMs: number;
  staleMaxMs: number;
  entriesMax: number;
  now?: () => number;
}

interface Entry {
  record: KeyRecord | null;
  readAt: number;
}

export class KeyCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly inFlight = new Map<string, Promise<KeyRecord | null>>();
  private readonly now: () => number;

  constructor(private readonly options: KeyCacheOptions) {
    this.entries = new LRUCache({ max: options.entriesMax });
    this.now = options.now ?? Date.now;
  }

  /**
   * The key with this id as read less than `ttlMs` ago (null: PostgreSQL had none), without a
   * promise: the request path's common case. Undefined: not cached or too old; call `get`.
   */
  peek(id: string): KeyRecord | null | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined && this.now() - entry.readAt < this.options.ttlMs) return entry.record;
    return undefined;
  }

  /** The key with this id, or null when PostgreSQL has none. */
  async get(id: string): Promise<KeyRecord | null> {
    const entry = this.entries.get(id);
    if (entry !== undefined && this.now() - entry.readAt < this.options.ttlMs) return entry.record;
    const pending = this.inFlight.get(id);
    if (pending !== undefined) return pending;
    const read = this.read(id, entry).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, read);
    return read;
  }

  /** Forgets a key at once (this instance only; the others within `ttlMs`). */
  forget(id: string): void {
    this.entries.delete(id);
  }

  private async read(id: string, previous: Entry | undefined): Promise<KeyRecord | null> {
    try {
      const record = await findKey(this.options.db, id);
      this.entries.set(id, { record, readAt: this.now() });
      return record;
    } catch (error) {
      if (previous !== undefined && this.now() - previous.readAt < this.options.staleMaxMs) {
        return previous.record;
      }
      throw error;
    }
  }
}
