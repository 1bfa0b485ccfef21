import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { answersWithin, RedisHealthIndicator } from './redis.health';

/** How long each dependency has to answer a readiness probe. */
const PROBE_TIMEOUT_MS = 2000;

export interface ReadinessReport {
  status: 'ok' | 'unavailable' | 'shutting_down';
  /** Each dependency's state: `{postgresql: "up", redis: "down"}`. */
  checks: Record<string, string>;
  /** Why each dependency that is not up is not: `{postgresql: "SELECT 1 timed out after 2000 ms"}`; absent when all are up. */
  reasons?: Record<string, string>;
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
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /**
   * SELECT 1 within the probe's time, saying why not (terminus' TypeORM indicator drops the driver's
   * error): "SELECT 1 timed out after 2000 ms", "timeout exceeded when trying to connect".
   */
  private postgres(): Promise<HealthIndicatorResult<'postgresql'>> {
    return answersWithin(this.indicators, 'postgresql', () => this.dataSource.query('SELECT 1'), PROBE_TIMEOUT_MS, 'SELECT 1');
  }

  async check(): Promise<ReadinessReport> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.postgres(), () => this.redis.pingCheck('redis', PROBE_TIMEOUT_MS)]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    const down = Object.entries(result.details).filter(([, { status }]) => status !== 'up');
    return {
      status: result.status === 'ok' ? 'ok' : result.status === 'shutting_down' ? 'shutting_down' : 'unavailable',
      checks: Object.fromEntries(Object.entries(result.details).map(([name, { status }]) => [name, status])),
      ...(down.length > 0 ? { reasons: Object.fromEntries(down.map(([name, { message }]) => [name, typeof message === 'string' ? message : 'unreachable'])) } : {}),
    };
  }
}
