import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { Database, SweepCursor } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import { deliverJob, fanOutJobs, QueueName } from '@pollarix/queue';
import type { JobsOptions, Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { WorkerMetrics } from '../ops/worker-metrics';
import { readJobPresence } from './job-presence';
import { parseSweepCursor, planRequeue, sweepBudgetMs } from './sweep-plan';

const LOCK_KEY = 'pollarix:sweeper:lock';
/** Where each walk stopped (JSON SweepCursor); absent: the next walk starts from the beginning. */
export const SWEEPER_CURSOR_KEYS = { event: 'pollarix:sweeper:cursor:events', delivery: 'pollarix:sweeper:cursor:deliveries' } as const;
/** Rows per page of a walk: one query, one Redis round trip for the checks, one addBulk. */
const SWEEP_PAGE = 1_000;
/** Events per purge statement, each with its deliveries (one per subscribed webhook) and their attempts. */
const PURGE_BATCH = 1_000;

/** Takes the lock, or extends it when this worker holds it: the elected worker stays elected while alive. */
const ACQUIRE_LOCK = `if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0`;
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

type Kind = keyof typeof SWEEPER_CURSOR_KEYS;
interface WalkResult {
  scanned: number;
  requeued: number;
  /** The walk reached the end of the overdue items and starts from the beginning next time. */
  wrapped: boolean;
  /** Where it stopped (null when it wrapped). */
  cursor: SweepCursor | null;
  /** Milliseconds spent reading pages from PostgreSQL, checking job ids in Redis, adding jobs. */
  ms: PageTimings;
}
interface PageTimings {
  query: number;
  check: number;
  add: number;
}
interface PageResult {
  scanned: number;
  requeued: number;
  last: SweepCursor | null;
  ms: PageTimings;
}
interface QueuedJob {
  name: string;
  data: object;
  opts: JobsOptions & { jobId: string };
}

/**
 * PostgreSQL is the system of record; Redis may lose jobs (a crash without AOF, a failover, a flush).
 * Every SWEEPER_INTERVAL one worker (a Redis lock elects it) re-queues what Redis no longer holds:
 * events never fanned out and pending deliveries overdue by SWEEPER_GRACE with no live job. Each is a
 * keyset walk in due order that continues where the last tick stopped (cursors in Redis, so the next
 * elected worker continues too; a flushed Redis starts over), page by page within a time budget per tick
 * (sweepBudgetMs; a tick that re-queued jobs and stopped on its budget is followed by the next at once),
 * and starts again from the beginning once it reaches the end: every overdue item is looked at once per
 * pass, however many live jobs (throttled, backlogged) are ahead of it. The same elected worker purges
 * the log past EVENT_RETENTION in bounded batches.
 */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SweeperService.name);
  private readonly token = `${hostname()}:${process.pid}:${randomUUID()}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopping = false;
  /** Set when a renewal finds another worker holding the lock: the current walk stops at its next page. */
  private lockLost = false;

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    @InjectRedis() private readonly redis: RedisConnection,
    @InjectQueue(QueueName.Events) private readonly events: Queue,
    @InjectQueue(QueueName.Deliveries) private readonly deliveries: Queue,
    private readonly metrics: WorkerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(this.config.sweeperIntervalMs);
  }

  /** The next tick after `ms`: an interval, or at once when the last tick re-queued jobs and stopped on its budget with more to walk. */
  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().then((more) => {
        this.running = undefined;
        this.schedule(more ? 0 : this.config.sweeperIntervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
    // Another worker takes over at its next tick instead of after the lock's expiry.
    await Promise.resolve(this.redis.eval(RELEASE_LOCK, 1, LOCK_KEY, this.token)).catch(() => undefined);
  }

  private get lockTtlMs(): number {
    return Math.max(1000, this.config.sweeperIntervalMs - 100);
  }

  /** One tick if elected; true when a walk that re-queued something stopped on its budget with more to walk (the next tick follows at once). */
  private async tick(): Promise<boolean> {
    let renewal: NodeJS.Timeout | undefined;
    try {
      if ((await this.redis.eval(ACQUIRE_LOCK, 1, LOCK_KEY, this.token, this.lockTtlMs)) !== 1) return false;
      this.lockLost = false;
      // A tick may walk for a whole interval: the lock is extended while it runs, so no other worker sweeps at the same time.
      renewal = setInterval(
        () => {
          Promise.resolve(this.redis.eval(ACQUIRE_LOCK, 1, LOCK_KEY, this.token, this.lockTtlMs))
            .then((held) => {
              if (held !== 1) this.lockLost = true;
            })
            .catch(() => undefined);
        },
        Math.max(100, Math.floor(this.lockTtlMs / 3)),
      );
      renewal.unref();
      const started = Date.now();
      const { events, deliveries } = await this.sweep(new Date(started), started + sweepBudgetMs(this.config.sweeperIntervalMs));
      this.report(events, deliveries, Date.now() - started);
      const purged = await this.purge();
      if (purged > 0) this.logger.log(`Purged ${purged} events and deliveries older than the retention`);
      // Re-queuing (a flushed Redis): keep walking. Finding live jobs only (a backlog Redis still holds): at the interval's pace.
      return !this.lockLost && !(events.wrapped && deliveries.wrapped) && events.requeued + deliveries.requeued > 0;
    } catch (error) {
      this.logger.warn(`Sweep failed: ${(error as Error).message}`);
      return false;
    } finally {
      clearInterval(renewal);
    }
  }

  /** One tick's walks (fan-outs first: their deliveries do not exist yet), each at least one page, together within `deadline`. */
  async sweep(now = new Date(), deadline = Date.now() + sweepBudgetMs(this.config.sweeperIntervalMs)): Promise<{ events: WalkResult; deliveries: WalkResult }> {
    const cutoff = new Date(now.getTime() - this.config.sweeperGraceMs);
    // A job finished before the cutoff with its item still overdue is replaced; one finished since is left alone (see jobPresence).
    const events = await this.walk('event', deadline, (after) => this.eventPage(cutoff, after));
    const deliveries = await this.walk('delivery', deadline, (after) => this.deliveryPage(cutoff, after));
    return { events, deliveries };
  }

  private report(events: WalkResult, deliveries: WalkResult, ms: number): void {
    const requeued = events.requeued + deliveries.requeued;
    if (requeued === 0 && events.scanned <= SWEEP_PAGE && deliveries.scanned <= SWEEP_PAGE) return;
    // Events are walked by creation time, deliveries by due time.
    const position = (walk: WalkResult, key: string) => (walk.wrapped ? 'wrapped to the start' : `at ${key} ${walk.cursor!.at}`);
    const line =
      `Re-queued ${events.requeued} fan-out(s) and ${deliveries.requeued} delivery attempt(s) missing from Redis; ` +
      `scanned ${events.scanned} event(s) (cursor ${position(events, 'creation time')}) and ${deliveries.scanned} delivery(ies) (cursor ${position(deliveries, 'due time')}) in ${ms} ms ` +
      `(PostgreSQL ${events.ms.query + deliveries.ms.query} ms, Redis checks ${events.ms.check + deliveries.ms.check} ms, adds ${events.ms.add + deliveries.ms.add} ms)`;
    if (requeued > 0) this.logger.warn(line);
    else this.logger.log(line);
  }

  /**
   * Pages from the stored cursor until the end (then the cursor is cleared: the next walk starts from the
   * beginning) or the deadline, the shutdown or a lost lock; the cursor is stored after every page.
   */
  private async walk(kind: Kind, deadline: number, page: (after: SweepCursor | null) => Promise<PageResult>): Promise<WalkResult> {
    const key = SWEEPER_CURSOR_KEYS[kind];
    let cursor: SweepCursor | null = parseSweepCursor(await this.redis.get(key));
    const result: WalkResult = { scanned: 0, requeued: 0, wrapped: false, cursor, ms: { query: 0, check: 0, add: 0 } };
    for (let pages = 0; pages === 0 || (Date.now() < deadline && !this.stopping && !this.lockLost); pages++) {
      const { scanned, requeued, last, ms } = await page(cursor);
      result.ms.query += ms.query;
      result.ms.check += ms.check;
      result.ms.add += ms.add;
      result.scanned += scanned;
      result.requeued += requeued;
      this.metrics.sweeperScanned.inc({ kind }, scanned);
      this.metrics.sweeperRequeued.inc({ kind }, requeued);
      if (scanned < SWEEP_PAGE) {
        cursor = null;
        result.wrapped = true;
        await this.redis.del(key);
        this.metrics.sweeperPasses.inc({ kind });
        break;
      }
      cursor = last;
      await this.redis.set(key, JSON.stringify(cursor));
    }
    result.cursor = cursor;
    this.metrics.sweeperCursor.set({ kind }, cursor ? Date.parse(cursor.at) / 1000 : 0);
    return result;
  }

  /** Fan-out is idempotent: a job added for an event whose own job is merely late costs a little work, nothing more. */
  private async eventPage(cutoff: Date, after: SweepCursor | null): Promise<PageResult> {
    const started = Date.now();
    const rows = await this.db.repos.events.findNotFannedOutPage(cutoff, after, SWEEP_PAGE);
    const query = Date.now() - started;
    const { added, check, add } = await this.requeue(this.events, fanOutJobs(rows.map((row) => row.id)), cutoff);
    const requeued = added.reduce((n, job) => n + (job.data as { eventIds: string[] }).eventIds.length, 0);
    return { scanned: rows.length, requeued, last: rows.at(-1)?.cursor ?? null, ms: { query, check, add } };
  }

  private async deliveryPage(cutoff: Date, after: SweepCursor | null): Promise<PageResult> {
    const started = Date.now();
    const rows = await this.db.repos.deliveries.findOverduePage(cutoff, after, SWEEP_PAGE);
    const now = Date.now();
    const { added, check, add } = await this.requeue(
      this.deliveries,
      rows.map((row) => deliverJob(row, now)),
      cutoff,
    );
    return { scanned: rows.length, requeued: added.length, last: rows.at(-1)?.cursor ?? null, ms: { query: now - started, check, add } };
  }

  /**
   * Adds the jobs that no live job (waiting, delayed, active…) holds the id of; one that finished before
   * `cutoff` is replaced. One round trip checks the whole page, one addBulk adds what is missing. Returns the added jobs.
   */
  private async requeue(queue: Queue, jobs: QueuedJob[], cutoff: Date): Promise<{ added: QueuedJob[]; check: number; add: number }> {
    if (jobs.length === 0) return { added: [], check: 0, add: 0 };
    const started = Date.now();
    const presence = await readJobPresence(
      queue,
      jobs.map((job) => job.opts.jobId),
      cutoff.getTime(),
    );
    const { add, confirm } = planRequeue(jobs, presence);
    // Rare (a job finished but its delivery is still pending at that attempt): one by one, as before.
    for (const job of confirm) {
      const state = await queue.getJobState(job.opts.jobId);
      if (state !== 'unknown' && state !== 'completed' && state !== 'failed') continue;
      if (state !== 'unknown') await queue.remove(job.opts.jobId);
      add.push(job);
    }
    const checked = Date.now();
    // An id that appeared meanwhile is left as it is by BullMQ (deterministic ids).
    if (add.length > 0) await queue.addBulk(add);
    return { added: add, check: checked - started, add: Date.now() - checked };
  }

  private async purge(): Promise<number> {
    const cutoff = new Date(Date.now() - this.config.eventRetentionMs);
    let total = 0;
    for (;;) {
      const { events, deliveries } = await this.db.repos.events.purgeBefore(cutoff, PURGE_BATCH);
      total += deliveries + events;
      // A shutdown or a lost election stops between batches; the next elected tick carries on.
      if (events < PURGE_BATCH || this.stopping || this.lockLost) return total;
    }
  }
}
