import { getQueueToken, InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, loadConfig } from '@pollarix/config';
import { waitFor } from '@pollarix/devinfra';
import { QUEUE_PREFIX, QueueModule, QueueName } from '@pollarix/queue';
import { createQueueConnection, createRedisConnection, RedisConnection, RedisModule, SettingsLogger, warnOnUnsafeRedisSettings } from '@pollarix/redis';
import { Job, Queue, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { readJobPresence } from '../../apps/worker/src/delivery/job-presence';
import { RedisProcesses } from '../support/redis-topology';

/**
 * REDIS_URL beyond one node, against real redis-server processes on 127.0.0.1: a master watched by a
 * Sentinel, a three-master Cluster, and single servers with safe and unsafe settings. BullMQ goes
 * through the same helpers (and Nest modules) as the API and the worker.
 */
jest.setTimeout(120_000);

const redis = new RedisProcesses();
const connections: RedisConnection[] = [];
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  await redis.stopAll();
});

function connect(url: string): RedisConnection {
  const connection = createRedisConnection(url, 'topology-test', { maxRetriesPerRequest: 2 });
  connections.push(connection);
  return connection;
}

/** Adds `count` jobs with a producer's connection and waits until a worker's connection has run them all. */
async function processJobs(url: string, count: number): Promise<{ processed: number[]; completed: number }> {
  const name = `topology-${randomBytes(4).toString('hex')}`;
  const producer = createQueueConnection(url, 'test-producer', { maxRetriesPerRequest: 2, enableOfflineQueue: false });
  const consumer = createQueueConnection(url, 'test-worker', { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: producer.connection, prefix: QUEUE_PREFIX });
  const processed: number[] = [];
  const worker = new Worker(name, async (job: Job<{ n: number }>) => void processed.push(job.data.n), { connection: consumer.connection, prefix: QUEUE_PREFIX });
  const errors: Error[] = [];
  queue.on('error', (error) => errors.push(error));
  worker.on('error', (error) => errors.push(error));
  try {
    await queue.waitUntilReady();
    await queue.addBulk(Array.from({ length: count }, (_, n) => ({ name: 'n', data: { n } })));
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === count, 30_000, `${count} jobs completed`);
    expect(errors).toEqual([]);
    return { processed: [...processed].sort((a, b) => a - b), completed: (await queue.getJobCounts('completed')).completed };
  } finally {
    await worker.close();
    await queue.close();
    await producer.close();
    await consumer.close();
  }
}

/**
 * The worker's Nest modules on `url`, shut down as the worker is (Workers closed before the
 * application's shutdown hooks): a job still running then queues another job, which must work, and
 * every connection is closed afterwards, the shared Cluster client only after the Queues using it.
 */
async function runWorkerModules(url: string): Promise<{ seen: string[]; deliveriesQueued: number; sharedClientEndedAfterQueue: boolean }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const seen: string[] = [];

  @Processor(QueueName.Events)
  class GatedProcessor extends WorkerHost implements BeforeApplicationShutdown {
    constructor(@InjectQueue(QueueName.Deliveries) private readonly deliveries: Queue) {
      super();
    }

    async beforeApplicationShutdown(): Promise<void> {
      await this.worker.close();
    }

    async process(job: Job): Promise<void> {
      seen.push(`started ${job.name}`);
      await gate;
      await this.deliveries.add('queued-during-shutdown', {});
      seen.push(`done ${job.name}`);
    }
  }

  @Module({})
  class TopologyTestModule {}

  const config = loadConfig({ env: { REDIS_URL: url, SECRETS_ENCRYPTION_KEY: 'a'.repeat(64) } });
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    { module: TopologyTestModule, imports: [ConfigModule.withConfig(config), RedisModule, QueueModule.register('worker')], providers: [GatedProcessor] },
    { logger: false, abortOnError: false },
  );
  const events = app.get<Queue>(getQueueToken(QueueName.Events));
  const worker = app.get(GatedProcessor).worker;
  const client = (await events.getBackend().client) as unknown as { status: string; once(event: 'end', listener: () => void): unknown };
  let sharedClientEndedAfterQueue = false;
  client.once('end', () => (sharedClientEndedAfterQueue = events.closing !== undefined));
  await events.add('held', {});
  await waitFor(async () => seen.includes('started held'), 20_000, 'the processor to take the job');

  const closed = app.close();
  await waitFor(async () => Boolean(worker.closing), 20_000, 'the Worker to start closing');
  release();
  await closed;
  expect(client.status).toBe('end');

  const check = createQueueConnection(url, 'test-check', { maxRetriesPerRequest: 2 });
  const deliveries = new Queue(QueueName.Deliveries, { connection: check.connection, prefix: QUEUE_PREFIX });
  try {
    const counts = await deliveries.getJobCounts('waiting');
    await deliveries.obliterate({ force: true });
    return { seen, deliveriesQueued: counts.waiting, sharedClientEndedAfterQueue };
  } finally {
    await deliveries.close();
    await check.close();
  }
}

