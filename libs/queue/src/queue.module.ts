import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { createQueueConnection, QueueConnection } from '@pollarix/redis';
import { DEFAULT_JOB_OPTIONS, QUEUE_PREFIX, QueueName } from './queues';

export type QueueRole = 'producer' | 'worker';

const QUEUE_CONNECTION = Symbol('QUEUE_CONNECTION');

/**
 * A role's Redis options for BullMQ: workers keep retrying Redis forever (`maxRetriesPerRequest: null`,
 * as BullMQ requires); producers fail fast (`enableOfflineQueue: false`) so that a publish is never
 * acknowledged on the strength of a command stuck in a client-side buffer.
 */
export function queueRedisOptions(role: QueueRole): { maxRetriesPerRequest: number | null; enableOfflineQueue: boolean } {
  return role === 'worker' ? { maxRetriesPerRequest: null, enableOfflineQueue: true } : { maxRetriesPerRequest: 2, enableOfflineQueue: false };
}

/**
 * Releases the Cluster client BullMQ was given (options for one node or Sentinel: BullMQ closes its
 * own). This module is global and inserted before the Bull modules it imports, so Nest runs this hook
 * after theirs: every Worker and Queue is closed by then.
 */
@Injectable()
class QueueConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(QUEUE_CONNECTION) private readonly queueConnection: QueueConnection) {}

  onApplicationShutdown(): Promise<void> {
    return this.queueConnection.close();
  }
}

/**
 * BullMQ for a process, with its role's Redis options (queueRedisOptions). REDIS_URL may name one node,
 * a Sentinel master or a Cluster (keys share the `{pollarix}` hash tag, so BullMQ's scripts run on a Cluster).
 */
@Module({})
export class QueueModule {
  static register(role: QueueRole): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [QUEUE_CONNECTION],
          useFactory: (queueConnection: QueueConnection) => ({
            connection: queueConnection.connection,
            prefix: QUEUE_PREFIX,
            defaultJobOptions: DEFAULT_JOB_OPTIONS,
          }),
        }),
        BullModule.registerQueue({ name: QueueName.Events }, { name: QueueName.Deliveries }),
      ],
      providers: [
        {
          provide: QUEUE_CONNECTION,
          inject: [AppConfig],
          useFactory: (config: AppConfig): QueueConnection => createQueueConnection(config.redisUrl!, `queue-${role}`, queueRedisOptions(role)),
        },
        QueueConnectionCloser,
      ],
      exports: [BullModule, QUEUE_CONNECTION],
    };
  }
}
