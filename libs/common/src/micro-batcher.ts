import { isDatabaseUnavailable } from './errors/database-unavailable';

export interface MicroBatcherOptions<I> {
  /** A batch holds at most this many items. */
  maxBatch: number;
  /** Batches handled at the same time; items arriving meanwhile wait and form the next batch. */
  maxInFlight: number;
  /**
   * When a batch of several items fails, handle each item alone so that one bad item fails only its
   * own caller; called once for each item that still fails alone, with its error (a log line).
   */
  onItemFailure?: (item: I, error: unknown) => void;
}

interface Waiting<I, O> {
  item: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers items that arrive together (concurrent jobs) into one call of `handle`, and gives each
 * caller its own result. No timer: an item arriving while fewer than `maxInFlight` batches run is
 * handled at the end of the current event-loop turn, with whatever arrived in that turn; otherwise it
 * waits for a batch to finish, and everything that waited goes together (group commit). Batches are
 * thus as large as the load makes them, and an idle batcher adds no delay.
 *
 * `handle` returns one output per input, in order; when it throws, every caller of that batch gets the
 * error, unless `onItemFailure` is set: then the batch is retried item by item and only the items that
 * fail alone get their error (not when the error says the database is unavailable: every caller gets it). Nothing is dropped: `drain` waits until every item is handled.
 */
export class MicroBatcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private scheduled = false;
  private running = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly handle: (items: I[]) => Promise<O[]>,
    private readonly options: MicroBatcherOptions<I>,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Waits until every item added so far is handled. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      this.flush();
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.running < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running++;
      const run = this.run(batch).finally(() => {
        this.running--;
        this.inFlight.delete(run);
        if (this.queue.length > 0) this.schedule();
      });
      this.inFlight.add(run);
    }
  }

  private async run(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outputs = await this.handle(batch.map((w) => w.item));
      if (outputs.length !== batch.length) throw new Error(`Batch handler returned ${outputs.length} results for ${batch.length} items`);
      batch.forEach((w, i) => w.resolve(outputs[i]));
    } catch (error) {
      const onItemFailure = this.options.onItemFailure;
      // A database that does not answer is no item's fault: one by one, each would only wait for it again.
      if (onItemFailure === undefined || isDatabaseUnavailable(error)) {
        batch.forEach((w) => w.reject(error));
      } else if (batch.length === 1) {
        try {
          onItemFailure(batch[0].item, error);
        } catch {
          // A report that fails must not keep the caller waiting: it gets its error all the same.
        }
        batch[0].reject(error);
      } else {
        // One at a time, within this batch's turn: the fallback never runs more batches than maxInFlight.
        for (const waiting of batch) await this.run([waiting]);
      }
    }
  }
}
