import { TOKEN_CACHE_TTL_MS, TOKEN_REVOKED_CHANNEL } from '@pollarix/auth';
import { AppConfig } from '@pollarix/config';
import { createRedisConnection } from '@pollarix/redis';
import { ownLocalRedisUrl } from './local-services';

/**
 * Tells running API processes that a token was revoked, so that their verification caches drop it at
 * once. Best effort: with no Redis to reach, no API shares it either, and caches expire on their own.
 */
export async function announceRevocation(config: AppConfig, tokenId: string): Promise<string | null> {
  const url = config.redisUrl ?? (await ownLocalRedisUrl(config));
  if (url === undefined) return null; // no local Redis of this clone runs: no API of it listens either
  // Any REDIS_URL form (single node, Sentinel, Cluster); no reconnecting, and no logging to the CLI's stdout.
  const redis = createRedisConnection(url, 'cli', { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.removeAllListeners('error');
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.publish(TOKEN_REVOKED_CHANNEL, tokenId);
    return null;
  } catch (error) {
    return `could not announce the revocation on Redis (${(error as Error).message}); running API processes stop accepting the token within ${TOKEN_CACHE_TTL_MS / 1000} s`;
  } finally {
    redis.disconnect();
  }
}
