import { DELIVERY_STATUSES } from '@pollarix/database';
import { ATTEMPT_RECORDABLE_STATUSES, CANCELLABLE_STATUSES, canMove, RECOVERABLE_STATUSES, REDELIVERABLE_STATUSES, statusAfterAttempt } from './states';

describe('delivery states', () => {
  it('redeliver and recover restart only what is done, and a restart makes it pending', () => {
    expect(REDELIVERABLE_STATUSES).not.toContain('pending');
    for (const status of [...REDELIVERABLE_STATUSES, ...RECOVERABLE_STATUSES]) expect(canMove(status, 'pending')).toBe(true);
    expect(RECOVERABLE_STATUSES.every((status) => REDELIVERABLE_STATUSES.includes(status))).toBe(true);
    expect([...RECOVERABLE_STATUSES].sort()).toEqual(['cancelled', 'failed']);
  });

  it('only pending is cancelled', () => {
    expect(CANCELLABLE_STATUSES).toEqual(['pending']);
    for (const status of DELIVERY_STATUSES) expect(canMove(status, 'cancelled')).toBe(ATTEMPT_RECORDABLE_STATUSES.includes(status));
  });

  it('an attempt moves a pending delivery to its outcome; a cancelled one stays cancelled', () => {
    for (const decided of ['pending', 'succeeded', 'failed'] as const) {
      expect(statusAfterAttempt('pending', decided)).toBe(decided);
      expect(statusAfterAttempt('cancelled', decided)).toBe('cancelled');
    }
    for (const from of ATTEMPT_RECORDABLE_STATUSES) {
      for (const decided of ['pending', 'succeeded', 'failed'] as const) expect(canMove(from, statusAfterAttempt(from, decided))).toBe(true);
    }
  });

  it('succeeded and failed are final until restarted', () => {
    for (const status of ['succeeded', 'failed'] as const) {
      expect(DELIVERY_STATUSES.filter((to) => canMove(status, to))).toEqual(['pending']);
    }
  });
});
