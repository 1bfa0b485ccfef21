import fc from 'fast-check';
import { shouldAutoDisable } from './failure-streak';

const DAY = 24 * 3600 * 1000;
const policy = { minFailures: 10, afterMs: 5 * DAY };
const now = Date.UTC(2026, 5, 1);

describe('shouldAutoDisable', () => {
  it('needs both the count and the span', () => {
    expect(shouldAutoDisable({ failures: 10, failingSince: new Date(now - 5 * DAY) }, policy, now)).toBe(true);
    expect(shouldAutoDisable({ failures: 9, failingSince: new Date(now - 30 * DAY) }, policy, now)).toBe(false);
    expect(shouldAutoDisable({ failures: 500, failingSince: new Date(now - 5 * DAY + 1) }, policy, now)).toBe(false);
  });

  it('a longer or older streak never turns a disable back', () => {
    fc.assert(
      fc.property(fc.nat(40), fc.nat(10 * DAY), fc.nat(5), fc.nat(DAY), (failures, age, more, older) => {
        const streak = { failures, failingSince: new Date(now - age) };
        const longer = { failures: failures + more, failingSince: new Date(now - age - older) };
        if (shouldAutoDisable(streak, policy, now)) expect(shouldAutoDisable(longer, policy, now)).toBe(true);
      }),
    );
  });
});
