import { within, withTimeout } from './async';

const never = () => new Promise<never>(() => undefined);

describe('withTimeout', () => {
  it('passes the value through when it comes in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, 'seven')).resolves.toBe(7);
  });

  it('passes the rejection through when it comes in time', async () => {
    await expect(withTimeout(Promise.reject(new Error('boom')), 1_000, 'boom')).rejects.toThrow('boom');
  });

  it('rejects naming what timed out', async () => {
    await expect(withTimeout(never(), 10, 'the answer')).rejects.toThrow('the answer timed out after 10 ms');
  });
});

describe('within', () => {
  it('gives the value when it comes in time', async () => {
    await expect(within(Promise.resolve('done'), 1_000, 'late')).resolves.toBe('done');
  });

  it('gives the fallback when time runs out first', async () => {
    await expect(within(never(), 10, 'late')).resolves.toBe('late');
  });

  it('passes a rejection that comes in time through', async () => {
    await expect(within(Promise.reject(new Error('boom')), 1_000, 'late')).rejects.toThrow('boom');
  });
});