function recordingLogger(): SettingsLogger & { warnings: string[]; debugs: string[] } {
  const warnings: string[] = [];
  const debugs: string[] = [];
  return { warnings, debugs, warn: (message: string) => warnings.push(message), debug: (message: string) => debugs.push(message) };
}

describe('REDIS_URL=redis+sentinel://', () => {
  let url: string;
  let masterPort: number;

  beforeAll(async () => {
    masterPort = await redis.server(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']);
    const sentinelPort = await redis.sentinel(masterPort);
    url = `redis+sentinel://127.0.0.1:${sentinelPort}/mymaster`;
  });

  it('createRedisConnection reaches the master the Sentinel names', async () => {
    const connection = connect(url);
    expect(await connection.ping()).toBe('PONG');
    const server = await connection.info('server');
    expect(server).toMatch(new RegExp(`^tcp_port:${masterPort}\\r?$`, 'm'));
    expect(await connection.info('replication')).toMatch(/^role:master\r?$/m);
  });

  it('BullMQ adds and processes jobs through the repo’s connection helpers', async () => {
    const { processed, completed } = await processJobs(url, 5);
    expect(processed).toEqual([0, 1, 2, 3, 4]);
    expect(completed).toBe(5);
  });

  it('the worker’s QueueModule and RedisModule run on it and shut down cleanly', async () => {
    const { seen, deliveriesQueued } = await runWorkerModules(url);
    expect(seen).toEqual(['started held', 'done held']);
    expect(deliveriesQueued).toBe(1);
  });

  it('the settings check finds nothing to say about a safe master', async () => {
    const logger = recordingLogger();
    expect(await warnOnUnsafeRedisSettings(connect(url), logger)).toEqual([]);
    expect(logger.warnings).toEqual([]);
  });
});

describe('REDIS_URL=redis+cluster://', () => {
  let url: string;
  let ports: number[];

  beforeAll(async () => {
    ports = await redis.cluster(3, ['--appendonly', 'no', '--maxmemory-policy', 'noeviction']);
    url = `redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`;
  });

  it('createRedisConnection is a Cluster client that sees all three masters', async () => {
    const connection = connect(url);
    expect(connection).toBeInstanceOf(Cluster);
    expect(await connection.ping()).toBe('PONG');
    await waitFor(async () => (connection as Cluster).nodes('master').length === 3, 10_000, 'three masters');
  });

  it('BullMQ with the {pollarix} prefix adds and processes jobs (all keys in one slot)', async () => {
    const { processed, completed } = await processJobs(url, 20);
    expect(processed).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(completed).toBe(20);
  });

  it('the sweeper checks a page of job ids in one pipeline and re-adds with addBulk (all keys in one slot)', async () => {
    const connection = createQueueConnection(url, 'test-sweeper', { maxRetriesPerRequest: 2 });
    const queue = new Queue(`sweeper-${randomBytes(4).toString('hex')}`, { connection: connection.connection, prefix: QUEUE_PREFIX });
    try {
      await queue.addBulk([
        { name: 'deliver', data: {}, opts: { jobId: 'live-1' } },
        { name: 'deliver', data: {}, opts: { jobId: 'live-2', delay: 60_000 } },
      ]);
      const ids = ['live-1', 'missing-1', 'live-2', 'missing-2'];
      expect(await readJobPresence(queue, ids, Date.now())).toEqual(['live', 'missing', 'live', 'missing']);
      await queue.addBulk(['missing-1', 'missing-2'].map((jobId) => ({ name: 'deliver', data: {}, opts: { jobId } })));
      expect(await readJobPresence(queue, ids, Date.now())).toEqual(['live', 'live', 'live', 'live']);
      expect(await queue.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 3, delayed: 1 });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await connection.close();
    }
  });

  it('the worker’s QueueModule and RedisModule run on it and release the Cluster client last', async () => {
    const { seen, deliveriesQueued, sharedClientEndedAfterQueue } = await runWorkerModules(url);
    expect(seen).toEqual(['started held', 'done held']);
    expect(deliveriesQueued).toBe(1);
    expect(sharedClientEndedAfterQueue).toBe(true);
  });

  it('the settings check reads every master', async () => {
    const logger = recordingLogger();
    const warnings = await warnOnUnsafeRedisSettings(connect(url), logger);
    expect(warnings).toHaveLength(3);
    expect(new Set(warnings.map((w) => /^Redis (\S+) /.exec(w)?.[1]))).toEqual(new Set(ports.map((p) => `127.0.0.1:${p}`)));
    for (const warning of warnings) {
      expect(warning).toMatch(/appendonly is no/);
      expect(warning).not.toMatch(/maxmemory-policy/);
    }
  });
});

