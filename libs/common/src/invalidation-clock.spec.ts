import { InvalidationClock } from './invalidation-clock';

describe('InvalidationClock', () => {
  it('keeps a load that no invalidation raced, and refuses one that its group or everything raced', () => {
    const clock = new InvalidationClock<string>();
    const quiet = clock.start();
    expect(clock.fresh('a', quiet)).toBe(true);

    const raced = clock.start();
    clock.invalidate('a');
    expect(clock.fresh('a', raced)).toBe(false);
    expect(clock.fresh('b', raced)).toBe(true);
    // A load started after the invalidation is fresh again.
    expect(clock.fresh('a', clock.start())).toBe(true);

    const beforeAll = clock.start();
    clock.invalidateAll();
    expect(clock.fresh('b', beforeAll)).toBe(false);
    expect(clock.fresh(undefined, beforeAll)).toBe(false);
    expect(clock.fresh('b', clock.start())).toBe(true);
  });

  it('without a group, only an invalidation of everything makes a load stale', () => {
    const clock = new InvalidationClock<string>();
    const since = clock.start();
    clock.invalidate('a');
    expect(clock.fresh(undefined, since)).toBe(true);
    clock.invalidateAll();
    expect(clock.fresh(undefined, since)).toBe(false);
  });

  it('forgets its groups past maxGroups by treating the loads in flight as raced', () => {
    const clock = new InvalidationClock<string>(2);
    const since = clock.start();
    clock.invalidate('a');
    clock.invalidate('b');
    expect(clock.fresh('c', since)).toBe(true);
    clock.invalidate('c');
    expect(clock.fresh('z', since)).toBe(false);
    const later = clock.start();
    expect(clock.fresh('a', later)).toBe(true);
  });
});
