import { applyRetryAfter, nextAttemptDelay } from './retry-policy';

describe('nextAttemptDelay', () => {
  const schedule = [5_000, 300_000, 1_800_000] as const;
  const middle = () => 0.5;

  it.each([
    [1, 5_000],
    [2, 300_000],
    [3, 1_800_000],
  ])('after attempt %i waits schedule[n-1] = %i without jitter at the midpoint', (attempt, expected) => {
    expect(nextAttemptDelay(schedule, attempt, middle)).toBe(expected);
  });

  it('applies up to -20% and +20% jitter at the extremes of random()', () => {
    expect(nextAttemptDelay(schedule, 2, () => 0)).toBe(240_000);
    expect(nextAttemptDelay(schedule, 2, () => 0.999_999_999)).toBe(360_000);
    expect(nextAttemptDelay(schedule, 2, () => 0.25)).toBe(270_000);
  });

  it('stays within ±20% with the real random source', () => {
    for (let i = 0; i < 1000; i += 1) {
      const delay = nextAttemptDelay(schedule, 1);
      expect(delay).not.toBeNull();
      expect(delay).toBeGreaterThanOrEqual(4_000);
      expect(delay).toBeLessThanOrEqual(6_000);
    }
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(nextAttemptDelay([1_001], 1, () => 0.123))).toBe(true);
  });

  it('handles a zero delay (an immediate retry)', () => {
    expect(nextAttemptDelay([0], 1, () => 0)).toBe(0);
  });

  it.each([0, -1, 4, 100, 1.5, Number.NaN])('returns null for attempt %p (exhausted or nonsensical)', (attempt) => {
    expect(nextAttemptDelay(schedule, attempt, middle)).toBeNull();
  });

  it('returns null for an empty schedule', () => {
    expect(nextAttemptDelay([], 1, middle)).toBeNull();
  });
});

describe('applyRetryAfter', () => {
  it('keeps the delay when there is no Retry-After', () => {
    expect(applyRetryAfter(5_000, null)).toBe(5_000);
  });

  it('keeps the delay when Retry-After is shorter', () => {
    expect(applyRetryAfter(5_000, 1_000)).toBe(5_000);
  });

  it('waits at least Retry-After when it is longer', () => {
    expect(applyRetryAfter(5_000, 120_000)).toBe(120_000);
  });

  it('caps Retry-After at 24 h by default', () => {
    expect(applyRetryAfter(5_000, 7 * 24 * 3600 * 1000)).toBe(24 * 3600 * 1000);
  });

  it('honours a custom cap', () => {
    expect(applyRetryAfter(5_000, 600_000, 60_000)).toBe(60_000);
  });

  it('never shortens a scheduled delay that is already beyond the cap', () => {
    expect(applyRetryAfter(36 * 3600 * 1000, 48 * 3600 * 1000)).toBe(36 * 3600 * 1000);
  });

  it('ignores a negative Retry-After', () => {
    expect(applyRetryAfter(5_000, -10_000)).toBe(5_000);
  });
});
