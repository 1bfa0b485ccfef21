import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withTimeout } from '@pollarix/common';
import { InjectRedis } from './redis.module';
import type { RedisConnection } from './redis-connection';

/** Redis answers PING within `timeoutMs` (a reconnecting client would otherwise hold the probe). */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectRedis() private readonly redis: RedisConnection,
  ) {}

  async pingCheck<const Key extends string>(key: Key, timeoutMs = 2000): Promise<HealthIndicatorResult<Key>> {
    const check = this.indicators.check(key);
    try {
      await withTimeout(this.redis.ping(), timeoutMs, 'PING');
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}
