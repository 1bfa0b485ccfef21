import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withTimeout } from '@pollarix/common';
import { InjectRedis } from './redis.module';
import type { RedisConnection } from './redis-connection';

/**
 * `key` is up when `probe` answers within `timeoutMs`, else down with why: the client's error, or
 * "`what` timed out after `timeoutMs` ms" (e.g. "SELECT 1 timed out after 2000 ms").
 */
export async function answersWithin<const Key extends string>(
  indicators: HealthIndicatorService,
  key: Key,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  what: string,
): Promise<HealthIndicatorResult<Key>> {
  const check = indicators.check(key);
  try {
    await withTimeout(probe(), timeoutMs, what);
    return check.up();
  } catch (error) {
    return check.down({ message: (error as Error)?.message ?? String(error) });
  }
}

/** Redis answers PING within `timeoutMs` (a reconnecting client would otherwise hold the probe). */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectRedis() private readonly redis: RedisConnection,
  ) {}

  pingCheck<const Key extends string>(key: Key, timeoutMs = 2000): Promise<HealthIndicatorResult<Key>> {
    return answersWithin(this.indicators, key, () => this.redis.ping(), timeoutMs, 'PING');
  }
}
