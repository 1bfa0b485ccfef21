import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AttemptOutcome, Database } from '@pollarix/database';
import { MicroBatcher } from './micro-batcher';

/**
 * The delivery log's writer: attempts that finish in the same event-loop turn, or while the previous
 * write runs, are written together in one statement (group commit, no timer). Each caller waits for its
 * own write, so a job only completes once its attempt is in PostgreSQL: the log is batched, never lossy.
 */
@Injectable()
export class AttemptLog implements OnApplicationShutdown {
  private readonly batcher = new MicroBatcher((outcomes: AttemptOutcome[]) => this.write(outcomes), {
    maxBatch: 250,
    // One write at a time: what finishes meanwhile joins the next, so fewer, larger statements (the
    // database, not the wait, is what limits a busy worker; measured with npm run bench:delivery).
    maxInFlight: 1,
  });

  constructor(private readonly db: Database) {}

  record(outcome: AttemptOutcome): Promise<null> {
    return this.batcher.add(outcome);
  }

  onApplicationShutdown(): Promise<void> {
    return this.batcher.drain();
  }

  private async write(outcomes: AttemptOutcome[]): Promise<null[]> {
    await this.db.repos.deliveries.recordOutcomes(outcomes);
    return outcomes.map(() => null);
  }
}
