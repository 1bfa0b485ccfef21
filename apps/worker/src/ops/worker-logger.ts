import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { createProcessLogger } from '@pollarix/common';
import type { Logger } from 'pino';

/** The worker's root pino logger (nestjs-pino's Logger writes through it). */
export const WORKER_LOGGER = Symbol('WORKER_LOGGER');

/**
 * The worker's pino logger: JSON lines at LOG_LEVEL on stdout, or pino-pretty when stdout is a
 * terminal. Nest's Logger is routed through it (nestjs-pino), so every line of the process is JSON.
 */
function createWorkerLogger(config: AppConfig): Logger {
  return createProcessLogger(
    // Nothing logs these; should a future line carry them, they stay out of the log.
    { service: 'worker', level: config.logLevel, redact: ['headers', 'secret', 'url', '*.headers', '*.secret', '*.url'] },
  );
}

@Global()
@Module({
  providers: [{ provide: WORKER_LOGGER, inject: [AppConfig], useFactory: (config: AppConfig) => createWorkerLogger(config) }],
  exports: [WORKER_LOGGER],
})
export class WorkerLoggerModule {}
