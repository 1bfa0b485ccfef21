import { Module } from '@nestjs/common';
import { ConfigModule } from '@pollarix/config';
import { DatabaseModule } from '@pollarix/database';
import { DeliveryModule } from '@pollarix/delivery';
import { QueueModule } from '@pollarix/queue';
import { RedisModule } from '@pollarix/redis';
import { PublisherModule } from '@pollarix/events';
import { AttemptLog } from './delivery/attempt-log';
import { DeliveryService } from './delivery/delivery.service';
import { FanOutService } from './delivery/fan-out.service';
import { SweeperService } from './delivery/sweeper.service';
import { WebhookDisabler } from './delivery/webhook-disabler';
import { DeliveriesProcessor } from './processors/deliveries.processor';
import { WorkerHttpServer } from './ops/worker-http';
import { WorkerMetrics } from './ops/worker-metrics';
import { EventsProcessor } from './processors/events.processor';

/** The delivery worker: queue processors and the sweeper; no HTTP API. */
@Module({
  imports: [
    ConfigModule.forRoot({ requireConnections: true }),
    DatabaseModule,
    RedisModule,
    QueueModule.register('worker'),
    PublisherModule,
    DeliveryModule,
  ],
  providers: [
    AttemptLog,
    DeliveryService,
    FanOutService,
    WebhookDisabler,
    SweeperService,
    DeliveriesProcessor,
    EventsProcessor,
    WorkerMetrics,
    WorkerHttpServer,
  ],
})
export class WorkerModule {}
