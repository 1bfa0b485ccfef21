import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { Database, PendingJob } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import { deliverJob, fanOutJobs, JobName, QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';

const LOCK_KEY = 'pollarix:sweeper:lock';
const SWEEP_BATCH = 1_000;
/** Events per purge statement, each with its deliveries (one per subscribed webhook) and their attempts. */
const PURGE_BATCH = 1_000;
const CHECK_CONCURRENCY = 50;

/**
 * PostgreSQL is the system of record; Redis may lose jobs (a crash without AOF, a failover, a flush).
 * Every SWEEPER_INTERVAL one worker (a Redis lock elects it) re-queues what Redis no longer holds:
 * events never fanned out and pending deliveries overdue by SWEEPER_GRACE with no live job. The same
 * elected worker purges the log past EVENT_RETENTION in bounded batches.
 */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SweeperService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    @InjectRedis() private readonly redis: RedisConnection,
    @InjectQueue(QueueName.Events) private readonly events: Queue,
    @InjectQueue(QueueName.Deliveries) private readonly deliveries: Queue,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.config.sweeperIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    try {
      const elected = await this.redis.set(LOCK_KEY, String(process.pid), 'PX', Math.max(1000, this.config.sweeperIntervalMs - 100), 'NX');
      if (elected !== 'OK') return;
      const { events, deliveries } = await this.sweep();
      if (events + deliveries > 0) this.logger.warn(`Re-queued ${events} fan-out(s) and ${deliveries} delivery attempt(s) missing from Redis`);
      const purged = await this.purge();
      if (purged > 0) this.logger.log(`Purged ${purged} events and deliveries older than the retention`);
    } catch (error) {
      this.logger.warn(`Sweep failed: ${(error as Error).message}`);
    }
  }

  /** One pass; returns how many jobs it re-queued. */
  async sweep(now = new Date()): Promise<{ events: number; deliveries: number }> {
    const cutoff = new Date(now.getTime() - this.config.sweeperGraceMs);
    // Fan-out is idempotent: a job added for an event whose own job is merely late costs a little work, nothing more.
    let events = 0;
    for (const job of fanOutJobs(await this.db.repos.events.findNotFannedOut(cutoff, SWEEP_BATCH))) {
      if (await this.requeue(this.events, job.opts.jobId, job.name, job.data)) events += job.data.eventIds.length;
    }
    const overdue = await this.db.repos.deliveries.findOverdue(cutoff, SWEEP_BATCH);
    let deliveries = 0;
    for (let i = 0; i < overdue.length; i += CHECK_CONCURRENCY) {
      const results = await Promise.all(overdue.slice(i, i + CHECK_CONCURRENCY).map((job) => this.requeueDelivery(job)));
      deliveries += results.filter(Boolean).length;
    }
    return { events, deliveries };
  }

  private requeueDelivery(pending: PendingJob): Promise<boolean> {
    const job = deliverJob(pending);
    return this.requeue(this.deliveries, job.opts.jobId, job.name, job.data);
  }

  /** Adds the job unless a live one (waiting, delayed, active…) holds its id; a finished one is replaced. */
  private async requeue(queue: Queue, jobId: string, name: JobName, data: object): Promise<boolean> {
    const state = await queue.getJobState(jobId);
    if (state !== 'unknown' && state !== 'completed' && state !== 'failed') return false;
    if (state !== 'unknown') await queue.remove(jobId);
    await queue.add(name, data, { jobId });
    return true;
  }

  private async purge(): Promise<number> {
    const cutoff = new Date(Date.now() - this.config.eventRetentionMs);
    let total = 0;
    for (;;) {
      const { events, deliveries } = await this.db.repos.events.purgeBefore(cutoff, PURGE_BATCH);
      total += deliveries + events;
      if (events < PURGE_BATCH) return total;
    }
  }
}
