import { getQueueToken } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppConfig, ConfigModule } from '@pollarix/config';
import { Database, DatabaseModule } from '@pollarix/database';
import { DeliveryModule } from '@pollarix/delivery';
import { DeliveryLifecycle, lifecyclePolicy } from '@pollarix/lifecycle';
import { QueueModule, QueueName } from '@pollarix/queue';
import { RedisModule } from '@pollarix/redis';
import { PublisherModule } from '@pollarix/events';
import { LoggerModule } from 'nestjs-pino';
import type { Queue } from 'bullmq';
import type { Logger as PinoLogger } from 'pino';
import { AttemptLog } from './delivery/attempt-log';
import { DeliveryService } from './delivery/delivery.service';
import { FanOutService } from './delivery/fan-out.service';
import { SweeperService } from './delivery/sweeper.service';
import { DisableAnnouncer } from './delivery/disable-announcer';
import { WebhookTargets } from './delivery/webhook-targets';
import { DeliveriesProcessor } from './processors/deliveries.processor';
import { Readiness, RedisHealthIndicator, WebhookChanges } from '@pollarix/redis';
import { WorkerHttpServer } from './ops/worker-http';
import { WORKER_LOGGER, WorkerLoggerModule } from './ops/worker-logger';
import { WorkerMetrics } from './ops/worker-metrics';
import { EventsProcessor } from './processors/events.processor';

/** The delivery worker: queue processors and the sweeper; no HTTP API. */
@Module({
  imports: [
    ConfigModule.forRoot({ requireConnections: true }),
    // An application context has no requests: nestjs-pino only carries Nest's Logger to pino here.
    WorkerLoggerModule,
    LoggerModule.forRootAsync({ imports: [WorkerLoggerModule], inject: [WORKER_LOGGER], useFactory: (logger: PinoLogger) => ({ pinoHttp: { logger } }) }),
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
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
    DisableAnnouncer,
    {
      provide: DeliveryLifecycle,
      inject: [Database, getQueueToken(QueueName.Deliveries), AppConfig, AttemptLog, DisableAnnouncer],
      useFactory: (db: Database, queue: Queue, config: AppConfig, log: AttemptLog, announcer: DisableAnnouncer) =>
        new DeliveryLifecycle({ repos: db.repos, queue, policy: lifecyclePolicy(config), recorder: log, onDisabled: (disabled) => announcer.announce(disabled) }),
    },
    WebhookChanges,
    WebhookTargets,
    SweeperService,
    DeliveriesProcessor,
    EventsProcessor,
    WorkerMetrics,
    RedisHealthIndicator,
    Readiness,
    WorkerHttpServer,
  ],
})
export class WorkerModule {}
