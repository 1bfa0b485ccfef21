import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { RedisHealthIndicator } from './redis.health';

export interface ReadinessReport {
  status: 'ok' | 'unavailable' | 'shutting_down';
  /** Each dependency's state: `{postgresql: "up", redis: "down"}`. */
  checks: Record<string, string>;
}

/**
 * Readiness of an API or worker process (SPEC §9): PostgreSQL and Redis answer within 2 s each, and
 * the process is not shutting down. Terminus' failure exception becomes a report; each app shapes
 * its own answer from it.
 */
@Injectable()
export class Readiness {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  async check(): Promise<ReadinessReport> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.postgres.pingCheck('postgresql', { timeout: 2000 }), () => this.redis.pingCheck('redis')]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    return {
      status: result.status === 'ok' ? 'ok' : result.status === 'shutting_down' ? 'shutting_down' : 'unavailable',
      checks: Object.fromEntries(Object.entries(result.details).map(([name, { status }]) => [name, status])),
    };
  }
}
