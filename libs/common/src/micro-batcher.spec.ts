import { MicroBatcher } from './micro-batcher';

/** A handler whose batches finish only when the test says so. */
function gated() {
  const calls: number[][] = [];
  const gates: (() => void)[] = [];
  const handle = async (items: number[]) => {
    calls.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((n) => n * 10);
  };
  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((r) => setImmediate(r));
  };
  return { calls, gates, handle, until };
}

describe('MicroBatcher', () => {
  it('handles items added in one turn together and answers each caller with its own result', async () => {
    const calls: number[][] = [];
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        calls.push(items);
        return items.map((n) => n * 10);
      },
      { maxBatch: 100, maxInFlight: 1 },
    );
    expect(await Promise.all([1, 2, 3].map((n) => batcher.add(n)))).toEqual([10, 20, 30]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('gathers what arrives while a batch runs into the next one (group commit), within maxBatch', async () => {
    const { calls, gates, handle, until } = gated();
    const batcher = new MicroBatcher<number, number>(handle, { maxBatch: 2, maxInFlight: 1 });
    const first = batcher.add(1);
    await until(() => calls.length === 1);
    const later = [2, 3, 4].map((n) => batcher.add(n));
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[1]]);
    gates.shift()!();
    await until(() => calls.length === 2);
    expect(calls[1]).toEqual([2, 3]);
    gates.shift()!();
    await until(() => calls.length === 3);
    gates.shift()!();
    expect(await Promise.all([first, ...later])).toEqual([10, 20, 30, 40]);
    expect(calls).toEqual([[1], [2, 3], [4]]);
  });

  it('runs up to maxInFlight batches at once, and drain waits for all of them', async () => {
    const { calls, gates, handle, until } = gated();
    const batcher = new MicroBatcher<number, number>(handle, { maxBatch: 10, maxInFlight: 2 });
    const a = batcher.add(1);
    await until(() => calls.length === 1);
    const b = batcher.add(2);
    await until(() => calls.length === 2);
    const c = batcher.add(3);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[1], [2]]);
    let drained = false;
    const draining = batcher.drain().then(() => (drained = true));
    gates.shift()!();
    await until(() => calls.length === 3);
    expect(drained).toBe(false);
    gates.shift()!();
    gates.shift()!();
    await draining;
    expect(await Promise.all([a, b, c])).toEqual([10, 20, 30]);
  });

  it('rejects every caller of a failed batch, and a wrong result count too', async () => {
    const failing = new MicroBatcher<number, number>(
      async () => {
        throw new Error('database down');
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    await expect(Promise.all([failing.add(1), failing.add(2)])).rejects.toThrow('database down');
    const short = new MicroBatcher<number, number>(async () => [1], { maxBatch: 10, maxInFlight: 1 });
    const outcomes = await Promise.allSettled([short.add(1), short.add(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('with onItemFailure, a batch that fails is retried item by item: only the bad item fails, once reported', async () => {
    const calls: number[][] = [];
    const failures: number[] = [];
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        calls.push(items);
        if (items.includes(13)) throw new Error('poisoned');
        return items.map((n) => n * 10);
      },
      { maxBatch: 100, maxInFlight: 1, onItemFailure: (item) => failures.push(item) },
    );
    const results = await Promise.allSettled([12, 13, 14].map((n) => batcher.add(n)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([120, 'poisoned', 140]);
    expect(calls).toEqual([[12, 13, 14], [12], [13], [14]]);
    expect(failures).toEqual([13]);
  });

  it('with onItemFailure, a batch failed by an unavailable database is not retried item by item: every caller gets the error at once', async () => {
    const calls: number[][] = [];
    const failures: number[] = [];
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        calls.push(items);
        throw Object.assign(new Error('Query failed'), { driverError: new Error('Query read timeout') });
      },
      { maxBatch: 100, maxInFlight: 1, onItemFailure: (item) => failures.push(item) },
    );
    const results = await Promise.allSettled([1, 2, 3].map((n) => batcher.add(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(calls).toEqual([[1, 2, 3]]);
    expect(failures).toEqual([]);
  });

  it('without onItemFailure, every caller of a failed batch gets its error', async () => {
    const batcher = new MicroBatcher<number, number>(
      async () => {
        throw new Error('down');
      },
      { maxBatch: 100, maxInFlight: 1 },
    );
    const results = await Promise.allSettled([1, 2].map((n) => batcher.add(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
