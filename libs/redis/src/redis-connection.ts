import { Logger } from '@nestjs/common';
import IORedis, { Cluster, Redis, RedisOptions } from 'ioredis';

export type RedisConnection = Redis | Cluster;

/**
 * Builds an ioredis connection from REDIS_URL. Single node: redis:// or rediss://.
 * Sentinel and Cluster forms are documented in the README (issue: operations).
 */
export function createRedisConnection(url: string, name: string, overrides: RedisOptions = {}): RedisConnection {
  const client = new IORedis(url, { connectionName: `pollarix-${name}`, ...overrides });
  const logger = new Logger(`Redis:${name}`);
  let lastError = '';
  client.on('error', (error: Error) => {
    // ioredis retries on its own; log each distinct error once instead of once per retry.
    if (error.message !== lastError) logger.warn(`Redis connection error: ${error.message}`);
    lastError = error.message;
  });
  client.on('ready', () => (lastError = ''));
  return client;
}

