import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@pollarix/config';
import { DatabaseModule } from '@pollarix/database';
import { DeliveryModule } from '@pollarix/delivery';
import { RedisModule } from '@pollarix/redis';
import { AuthModule } from './auth/auth.module';
import { PublisherModule } from '@pollarix/events';
import { QueueModule } from '@pollarix/queue';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { EventsController } from './events/events.controller';
import { InternalEventsController } from './events/internal-events.controller';
import { HealthController } from './health/health.controller';
import { ApiRateLimitMiddleware } from './rate-limit/api-rate-limit.middleware';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class ApiModule implements NestModule {
  /** The whole API for a validated configuration (tests pass their own). */
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.withConfig(config),
        DatabaseModule,
        RedisModule,
        QueueModule.register('producer'),
        PublisherModule,
        DeliveryModule,
        AuthModule,
        WebhooksModule,
        DeliveriesModule,
      ],
      controllers: [EventsController, InternalEventsController, HealthController],
      providers: [ApiRateLimitMiddleware],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ApiRateLimitMiddleware).forRoutes('*');
  }
}
