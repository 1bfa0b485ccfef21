import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@pollarix/config';
import { DatabaseModule } from '@pollarix/database';
import { DeliveryModule } from '@pollarix/delivery';
import { RedisModule } from '@pollarix/redis';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { PublisherModule } from '@pollarix/events';
import { QueueModule } from '@pollarix/queue';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { EventsController } from './events/events.controller';
import { InternalEventsController } from './events/internal-events.controller';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ApiRateLimitMiddleware } from './rate-limit/api-rate-limit.middleware';
import { WebhooksModule } from './webhooks/webhooks.module';

/** The app's root pino logger, for the lines that bypass LOG_LEVEL (app.ts: announce). */
export const API_LOGGER = Symbol('API_LOGGER');

export interface ApiModuleOptions {
  /** The app's pino logger (app.ts installs its request logger ahead of the body parsers). */
  logger: PinoLogger;
}

@Module({})
export class ApiModule implements NestModule {
  /** The whole API for a validated configuration (tests pass their own). */
  static forConfig(config: AppConfig, { logger }: ApiModuleOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        // useExisting: the request logger is pino-http installed by app.ts; Nest's Logger writes through
        // the same pino. No per-request binding (forRoutes: []): it runs every request in an
        // AsyncLocalStorage, whose promise hooks cost ~10% of the webhook list's throughput on Node 20;
        // the lines that need the request id (the exception filter's) carry it themselves.
        LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true, forRoutes: [] }),
        ConfigModule.withConfig(config),
        DatabaseModule,
        RedisModule,
        QueueModule.register('producer'),
        PublisherModule,
        DeliveryModule,
        AuthModule,
        WebhooksModule,
        DeliveriesModule,
        HealthModule,
        MetricsModule,
        AdminModule,
      ],
      controllers: [EventsController, InternalEventsController],
      providers: [ApiRateLimitMiddleware, { provide: API_LOGGER, useValue: logger }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ApiRateLimitMiddleware).forRoutes('*');
  }
}
