import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { announce } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Readiness, ReadinessReport } from '@pollarix/redis';
import { WORKER_LOGGER } from './worker-logger';
import { WorkerMetrics } from './worker-metrics';

/**
 * The worker's only HTTP: /health/live, /health/ready and /metrics on WORKER_HTTP_PORT. No auth.
 * There is no Nest HTTP here: readiness is the shared Readiness check, answered by hand.
 */
@Injectable()
export class WorkerHttpServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;

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
