import { WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { AppConfig } from '@pollarix/config';

/**
 * A queue processor whose BullMQ worker takes its settings from the validated config (the @Processor
 * decorator only takes constants; register with `autorun: false`): WORKER_CONCURRENCY, and the lock
 * duration and stalled-job check that hand a killed worker's jobs to another.
 */
export abstract class ConfiguredProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(protected readonly config: AppConfig) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
    this.worker.opts.lockDuration = this.config.queueLockDurationMs;
    this.worker.opts.stalledInterval = this.config.queueLockDurationMs;
    this.worker.on('error', () => undefined);
    // Not awaited: run() resolves only when the worker closes. It rejects only when it cannot start (no
    // processor, already running); say so instead of an unhandled rejection, as BullMQ's own autorun does.
    const failed = (error: unknown) => new Logger(this.constructor.name).error(`The ${this.worker.name} queue worker stopped: ${(error as Error)?.message ?? error}`);
    void this.worker.run().catch(failed);
  }

  /** SIGTERM: stop taking jobs and let the active ones finish while PostgreSQL is still connected. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.close();
  }
}
