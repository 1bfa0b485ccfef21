import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { withTimeout } from '@pollarix/common';
import type { AttemptOutcome } from '@pollarix/database';
import { loggableText, truncateText } from '@pollarix/delivery';
import { QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A finished attempt as the delivery log has it, with its department and what it meant. */
export type AttemptReport = Pick<AttemptOutcome, 'deliveryId' | 'webhookId' | 'attempt' | 'statusCode' | 'durationMs' | 'error' | 'status'> & {
  departmentId: string;
  outcome: 'success' | 'retry' | 'failed' | 'gone';
  /** A blocked_destination's refused address and why (SendResult): operators see it here, customers never. */
  blockedAddress?: string;
  blockedReason?: string;
};

const QUEUE_STATES = ['waiting', 'delayed', 'active', 'failed'] as const;

/** Where an item failed on its own (see recordItemFailure). */
export type ItemFailureStage = 'load' | 'log' | 'fan_out' | 'decrypt';

/** An error as one readable line for the log (a database error may quote bytes it could not store). */
export const describeError = (error: unknown): string => truncateText(loggableText(error instanceof Error ? error.message : String(error)), 200);
/** A scrape answers without queue depths rather than hang while Redis is away (worker connections retry forever). */
const QUEUE_COUNT_TIMEOUT_MS = 2000;

/**
 * The worker's Prometheus families, and its one log line per delivery attempt. Labels stay
 * low-cardinality: outcome and error class, never the URL, webhook or department.
 */
@Injectable()
export class WorkerMetrics {
  private readonly attemptLog = new Logger('DeliveryAttempt');
  private readonly batchLog = new Logger('DeliveryBatch');
  /** Webhooks whose unsendable stored headers were already reported (see noticeDroppedHeaders). */
  private readonly droppedHeadersNoticed = new Set<string>();
  readonly registry = new Registry();
  readonly attempts = new Counter({
    name: 'pollarix_delivery_attempts_total',
    help: 'Delivery attempts by outcome (success, retry, failed, gone) and error class',
    labelNames: ['outcome', 'error'] as const,
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: 'pollarix_delivery_attempt_duration_seconds',
    help: 'Duration of delivery attempts, connect to last response byte',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly throttled = new Counter({
    name: 'pollarix_delivery_throttled_total',
    help: 'Deliveries put back without an attempt, by reason: their webhook or department had every slot it may use here, or the worker its body bytes',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly itemFailures = new Counter({
    name: 'pollarix_delivery_item_failures_total',
    help: 'Items that failed alone after their batch failed (stage load, log, fan_out), and deliveries whose webhook cannot be decrypted (decrypt)',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });
  readonly attemptSources = new Counter({
    name: 'pollarix_delivery_attempt_sources_total',
    help: "Where attempts took their delivery from: the job and the worker's webhook cache (job), or a read of PostgreSQL (database: older, swept or recovered jobs, large events, webhooks written since the job was queued)",
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly webhookLoads = new Counter({
    name: 'pollarix_delivery_webhook_loads_total',
    help: "Webhooks the worker's cache read from PostgreSQL (misses: first use, after an announced change, after the TTL)",
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'pollarix_deliveries_total',
    help: 'Deliveries that reached a final state, by status (succeeded, failed, cancelled)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  /** The sweeper's walks (see SweeperService): rows looked at, jobs re-queued, passes completed, and where each walk stands. */
  readonly sweeperScanned = new Counter({
    name: 'pollarix_sweeper_scanned_total',
    help: 'Overdue items the sweeper looked at (kind: event not fanned out, or pending delivery), counted on the elected worker',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly sweeperRequeued = new Counter({
    name: 'pollarix_sweeper_requeued_total',
    help: 'Items the sweeper re-queued because Redis no longer held a live job for them (events fanned out again, delivery attempts)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly sweeperPasses = new Counter({
    name: 'pollarix_sweeper_passes_total',
    help: 'Walks that reached the end of the overdue items and start again from the beginning: every overdue item was looked at once per pass',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly sweeperCursor = new Gauge({
    name: 'pollarix_sweeper_cursor_timestamp_seconds',
    help: 'Where the sweeper walk stopped after its last tick here, as the due time (delivery) or creation time (event) in Unix seconds; 0 at the start of a pass',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor(@InjectQueue(QueueName.Deliveries) deliveriesQueue: Queue, @InjectQueue(QueueName.Events) eventsQueue: Queue) {
    collectDefaultMetrics({ register: this.registry, prefix: 'pollarix_worker_' });
    const queues = [deliveriesQueue, eventsQueue];
    new Gauge({
      name: 'pollarix_queue_jobs',
      help: 'Jobs in the queues by state',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        try {
          const all = await withTimeout(Promise.all(queues.map((queue) => queue.getJobCounts(...QUEUE_STATES))), QUEUE_COUNT_TIMEOUT_MS, 'queue counts');
          queues.forEach((queue, i) => {
            for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, all[i][state] ?? 0);
          });
        } catch {
          // Unknown is no series, not a stale number.
          this.reset();
        }
      },
    });
  }

  /**
   * An item that failed alone after its batch failed, or a delivery whose webhook cannot be decrypted:
   * counted by stage, and one error line saying what (`what` names the delivery or event) and why.
   */
  recordItemFailure(stage: ItemFailureStage, what: string, error: unknown): void {
    this.itemFailures.inc({ stage });
    this.batchLog.error(`${what}: ${describeError(error)}`);
  }

  /**
   * One finished attempt: counters, the latency histogram (labels never carry ids or URLs) and one log
   * line with the ids, never the destination URL, headers or secrets. Final failures log at warn.
   */
  recordAttempt(report: AttemptReport): void {
    this.attemptDuration.observe(report.durationMs / 1000);
    this.attempts.inc({ outcome: report.outcome, error: report.error ?? 'none' });
    if (report.status !== 'pending') this.deliveries.inc({ status: report.status });
    const line = {
      msg: 'delivery attempt',
      deliveryId: report.deliveryId,
      webhookId: report.webhookId,
      departmentId: report.departmentId,
      attempt: report.attempt,
      outcome: report.outcome,
      statusCode: report.statusCode,
      durationMs: report.durationMs,
      error: report.error,
      deliveryStatus: report.status,
      ...(report.blockedAddress === undefined ? {} : { blockedAddress: report.blockedAddress, blockedReason: report.blockedReason }),
    };
    if (report.outcome === 'failed' || report.outcome === 'gone') this.attemptLog.warn(line);
    else this.attemptLog.log(line);
  }

  /**
   * A webhook stored with headers the sender leaves out (sendableHeaders): said once per webhook and
   * process, with the names only (values may be credentials), so operators can have them removed.
   */
  noticeDroppedHeaders(departmentId: string, webhookId: string, names: readonly string[]): void {
    if (this.droppedHeadersNoticed.has(webhookId)) return;
    this.droppedHeadersNoticed.add(webhookId);
    this.attemptLog.warn({ msg: 'stored custom headers left out: they cannot be sent', departmentId, webhookId, droppedHeaders: names });
  }
}

/** Metrics for services built by hand (tests): their queue gauges are read only on a scrape, which never comes. */
export function unscrapedWorkerMetrics(): WorkerMetrics {
  const queue = { name: 'unscraped' } as unknown as Queue;
  return new WorkerMetrics(queue, queue);
}
