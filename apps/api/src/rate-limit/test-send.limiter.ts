import { Injectable } from '@nestjs/common';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import { WindowLimiter } from './limiter';

export const TEST_SENDS_PER_MINUTE = 10;

/** test-send makes outbound requests on demand: 10 per minute per department (SPEC §5). */
@Injectable()
export class TestSendLimiter {
  private readonly limiter: WindowLimiter;

  constructor(@InjectRedis() redis: RedisConnection) {
    this.limiter = new WindowLimiter(redis, { keyPrefix: 'pollarix:rl:test-send', points: TEST_SENDS_PER_MINUTE, durationSeconds: 60 });
  }

  async consume(departmentId: string): Promise<void> {
    await this.limiter.consume(departmentId);
  }
}
