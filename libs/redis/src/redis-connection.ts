import { Logger } from '@nestjs/common';
import type { ConnectionOptions, RedisOptions as BullRedisOptions } from 'bullmq';
import IORedis, { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { ClusterTopology, parseRedisUrl } from '@pollarix/config';

export type RedisConnection = Redis | Cluster;

/** How long closing a Cluster client waits for its node connections to end. */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Builds an ioredis connection from REDIS_URL: one node (redis://, rediss://), a Sentinel-managed
 * master (redis+sentinel://) or a Cluster (redis+cluster://); see redis-url.ts for the forms.
 * `overrides` are per-connection ioredis options; on a Cluster they apply to every node connection,
 * except `enableOfflineQueue`, `lazyConnect` and `retryStrategy`, which are the Cluster's own.
 */
export function createRedisConnection(url: string, name: string, overrides: RedisOptions = {}): RedisConnection {
  const topology = parseRedisUrl(url);
  const options: RedisOptions = { connectionName: `pollarix-${name}`, ...overrides };
  const client =
    topology.kind === 'single'
      ? new IORedis(url, options)
      : topology.kind === 'sentinel'
        ? new IORedis({ ...topology.options, ...options })
        : new Cluster(topology.nodes, clusterOptions(topology, options));
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

/** Splits per-connection options between a Cluster and the connections it opens to its nodes. */
function clusterOptions(topology: ClusterTopology, options: RedisOptions): ClusterOptions {
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...nodeOptions } = options;
  return {
    ...topology.options,
    redisOptions: { ...topology.options.redisOptions, ...nodeOptions },
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(retryStrategy !== undefined ? { clusterRetryStrategy: retryStrategy } : {}),
  };
}

/** What to give BullMQ as `connection`, and how to release it once every Queue and Worker is closed. */
export interface QueueConnection {
  connection: ConnectionOptions;
  /** Closes the Cluster client handed to BullMQ (BullMQ never closes a client it was given); else a no-op. */
  close(): Promise<void>;
}

/**
 * BullMQ's connection for REDIS_URL. One node and Sentinel are ioredis options, so BullMQ opens and
 * closes its own connections; a Cluster can only be given as a client, which BullMQ shares with
 * every Queue (and duplicates for Workers), so the caller closes it after them. Workers need
 * `maxRetriesPerRequest: null` in `overrides`.
 */
export function createQueueConnection(url: string, name: string, overrides: RedisOptions = {}): QueueConnection {
  const topology = parseRedisUrl(url);
  const options: RedisOptions = { connectionName: `pollarix-${name}`, ...overrides };
  switch (topology.kind) {
    case 'single':
      return { connection: { url, ...bullOptions(options) }, close: async () => undefined };
    case 'sentinel':
      return { connection: bullOptions({ ...topology.options, ...options }), close: async () => undefined };
    case 'cluster': {
      const cluster = createRedisConnection(url, name, overrides);
      return { connection: cluster, close: () => closeRedisConnection(cluster) };
    }
  }
}

/**
 * Closes a connection made here: QUIT when it is connected (pending replies arrive first), else just
 * drops it (QUIT on a reconnecting client would wait for a server that may not come back); resolves
 * once it has ended, or after CLOSE_TIMEOUT_MS.
 */
export async function closeRedisConnection(connection: RedisConnection): Promise<void> {
  if (connection.status === 'end') return;
  const ended = new Promise<void>((resolve) => {
    connection.once('end', resolve);
    setTimeout(resolve, CLOSE_TIMEOUT_MS).unref();
  });
  if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
  else connection.disconnect();
  // quit() resolves on the server's OK (a Cluster's nodes'); the sockets close just after.
  await ended;
}

/** ioredis options as BullMQ types them: BullMQ has its own retry default, so no `retryStrategy: null`. */
function bullOptions({ retryStrategy, ...options }: RedisOptions): BullRedisOptions {
  return retryStrategy ? { ...options, retryStrategy } : options;
}
