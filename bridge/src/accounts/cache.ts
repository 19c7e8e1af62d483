/**
 * The account-reference cache. Account references never change once created, so entries need no
 * expiry, only a bound on memory: a least-recently-used cache (`lru-cache`) behind the small
 * interface the service needs, so tests can pass a plain map.
 */
import { LRUCache } from 'lru-cache';

export interface BoundedCache<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  clear(): void;
  readonly size: number;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own bound
export function lruCache<K extends {}, V extends {}>(entriesMax: number): BoundedCache<K, V> {
  if (!Number.isInteger(entriesMax) || entriesMax < 1) {
    throw new RangeError(`entriesMax must be a positive integer, got ${entriesMax}`);
  }
  return new LRUCache<K, V>({ max: entriesMax });
}
