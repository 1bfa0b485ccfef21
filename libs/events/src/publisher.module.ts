import { getQueueToken } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { Database } from '@pollarix/database';
import { QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { EventPublisher } from './publisher';

/** EventPublisher for Nest apps; needs DatabaseModule and QueueModule. Plain scripts construct it directly. */
@Global()
@Module({
  providers: [
    {
      provide: EventPublisher,
      inject: [Database, getQueueToken(QueueName.Deliveries)],
      useFactory: (db: Database, queue: Queue) => new EventPublisher(db, queue),
    },
  ],
  exports: [EventPublisher],
})
export class PublisherModule {}
