import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ApiExcludeController } from '@nestjs/swagger';
import { AppError, ErrorCode } from '@pollarix/common';
import { RedisHealthIndicator } from '@pollarix/redis';

export interface ReadyBody {
  status: 'ok';
  checks: Record<string, string>;
}

/** Liveness (the process answers) and readiness (PostgreSQL and Redis answer), by terminus. No auth. */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 `{status: "ok", checks: {postgresql: "up", redis: "up"}}`; else 503 in the API's error format. */
  @Get('ready')
  async ready(): Promise<ReadyBody> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.postgres.pingCheck('postgresql', { timeout: 2000 }), () => this.redis.pingCheck('redis')]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const failed = error.getResponse() as HealthCheckResult;
      const down = Object.keys(failed.error ?? {});
      throw new AppError(
        ErrorCode.Unavailable,
        failed.status === 'shutting_down' ? 'Not ready: shutting down' : `Not ready: ${down.join(', ')} unreachable`,
      );
    }
    return { status: 'ok', checks: Object.fromEntries(Object.entries(result.details).map(([name, { status }]) => [name, status])) };
  }
}
