import { within } from '@pollarix/common';
import { AppConfig, redactUrl } from '@pollarix/config';
import { LocalService } from '@pollarix/devinfra';
import { DEFAULT_JOB_OPTIONS, QUEUE_PREFIX, QueueName, queueRedisOptions } from '@pollarix/queue';
import { createQueueConnection } from '@pollarix/redis';
import { Queue } from 'bullmq';
import { CliError, errorMessage } from '../cli-error';
import { Say, startLocalRedisServer } from './local-services';

/** How long a command waits for Redis before giving up (ioredis itself would retry forever). */
const REDIS_READY_TIMEOUT_MS = 10_000;

const stderr: Say = (line) => process.stderr.write(`${line}\n`);

/**
 * Runs `work` with a producer's BullMQ queue on REDIS_URL, or on the local Redis when it is unset
 * (reused when `npm start` already runs one, otherwise started here and stopped afterwards). Redis is
 * reachable before `work` starts, so a command changes nothing when it cannot queue.
 */
export async function withQueue<T>(config: AppConfig, name: QueueName, work: (queue: Queue) => Promise<T>): Promise<T> {
  let localService: LocalService | undefined;
  const url = config.redisUrl ?? (localService = await startLocalRedisServer(config, stderr)).url;
  // The API's producer settings: a command fails fast instead of waiting in a client-side buffer.
  const queueConnection = createQueueConnection(url, 'cli', queueRedisOptions('producer'));
  const queue = new Queue(name, {
    connection: queueConnection.connection,
    prefix: QUEUE_PREFIX,
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  });
  let lastError: unknown;
  queue.on('error', (error) => (lastError = error));
  try {
    await untilReady(queue, () => `cannot connect to Redis at ${redactUrl(url)}: ${lastError ? errorMessage(lastError) : 'no answer'}`);
    return await work(queue);
  } finally {
    await closeQueue(queue);
    await queueConnection.close();
    await localService?.stop();
  }
}

async function untilReady(queue: Queue, failure: () => string): Promise<void> {
  const ready = await within(
    queue.waitUntilReady().then(() => true),
    REDIS_READY_TIMEOUT_MS,
    false,
  ).catch((error: unknown) => {
    throw new CliError(`${failure()} (${errorMessage(error)})`);
  });
  if (!ready) throw new CliError(failure());
}

/** close() waits for pending commands; on an unreachable Redis that wait is cut short. */
async function closeQueue(queue: Queue): Promise<void> {
  const closed = await within(
    queue.close().then(
      () => true,
      () => false,
    ),
    REDIS_READY_TIMEOUT_MS,
    false,
  );
  if (!closed) await queue.disconnect().catch(() => undefined);
}
