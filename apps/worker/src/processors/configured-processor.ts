import { WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable } from '@pollarix/common';
import type { AppConfig } from '@pollarix/config';
import { DelayedError, Job } from 'bullmq';

/** How long a job that met an unavailable database waits before it runs again: DATABASE_RETRY_AFTER_S, ±50 % jitter. */
export function databaseRetryDelay(random: () => number = Math.random): number {
  return Math.round(DATABASE_RETRY_AFTER_S * 1000 * (0.5 + random()));
}

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
    this.worker.opts.lockRenewTime = this.config.queueLockDurationMs / 2;
    this.worker.opts.stalledInterval = this.config.queueLockDurationMs;
    // BullMQ's lock manager copied the constructor's lock settings (30 s, renewed every 15 s): rebuilt with
    // these (not started yet: run() starts it), a job longer than a short lock (an attempt that meets a
    // stalled database) keeps its lock instead of being taken for a killed worker's and failed as stalled.
    (this.worker as unknown as { createLockManager(): void }).createLockManager();
    this.worker.on('error', () => undefined);
    // Not awaited: run() resolves only when the worker closes. It rejects only when it cannot start (no
    // processor, already running); say so instead of an unhandled rejection, as BullMQ's own autorun does.
    const failed = (error: unknown) => new Logger(this.constructor.name).error(`The ${this.worker.name} queue worker stopped: ${(error as Error)?.message ?? error}`);
    void this.worker.run().catch(failed);
  }

  /**
   * Runs a job's work; should the database not answer (a stall, a restart), the job waits and runs again
   * (delayed, no attempt counted) instead of failing: it is not the job's fault, and a failed job would
   * wait for the sweeper (SWEEPER_GRACE) before it ran again.
   */
  protected async retryWhileDatabaseUnavailable<T>(job: Job, token: string | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (token === undefined || !isDatabaseUnavailable(error)) throw error;
      await job.moveToDelayed(Date.now() + databaseRetryDelay(), token);
      throw new DelayedError();
    }
  }

  /** SIGTERM: stop taking jobs and let the active ones finish while PostgreSQL is still connected. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.close();
  }
}
