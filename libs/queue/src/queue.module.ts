import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { DEFAULT_JOB_OPTIONS, QUEUE_PREFIX, QueueName } from './queues';

export type QueueRole = 'producer' | 'worker';

/**
 * BullMQ for a process. Workers keep retrying Redis forever (`maxRetriesPerRequest: null`, as BullMQ
 * requires); producers fail fast (`enableOfflineQueue: false`) so that a publish is never acknowledged
 * on the strength of a command stuck in a client-side buffer.
 */
@Module({})
export class QueueModule {
  static register(role: QueueRole): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            // Options, not a client: BullMQ then owns (and closes) the connections it makes.
            connection: {
              url: config.redisUrl!,
              connectionName: `pollarix-queue-${role}`,
              maxRetriesPerRequest: role === 'worker' ? null : 2,
              enableOfflineQueue: role === 'worker',
            },
            prefix: QUEUE_PREFIX,
            defaultJobOptions: DEFAULT_JOB_OPTIONS,
          }),
        }),
        BullModule.registerQueue({ name: QueueName.Events }, { name: QueueName.Deliveries }),
      ],
      exports: [BullModule],
    };
  }
}
