import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { announce } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { RedisHealthIndicator } from '@pollarix/redis';
import { WORKER_LOGGER } from './worker-logger';
import { WorkerMetrics } from './worker-metrics';

interface ReadyBody {
  status: 'ok' | 'unavailable' | 'shutting_down';
  checks: Record<string, string>;
}

/**
 * The worker's only HTTP: /health/live, /health/ready and /metrics on WORKER_HTTP_PORT. No auth.
 * There is no Nest HTTP here, so terminus' HealthCheckService is called directly for readiness.
 */
@Injectable()
export class WorkerHttpServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly metrics: WorkerMetrics,
    @Inject(WORKER_LOGGER) private readonly logger: Logger,
  ) {}

  /** 200 `{status: "ok", checks: {postgresql: "up", redis: "up"}}`; 503 with the checks that are down. */
  async ready(): Promise<{ ok: boolean; body: ReadyBody }> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.postgres.pingCheck('postgresql', { timeout: 2000 }), () => this.redis.pingCheck('redis')]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    const checks = Object.fromEntries(Object.entries(result.details).map(([name, { status }]) => [name, status]));
    const status = result.status === 'ok' ? 'ok' : result.status === 'shutting_down' ? 'shutting_down' : 'unavailable';
    return { ok: status === 'ok', body: { status, checks } };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = createServer((req, res) => {
      const reply = (status: number, body: string, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body);
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') return reply(404, JSON.stringify({ status: 404, detail: [{ msg: 'Not found', type: 'not_found' }] }));
      if (path === '/health/live' || path === '/health') return reply(200, JSON.stringify({ status: 'ok' }));
      if (path === '/health/ready') {
        this.ready().then(
          ({ ok, body }) => reply(ok ? 200 : 503, JSON.stringify(body)),
          (error: Error) => reply(500, JSON.stringify({ status: 500, detail: [{ msg: `Health check failed: ${error.message}`, type: 'internal_error' }] })),
        );
        return;
      }
      if (path === '/metrics') {
        void this.metrics.registry.metrics().then(
          (text) => reply(200, text, this.metrics.registry.contentType),
          (error: Error) => reply(500, `# metrics failed: ${error.message}\n`, 'text/plain'),
        );
        return;
      }
      reply(404, JSON.stringify({ status: 404, detail: [{ msg: `No route for GET ${path}`, type: 'not_found' }] }));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.config.workerHttpPort, this.config.host, resolve));
    announce(this.logger, 'WorkerHttp', `health and metrics on port ${(this.server.address() as AddressInfo).port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
