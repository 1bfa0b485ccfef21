import { INestApplication, Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppExceptionFilter, AppValidationPipe, jsonBody, requestId, requireJsonBody } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import cookieParser from 'cookie-parser';
import { ApiModule } from './api.module';
import { setupSwagger } from './docs/swagger';

export const LOG_LEVELS: Record<string, LogLevel[]> = {
  silent: [],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
};

/** The configured API application, not yet listening: main.ts listens, tests use it in-process. */
export async function createApiApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forConfig(config), {
    bodyParser: false,
    logger: LOG_LEVELS[config.logLevel] ?? LOG_LEVELS.info,
  });
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // Order matters: the request id first so that every response, errors included, carries it.
  app.use(requestId, requireJsonBody, jsonBody, cookieParser());
  app.useGlobalFilters(new AppExceptionFilter());
  app.useGlobalPipes(new AppValidationPipe());
  setupSwagger(app);
  return app;
}

export function logListening(config: AppConfig, url: string): void {
  new Logger('Api').log(`Pollarix Webhooks API listening on ${url}`);
  if (config.deliveryAllowPrivateNetworks) {
    new Logger('Api').warn('DELIVERY_ALLOW_PRIVATE_NETWORKS=true: deliveries may reach loopback and private networks');
  }
}
