import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { MicroBatcher } from '@pollarix/common';
import { AttemptOutcome, Database, DeliveryStatus } from '@pollarix/database';
import { ATTEMPT_RECORDABLE_STATUSES } from '@pollarix/lifecycle';
import { describeError, WorkerMetrics } from '../ops/worker-metrics';

/** PostgreSQL's class 22 (data exception): a value it cannot store, such as text with a NUL byte. */
const isDataError = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
};

/**
 * The delivery log's writer: attempts that finish in the same event-loop turn, or while the previous
 * write runs, are written together in one statement (group commit, no timer). Each caller waits for its
 * own write, so a job only completes once its attempt is in PostgreSQL: the log is batched, never lossy.
 * A batch that fails is written again attempt by attempt, so one bad row never fails its batch-mates.
 */
@Injectable()
export class AttemptLog implements OnApplicationShutdown {
  private readonly logger = new Logger(AttemptLog.name);
  private readonly batcher = new MicroBatcher((outcomes: AttemptOutcome[]) => this.write(outcomes), {
    maxBatch: 250,
    // One write at a time: what finishes meanwhile joins the next, so fewer, larger statements (the
    // database, not the wait, is what limits a busy worker; measured with npm run bench:delivery).
    maxInFlight: 1,
    onItemFailure: (outcome, error) => this.metrics.recordItemFailure('log', `Could not log attempt ${outcome.attempt} of delivery ${outcome.deliveryId}`, error),
  });

  constructor(
    private readonly db: Database,
    private readonly metrics: WorkerMetrics,
  ) {}

  /** Resolves once written, with the delivery's status after it, or null when the outcome was stale (see recordOutcomes). */
  record(outcome: AttemptOutcome): Promise<DeliveryStatus | null> {
    return this.batcher.add(outcome);
  }

  onApplicationShutdown(): Promise<void> {
    return this.batcher.drain();
  }

  private async write(outcomes: AttemptOutcome[]): Promise<(DeliveryStatus | null)[]> {
    let moved: Map<string, DeliveryStatus>;
    try {
      moved = await this.db.repos.deliveries.recordOutcomes(outcomes, ATTEMPT_RECORDABLE_STATUSES);
    } catch (error) {
      // Several: the batcher writes them one by one. One alone that PostgreSQL cannot store: the attempt
      // still counts (its status, retry schedule and the webhook's streak), logged without its response.
      // Anything else (a lost connection, a deadlock) fails the job, and the sweeper tries again later.
      if (outcomes.length > 1 || !isDataError(error)) throw error;
      const [outcome] = outcomes;
      moved = await this.db.repos.deliveries.recordOutcomes(
        [{ ...outcome, responseBody: '', responseContentType: null, errorMessage: `Response not stored: ${describeError(error)}` }],
        ATTEMPT_RECORDABLE_STATUSES,
      );
      this.metrics.itemFailures.inc({ stage: 'log' });
      this.logger.warn(`Logged attempt ${outcome.attempt} of delivery ${outcome.deliveryId} without its response: ${describeError(error)}`);
    }
    return outcomes.map((o) => moved.get(o.deliveryId) ?? null);
  }
}