describe('start-up warning about Redis settings', () => {
  it('names both settings when eviction is on and AOF is off', async () => {
    const port = await redis.server(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
    const logger = recordingLogger();
    await warnOnUnsafeRedisSettings(connect(`redis://127.0.0.1:${port}`), logger);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(new RegExp(`^Redis 127\\.0\\.0\\.1:${port} can lose queued jobs: `));
    expect(logger.warnings[0]).toMatch(/maxmemory-policy is allkeys-lru/);
    expect(logger.warnings[0]).toMatch(/appendonly is no/);
  });

  it('logs nothing for AOF on and noeviction', async () => {
    const port = await redis.server(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']);
    const logger = recordingLogger();
    await warnOnUnsafeRedisSettings(connect(`redis://127.0.0.1:${port}`), logger);
    expect(logger.warnings).toEqual([]);
    expect(logger.debugs).toEqual([]);
  });

  it('falls back to INFO when CONFIG is disabled, as on managed Redis', async () => {
    const port = await redis.server(['--appendonly', 'no', '--maxmemory-policy', 'volatile-lru', '--rename-command', 'CONFIG', '']);
    const connection = connect(`redis://127.0.0.1:${port}`);
    await expect(connection.call('CONFIG', 'GET', 'appendonly')).rejects.toThrow(/unknown command/i);
    const logger = recordingLogger();
    await warnOnUnsafeRedisSettings(connection, logger);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/maxmemory-policy is volatile-lru/);
    expect(logger.warnings[0]).toMatch(/appendonly is no/);
  });

  it('says nothing alarming (debug only) when neither CONFIG nor INFO answers', async () => {
    const port = await redis.server(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', '', '--rename-command', 'INFO', '']);
    const logger = recordingLogger();
    await warnOnUnsafeRedisSettings(connect(`redis://127.0.0.1:${port}`), logger);
    expect(logger.warnings).toEqual([]);
    expect(logger.debugs).toEqual([expect.stringMatching(/could not read appendonly or maxmemory-policy/)]);
  });
});
