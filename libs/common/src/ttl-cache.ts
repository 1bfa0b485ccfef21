import { LRUCache } from 'lru-cache';

/**
 * The in-process cache type of the code base: lru-cache's LRUCache, bounded in entries, each entry
 * expiring after a TTL (the cache's, or one given to `set(key, value, { ttl })`). An expired entry is
 * never returned: `get` and `has` drop it; it counts in `size` until then.
 */
export type TtlCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>> = LRUCache<K, V>;

export interface TtlCacheOptions {
  /** Most entries kept; past it the least recently used goes. */
  max: number;
  /** Default time to live of an entry, in ms; 0 for none (each `set` then gives its own `ttl`). */
  ttlMs: number;
}

export function ttlCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>({ max, ttlMs }: TtlCacheOptions): TtlCache<K, V> {
  return new LRUCache<K, V>({ max, ttl: ttlMs, updateAgeOnGet: false, allowStale: false });
}
