import { Global, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { closeRedisConnection, createRedisConnection, RedisConnection } from './redis-connection';
import { warnOnUnsafeRedisSettings } from './redis-settings';

export const REDIS = Symbol('REDIS');

/** Injects the shared Redis connection of this process: `@InjectRedis() redis: RedisConnection`. */
export const InjectRedis = () => Inject(REDIS);

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: RedisConnection) {}

  onApplicationShutdown(): Promise<void> {
    return closeRedisConnection(this.redis);
  }
}

/** Warns at start-up (API and worker alike) when the Redis reached can lose jobs: eviction on, or AOF off. */
@Injectable()
class RedisSettingsCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('Redis');

  constructor(@InjectRedis() private readonly redis: RedisConnection) {}

  onApplicationBootstrap(): void {
    // Not awaited: start-up neither waits for nor fails on a diagnostic (it never rejects).
    void warnOnUnsafeRedisSettings(this.redis, this.logger);
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
    RedisSettingsCheck,
  ],
  exports: [REDIS],
})
export class RedisModule {}
