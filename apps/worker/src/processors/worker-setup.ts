import type { AppConfig } from '@pollarix/config';
import type { Worker } from 'bullmq';

/**
 * Starts a processor's BullMQ worker with settings from the validated config (the @Processor
 * decorator only takes constants): concurrency, lock duration and the stalled-job check that
 * hands a killed worker's jobs to another.
 */
export function startWorker(worker: Worker, config: AppConfig, concurrency: number): void {
  worker.concurrency = concurrency;
  worker.opts.lockDuration = config.queueLockDurationMs;
  worker.opts.stalledInterval = config.queueLockDurationMs;
  worker.on('error', () => undefined);
  void worker.run();
}
