import { RECOVERABLE_STATUSES, REDELIVERABLE_STATUSES } from './states';

describe('delivery states', () => {
  it('redeliver takes anything done, recover the failed and cancelled of it; neither a pending delivery', () => {
    expect(REDELIVERABLE_STATUSES).not.toContain('pending');
    expect(RECOVERABLE_STATUSES.every((status) => REDELIVERABLE_STATUSES.includes(status))).toBe(true);
    expect([...RECOVERABLE_STATUSES].sort()).toEqual(['cancelled', 'failed']);
  });
});
