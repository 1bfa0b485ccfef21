import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  it('handles items added together in one call and answers each caller with its own result', async () => {
    const calls: number[][] = [];
    const batcher = new MicroBatcher<number, number>(async (items) => {
      calls.push(items);
      return items.map((n) => n * 10);
    }, { maxWaitMs: 5, maxBatch: 100 });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.add(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('starts a batch as soon as it is full', async () => {
    const calls: number[][] = [];
    const batcher = new MicroBatcher<number, null>(async (items) => {
      calls.push(items);
      return items.map(() => null);
    }, { maxWaitMs: 60_000, maxBatch: 2 });
    await Promise.all([batcher.add(1), batcher.add(2)]);
    expect(calls).toEqual([[1, 2]]);
    const third = batcher.add(3);
    await batcher.drain();
    await third;
    expect(calls).toEqual([[1, 2], [3]]);
  });

  it('rejects every caller of a failed batch, and a wrong result count too', async () => {
    const failing = new MicroBatcher<number, number>(async () => {
      throw new Error('database down');
    }, { maxWaitMs: 1, maxBatch: 10 });
    await expect(Promise.all([failing.add(1), failing.add(2)])).rejects.toThrow('database down');
    const short = new MicroBatcher<number, number>(async () => [1], { maxWaitMs: 1, maxBatch: 10 });
    const outcomes = await Promise.allSettled([short.add(1), short.add(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});
