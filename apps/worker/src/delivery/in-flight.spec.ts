import { ByteBudget, InFlightLimiter } from './in-flight';

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

describe('ByteBudget', () => {
  it('admits bodies while they fit, one oversized body alone, and frees bytes on release', () => {
    const budget = new ByteBudget(100);
    expect(budget.tryAcquire(60)).toBe(true);
    expect(budget.tryAcquire(50)).toBe(false);
    expect(budget.tryAcquire(40)).toBe(true);
    expect(budget.inUse).toBe(100);
    budget.release(60);
    budget.release(40);
    expect(budget.inUse).toBe(0);
    expect(budget.tryAcquire(500)).toBe(true);
    expect(budget.tryAcquire(1)).toBe(false);
    budget.release(500);
    expect(budget.tryAcquire(1)).toBe(true);
  });
});
