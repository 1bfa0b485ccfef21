import { ttlCache } from './ttl-cache';

/** Waits, turn by turn of the event loop, until `condition` holds (instead of sleeping a fixed time). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('ttlCache', () => {
  it('drops the least recently used entry past max', () => {
    const cache = ttlCache<string, number>({ max: 2, ttlMs: 60_000 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
  });

  it('forgets an entry once its TTL has passed, and a read does not extend it', async () => {
    const cache = ttlCache<string, number>({ max: 10, ttlMs: 300 });
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
    expect(cache.getRemainingTTL('a')).toBeLessThanOrEqual(300);
    // Read on every turn: were a read to extend the entry, this would never end (and the test time out).
    await until(() => cache.get('a') === undefined);
    expect(cache.size).toBe(0);
  });

  it("keeps an entry for the TTL given to set, over the cache's", async () => {
    const cache = ttlCache<string, number>({ max: 10, ttlMs: 0 });
    cache.set('short', 1, { ttl: 100 });
    cache.set('forever', 2);
    expect(cache.get('short')).toBe(1);
    await until(() => cache.get('short') === undefined);
    expect(cache.get('forever')).toBe(2);
  });
});
