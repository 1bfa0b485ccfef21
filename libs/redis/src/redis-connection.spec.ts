import { Cluster, Redis } from 'ioredis';
import { createQueueConnection, createRedisConnection, RedisConnection } from './redis-connection';

/** Clients are built lazily (no server needed) and dropped at the end of each test. */
describe('createRedisConnection', () => {
  const opened: RedisConnection[] = [];
  const create = (url: string, overrides = {}) => {
    const client = createRedisConnection(url, 'spec', { lazyConnect: true, ...overrides });
    opened.push(client);
    return client;
  };
  afterEach(() => opened.splice(0).forEach((client) => client.disconnect()));

  it('opens one node from redis:// with the options of the URL', () => {
    const client = create('redis://:pw@127.0.0.1:6390/4') as Redis;
    expect(client).toBeInstanceOf(Redis);
    expect(client.options).toMatchObject({ host: '127.0.0.1', port: 6390, db: 4, password: 'pw', connectionName: 'pollarix-spec' });
  });

  it('opens a Sentinel master from redis+sentinel://', () => {
    const client = create('redis+sentinel://:pw@127.0.0.1:26390,127.0.0.2/mymaster/1?sentinelPassword=sp', { maxRetriesPerRequest: 2 }) as Redis;
    expect(client).toBeInstanceOf(Redis);
    expect(client.options).toMatchObject({
      sentinels: [
        { host: '127.0.0.1', port: 26390 },
        { host: '127.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      db: 1,
      password: 'pw',
      sentinelPassword: 'sp',
      maxRetriesPerRequest: 2,
      connectionName: 'pollarix-spec',
    });
  });

  it('opens a Cluster from redis+cluster://, node options on each node, queueing options on the Cluster', () => {
    const retryStrategy = () => 100;
    const client = create('redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001', { maxRetriesPerRequest: null, enableOfflineQueue: false, retryStrategy });
    expect(client).toBeInstanceOf(Cluster);
    const cluster = client as Cluster;
    expect(cluster.options).toMatchObject({ enableOfflineQueue: false, lazyConnect: true, clusterRetryStrategy: retryStrategy });
    expect(cluster.options.redisOptions).toEqual({ password: 'pw', connectionName: 'pollarix-spec', maxRetriesPerRequest: null });
  });
});

describe('createQueueConnection', () => {
  it('gives BullMQ options for one node and for Sentinel (BullMQ owns those connections)', async () => {
    const single = createQueueConnection('redis://127.0.0.1:6390', 'queue-worker', { maxRetriesPerRequest: null });
    expect(single.connection).toEqual({ url: 'redis://127.0.0.1:6390', connectionName: 'pollarix-queue-worker', maxRetriesPerRequest: null });
    const sentinel = createQueueConnection('redis+sentinel://s1:26379/mymaster', 'cli', { enableOfflineQueue: false });
    expect(sentinel.connection).toEqual({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      db: 0,
      connectionName: 'pollarix-cli',
      enableOfflineQueue: false,
    });
    await single.close();
    await sentinel.close();
  });

  it('gives BullMQ a Cluster client, which close() releases', async () => {
    const queueConnection = createQueueConnection('redis+cluster://127.0.0.1:7000', 'queue-worker', { lazyConnect: true, maxRetriesPerRequest: null });
    const cluster = queueConnection.connection as Cluster;
    expect(cluster).toBeInstanceOf(Cluster);
    expect(cluster.options.redisOptions).toMatchObject({ maxRetriesPerRequest: null, connectionName: 'pollarix-queue-worker' });
    await queueConnection.close();
    expect(cluster.status).toBe('end');
  });
});
