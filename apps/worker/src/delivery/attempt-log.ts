import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AttemptOutcome, Database } from '@pollarix/database';

const FLUSH_AFTER_MS = 5;
const MAX_BATCH = 250;

interface Waiting {
  outcome: AttemptOutcome & { webhookId: string };
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The delivery log's writer: attempts finishing within a few milliseconds of each other are written
 * together (one transaction, multi-row statements). Each caller waits for its own write, so a job only
 * completes once its attempt is in PostgreSQL: the log is batched, never lossy.
 */
@Injectable()
export class AttemptLog implements OnApplicationShutdown {
  private queue: Waiting[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly db: Database) {}

  record(outcome: AttemptOutcome & { webhookId: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ outcome, resolve, reject });
      if (this.queue.length >= MAX_BATCH) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const write = this.write(batch.map((w) => w.outcome)).then(
      () => batch.forEach((w) => w.resolve()),
      (error: unknown) => batch.forEach((w) => w.reject(error)),
    );
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }

  private async write(outcomes: (AttemptOutcome & { webhookId: string })[]): Promise<void> {
    await this.db.transaction(async (repos) => {
      await repos.deliveries.recordOutcomes(outcomes);
      const healthy = [...new Set(outcomes.filter((o) => o.status === 'succeeded').map((o) => o.webhookId))];
      await repos.webhooks.resetFailureStreaks(healthy);
    });
  }
}
