import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { announce, metricsRoute, OpsHttpServer, OpsRoute } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import type { Logger } from 'pino';
import { Readiness, ReadinessReport } from '@pollarix/redis';
import { WORKER_LOGGER } from './worker-logger';
import { WorkerMetrics } from './worker-metrics';

/**
 * The worker's only HTTP: /health/live, /health/ready and /metrics on WORKER_HTTP_PORT. No auth.
 * There is no Nest HTTP here: the shared operator server (as the API's metrics port), with readiness
 * from the shared Readiness check.
 */
@Injectable()
export class WorkerHttpServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: OpsHttpServer;

  constructor(
    private readonly config: AppConfig,
    private readonly readiness: Readiness,
    private readonly metrics: WorkerMetrics,
    @Inject(WORKER_LOGGER) private readonly logger: Logger,
  ) {}

  /** 200 `{status: "ok", checks: {postgresql: "up", redis: "up"}}`; 503 with the checks that are down. */
  async ready(): Promise<{ ok: boolean; body: ReadinessReport }> {
    const body = await this.readiness.check();
    return { ok: body.status === 'ok', body };
  }

  async onApplicationBootstrap(): Promise<void> {
    const live: OpsRoute = () => ({ status: 200, body: JSON.stringify({ status: 'ok' }) });
    this.server = await OpsHttpServer.listen(this.config.workerHttpPort, this.config.host, {
      '/health': live,
      '/health/live': live,
      '/health/ready': async () => {
        const { ok, body } = await this.ready();
        return { status: ok ? 200 : 503, body: JSON.stringify(body) };
      },
      '/metrics': metricsRoute(this.metrics.registry),
    });
    announce(this.logger, 'WorkerHttp', `health and metrics on port ${this.server.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}
