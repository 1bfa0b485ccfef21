import { InFlightLimiter } from './in-flight';

describe('InFlightLimiter', () => {
  it('admits up to the limit per key, independently, and frees slots on release', () => {
    const limiter = new InFlightLimiter(2);
    expect(limiter.tryAcquire('a')).toBe(true);
    expect(limiter.tryAcquire('a')).toBe(true);
    expect(limiter.tryAcquire('a')).toBe(false);
    expect(limiter.tryAcquire('b')).toBe(true);
    limiter.release('a');
    expect(limiter.current('a')).toBe(1);
    expect(limiter.tryAcquire('a')).toBe(true);
    limiter.release('a');
    limiter.release('a');
    expect(limiter.current('a')).toBe(0);
  });
});
