import { DATABASE_RETRY_AFTER_S } from '@pollarix/common';
import { databaseRetryDelay } from './configured-processor';

describe('databaseRetryDelay', () => {
  it('waits about DATABASE_RETRY_AFTER_S, ±50 % so that the jobs of one stall do not all come back together', () => {
    const base = DATABASE_RETRY_AFTER_S * 1000;
    expect(databaseRetryDelay(() => 0)).toBe(base / 2);
    expect(databaseRetryDelay(() => 0.5)).toBe(base);
    expect(databaseRetryDelay(() => 0.999999)).toBeLessThanOrEqual(base * 1.5);
  });
});
