import { INestApplication, Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { announce, AppExceptionFilter, AppValidationPipe, createProcessLogger, jsonBody, requestId, requireJsonBody } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import cookieParser from 'cookie-parser';
import type { Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { pinoHttp } from 'pino-http';
import { API_LOGGER, ApiModule } from './api.module';
import { refuseTokenOutsideHeader } from './auth/token-placement';
import { CONSOLE_PATH, consoleHandler } from './console/console';
import { setupSwagger } from './docs/swagger';
import { HttpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { isProbePath, pathOnly, routeLabel } from './metrics/route-label';

export interface ApiAppOptions {
  /** Where the JSON log lines go: stdout by default (pretty on a terminal); tests capture them. */
  logDestination?: DestinationStream;
}

/** Never logged, should a serializer ever include them: credentials, cookies and CSRF tokens. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-csrf-token"]',
];

/** The API's pino logger: JSON lines at LOG_LEVEL, or pino-pretty when stdout is a terminal. */
function createApiLogger(config: AppConfig, destination?: DestinationStream): PinoLogger {
  return createProcessLogger(
    {
      service: 'api',
      level: config.logLevel,
      redact: REDACTED_PATHS,
      prettyIgnore: ['req', 'res', 'responseTime'],
      prettyMessage: '{if context}[{context}] {end}{msg}{if req} {req.method} {req.url} {res.statusCode} {responseTime}ms{end}',
    },
    destination,
  );
}

/**
 * One line per request when its response is done: request id (the X-Request-Id the response carries),
 * method, path without the query string, matched route pattern, status and duration. No headers, no
 * bodies. requestId() runs first and sets req.id, which pino-http's default genReqId takes.
 */
function requestLogger(logger: PinoLogger) {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    wrapSerializers: false,
    serializers: {
      req: (req: Request) => ({ method: req.method, url: pathOnly(req.originalUrl ?? req.url) }),
      res: (res: Response) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (req, res, error) => {
      if (error || res.statusCode >= 500) return 'error';
      // Probes and scrapes at debug: one line per request, without drowning the rest at info.
      return isProbePath((req as Request).originalUrl ?? req.url ?? '') ? 'debug' : 'info';
    },
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customSuccessObject: (req, _res, value: Record<string, unknown>) => ({ ...value, route: routeLabel(req as Request) }),
    // The exception filter logs unexpected errors with their stack; this line stays one short record.
    customErrorObject: (req, res, _error, value: Record<string, unknown>) => ({ res, responseTime: value.responseTime, route: routeLabel(req as Request) }),
  });
}

/** The configured API application, not yet listening: main.ts listens, tests use it in-process. */
export async function createApiApp(config: AppConfig, options: ApiAppOptions = {}): Promise<INestApplication> {
  const logger = createApiLogger(config, options.logDestination);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forConfig(config, { logger }), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  // TRUST_PROXY counts the trusted hops in front: req.ip is the address the outermost trusted proxy
  // appended to X-Forwarded-For, never an entry further left, which the client writes itself (and would
  // pick a rate-limit budget with). Express reads a number as a hop count: 0 trusts nobody.
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // Order matters: the request id first so that every response, errors included, carries it; then the
  // request log and the metrics, so that requests refused by the body checks are logged and counted.
  // A token outside the Authorization header is refused once the body is parsed, on every route.
  app.use(requestId, requestLogger(logger), app.get(HttpMetricsMiddleware).use, requireJsonBody, jsonBody, cookieParser(), refuseTokenOutsideHeader);
  // The web console's static files: ahead of the rate limiter (they carry no credential and cost no I/O).
  app.use(CONSOLE_PATH, consoleHandler());
  app.useGlobalFilters(new AppExceptionFilter());
  app.useGlobalPipes(new AppValidationPipe());
  setupSwagger(app);
  return app;
}

export function logListening(app: INestApplication, config: AppConfig, url: string): void {
  announce(app.get<PinoLogger>(API_LOGGER), 'Api', `Pollarix Webhooks API listening on ${url}`);
  if (config.deliveryAllowPrivateNetworks) {
    new NestLogger('Api').warn('DELIVERY_ALLOW_PRIVATE_NETWORKS=true: deliveries may reach loopback and private networks');
  }
}
