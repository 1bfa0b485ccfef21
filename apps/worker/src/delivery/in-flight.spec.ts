import { AttemptSlots, ByteBudget, InFlightLimiter, throttleDelay } from './in-flight';

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

describe('AttemptSlots', () => {
  it('limits one department across all its webhooks, leaving the other departments their slots', () => {
    const slots = new AttemptSlots({ perWebhook: 2, perDepartment: 3 });
    expect(slots.tryAcquire('dept_a', 'wh_1')).toBeNull();
    expect(slots.tryAcquire('dept_a', 'wh_1')).toBeNull();
    expect(slots.tryAcquire('dept_a', 'wh_1')).toBe('webhook');
    expect(slots.tryAcquire('dept_a', 'wh_2')).toBeNull();
    expect(slots.tryAcquire('dept_a', 'wh_3')).toBe('department');
    // A refusal takes nothing: the webhook's slot of the refused department attempt was given back.
    expect(slots.current('dept_a', 'wh_3')).toEqual({ webhook: 0, department: 3 });
    expect(slots.tryAcquire('dept_b', 'wh_4')).toBeNull();
    slots.release('dept_a', 'wh_1');
    expect(slots.tryAcquire('dept_a', 'wh_3')).toBeNull();
    expect(slots.current('dept_a', 'wh_1')).toEqual({ webhook: 1, department: 3 });
  });
});

describe('throttleDelay', () => {
  it('grows while a job stays throttled, up to a cap, with jitter around it', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => throttleDelay(n, mid))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(throttleDelay(0, () => 0)).toBe(125);
    expect(throttleDelay(0, () => 0.999)).toBeLessThanOrEqual(375);
    expect(throttleDelay(-1, mid)).toBe(250);
  });
});
