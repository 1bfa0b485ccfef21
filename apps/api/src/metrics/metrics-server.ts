import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { metricsRoute, OpsHttpServer } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { ApiMetrics } from './api-metrics';

/**
 * The API's /metrics on an internal port of its own (API_METRICS_PORT), as the worker's are: never on
 * the public PORT, where it would tell anyone the traffic by route. No auth; keep the port off the
 * internet (docker-compose.yml does not publish it; Prometheus reaches it on the internal network).
 */
@Injectable()
export class ApiMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: OpsHttpServer;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: ApiMetrics,
  ) {}

  /** The port it listens on (API_METRICS_PORT, or the free port 0 chose); undefined before start-up. */
  get port(): number | undefined {
    return this.server?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = await OpsHttpServer.listen(this.config.apiMetricsPort, this.config.host, { '/metrics': metricsRoute(this.metrics.registry) });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}
