import { retried } from './retry';

describe('retried', () => {
  it('tries again after a failure, up to the attempts given, and answers the first success', async () => {
    const failures: number[] = [];
    let calls = 0;
    const value = await retried(
      async () => {
        if (++calls < 3) throw new Error(`refused ${calls}`);
        return 'migrated';
      },
      { attempts: 3, delayMs: 0, onRetry: (_, retry) => failures.push(retry) },
    );
    expect(value).toBe('migrated');
    expect(calls).toBe(3);
    expect(failures).toEqual([1, 2]);
  });

  it('gives up with the last error once every attempt failed', async () => {
    let calls = 0;
    await expect(
      retried(
        async () => {
          throw new Error(`refused ${++calls}`);
        },
        { attempts: 3, delayMs: 0 },
      ),
    ).rejects.toThrow('refused 3');
    expect(calls).toBe(3);
  });
});
