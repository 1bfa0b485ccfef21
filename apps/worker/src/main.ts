import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from '@pollarix/config';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { announce } from '@pollarix/common';
import { WORKER_LOGGER } from './ops/worker-logger';
import { WorkerModule } from './worker.module';

async function bootstrap(): Promise<void> {
  // Validate before Nest starts: a bad variable is one line and exit code 2, not a logged stack trace.
  try {
    loadConfig({ requireConnections: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }

  // Start-up logs wait for the pino logger, so that every line of the process is JSON.
  const app = await NestFactory.createApplicationContext(WorkerModule, { abortOnError: false, bufferLogs: true });
  app.useLogger(app.get(PinoNestLogger));
  // process.exit(0) after the hooks ran: a SIGTERM'd worker that shut down cleanly exits 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  announce(app.get(WORKER_LOGGER), 'Worker', 'worker ready');
}

bootstrap().catch((error: unknown) => {
  // Whatever start-up logged before failing, then the error (pino flushes on exit).
  Logger.flush();
  new Logger('Worker').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
