export interface MicroBatcherOptions {
  /** Longest an item waits for companions before its batch is handled. */
  maxWaitMs: number;
  /** A batch this large is handled at once. */
  maxBatch: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers items arriving within a few milliseconds of each other (concurrent jobs) into one call of
 * `handle`, and gives each caller its own result. `handle` returns one output per input, in order;
 * when it throws, every caller of that batch gets the error. Nothing is dropped: `drain` waits for
 * the batches in flight.
 */
export class MicroBatcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly handle: (items: I[]) => Promise<O[]>,
    private readonly options: MicroBatcherOptions,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  /** Handles what is waiting now and waits for every batch in flight. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const run = this.run(batch);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private async run(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outputs = await this.handle(batch.map((w) => w.item));
      if (outputs.length !== batch.length) throw new Error(`Batch handler returned ${outputs.length} results for ${batch.length} items`);
      batch.forEach((w, i) => w.resolve(outputs[i]));
    } catch (error) {
      batch.forEach((w) => w.reject(error));
    }
  }
}
