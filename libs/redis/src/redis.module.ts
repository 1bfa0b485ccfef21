import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { createRedisConnection, RedisConnection } from './redis-connection';

export const REDIS = Symbol('REDIS');

/** Injects the shared Redis connection of this process: `@InjectRedis() redis: RedisConnection`. */
export const InjectRedis = () => Inject(REDIS);

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: RedisConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      // Fail a command after a couple of reconnect attempts rather than queueing it forever.
      useFactory: (config: AppConfig) => createRedisConnection(config.redisUrl!, 'app', { maxRetriesPerRequest: 2 }),
    },
    RedisCloser,
  ],
  exports: [REDIS],
})
export class RedisModule {}
