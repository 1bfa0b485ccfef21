import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AppError, ErrorCode } from '@pollarix/common';
import { Database } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';

/** Liveness (the process answers) and readiness (PostgreSQL and Redis answer). No auth. */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: Database,
    @InjectRedis() private readonly redis: RedisConnection,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok'; checks: Record<string, 'up'> }> {
    const [database, redis] = await Promise.allSettled([this.db.ping(), this.redis.ping()]);
    const down = [database.status === 'rejected' && 'postgresql', redis.status === 'rejected' && 'redis'].filter(Boolean);
    if (down.length > 0) throw new AppError(ErrorCode.Unavailable, `Not ready: ${down.join(', ')} unreachable`);
    return { status: 'ok', checks: { postgresql: 'up', redis: 'up' } };
  }
}
