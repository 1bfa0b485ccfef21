import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { Database } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { WorkerMetrics } from './worker-metrics';

/** The worker's only HTTP: /health/live, /health/ready and /metrics on WORKER_HTTP_PORT. No auth. */
@Injectable()
export class WorkerHttpServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerHttp');
  private server?: Server;

  constructor(
    private readonly config: AppConfig,
    private readonly db: Database,
    @InjectRedis() private readonly redis: RedisConnection,
    private readonly metrics: WorkerMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.server = createServer((req, res) => {
      const reply = (status: number, body: string, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body);
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') return reply(404, JSON.stringify({ status: 404, detail: [{ msg: 'Not found', type: 'not_found' }] }));
      if (path === '/health/live' || path === '/health') return reply(200, JSON.stringify({ status: 'ok' }));
      if (path === '/health/ready') {
        void Promise.allSettled([this.db.ping(), this.redis.ping()]).then(([pg, redis]) => {
          const checks = { postgresql: pg.status === 'fulfilled' ? 'up' : 'down', redis: redis.status === 'fulfilled' ? 'up' : 'down' };
          const ok = checks.postgresql === 'up' && checks.redis === 'up';
          reply(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'unavailable', checks }));
        });
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
    this.logger.log(`health and metrics on port ${(this.server.address() as AddressInfo).port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
