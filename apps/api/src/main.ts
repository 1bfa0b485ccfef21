import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '@pollarix/config';
import { announce } from '@pollarix/common';
import type { Logger } from 'pino';
import { API_LOGGER } from './api.module';
import { createApiApp, logListening } from './app';
import { ApiMetricsServer } from './metrics/metrics-server';

async function main(): Promise<void> {
  const config = loadConfig({ requireConnections: true });
  const app = await createApiApp(config);
  // SIGTERM closes the app (in-flight requests, pools) and exits 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(config.port, config.host);
  // Before "listening on", which supervisors and tests wait for: both lines are out once that one is.
  announce(app.get<Logger>(API_LOGGER), 'ApiMetrics', `metrics on port ${app.get(ApiMetricsServer).port}`);
  // The bound port, not the configured one: PORT=0 takes any free port (tests run APIs side by side).
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  logListening(app, config, `http://${config.host}:${port}`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`API failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
