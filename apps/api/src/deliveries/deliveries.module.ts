import { getQueueToken } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { Database } from '@pollarix/database';
import { DeliveryLifecycle, lifecyclePolicy } from '@pollarix/lifecycle';
import { QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { AuthModule } from '../auth/auth.module';
import { DeliveriesController } from './deliveries.controller';
import { DeliveriesService } from './deliveries.service';

@Module({
  imports: [AuthModule],
  controllers: [DeliveriesController],
  providers: [
    DeliveriesService,
    {
      provide: DeliveryLifecycle,
      inject: [Database, getQueueToken(QueueName.Deliveries), AppConfig],
      useFactory: (db: Database, queue: Queue, config: AppConfig) => new DeliveryLifecycle({ repos: db.repos, queue, policy: lifecyclePolicy(config) }),
    },
  ],
  exports: [DeliveryLifecycle],
})
export class DeliveriesModule {}
