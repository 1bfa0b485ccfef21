import { AppError } from '@pollarix/common';
import { fillBuckets, floorToHour, MAX_WINDOW_MS, statsWindow } from './webhook-stats';

const now = new Date('2026-12-02T05:17:42.123Z');

function sinceErrorOf(since: string): { status: number; body: unknown } {
  try {
    statsWindow(since, now);
  } catch (error) {
    if (error instanceof AppError) return { status: error.status, body: error.toBody() };
    throw error;
  }
  throw new Error(`${since} was accepted`);
}

describe('statsWindow', () => {
  it('defaults to the last 24 hours, from the start of the hour 24 hours ago to now', () => {
    expect(statsWindow(undefined, now)).toEqual({ since: new Date('2026-12-01T05:00:00.000Z'), until: now });
  });

  it('floors since to its UTC hour, whatever its offset', () => {
    expect(statsWindow('2026-12-02T06:30:00+02:00', now).since).toEqual(new Date('2026-12-02T04:00:00.000Z'));
    expect(statsWindow(now.toISOString(), now).since).toEqual(new Date('2026-12-02T05:00:00.000Z'));
  });

  it('accepts exactly 7 days ago, refuses a millisecond more (422 naming since)', () => {
    expect(statsWindow(new Date(now.getTime() - MAX_WINDOW_MS).toISOString(), now).since).toEqual(new Date('2026-11-25T05:00:00.000Z'));
    expect(sinceErrorOf(new Date(now.getTime() - MAX_WINDOW_MS - 1).toISOString())).toEqual({
      status: 422,
      body: { status: 422, detail: [{ msg: 'since must be at most 7 days ago', type: 'value_error', loc: ['query', 'since'] }] },
    });
  });

  it('refuses a since in the future', () => {
    expect(sinceErrorOf(new Date(now.getTime() + 1).toISOString())).toEqual({
      status: 422,
      body: { status: 422, detail: [{ msg: 'since must not be in the future', type: 'value_error', loc: ['query', 'since'] }] },
    });
  });

  it('refuses what is not a date', () => {
    expect(sinceErrorOf('yesterday').status).toBe(422);
  });
});

describe('fillBuckets', () => {
  const window = { since: new Date('2026-12-02T02:00:00.000Z'), until: now };

  it('has every hour from since to the current one, zeros when empty', () => {
    const buckets = fillBuckets(window, [], []);
    expect(buckets.map((b) => b.start)).toEqual(['2026-12-02T02:00:00.000Z', '2026-12-02T03:00:00.000Z', '2026-12-02T04:00:00.000Z', '2026-12-02T05:00:00.000Z']);
    expect(buckets[0]).toEqual({
      start: '2026-12-02T02:00:00.000Z',
      deliveries: { pending: 0, succeeded: 0, failed: 0, cancelled: 0 },
      attempts: 0,
      latencyMs: null,
    });
  });

  it('puts each row in its hour and ignores rows outside the window', () => {
    const buckets = fillBuckets(
      window,
      [
        { hour: new Date('2026-12-02T03:00:00.000Z'), status: 'succeeded', count: 3 },
        { hour: new Date('2026-12-02T03:00:00.000Z'), status: 'failed', count: 1 },
        { hour: new Date('2026-12-02T05:00:00.000Z'), status: 'pending', count: 2 },
        { hour: new Date('2026-12-02T06:00:00.000Z'), status: 'pending', count: 9 },
        { hour: new Date('2026-12-02T01:00:00.000Z'), status: 'failed', count: 9 },
      ],
      [{ hour: new Date('2026-12-02T03:00:00.000Z'), attempts: 5, p50Ms: 12, p95Ms: 80 }],
    );
    expect(buckets[1]).toEqual({
      start: '2026-12-02T03:00:00.000Z',
      deliveries: { pending: 0, succeeded: 3, failed: 1, cancelled: 0 },
      attempts: 5,
      latencyMs: { p50: 12, p95: 80 },
    });
    expect(buckets[3].deliveries).toEqual({ pending: 2, succeeded: 0, failed: 0, cancelled: 0 });
    expect(buckets.reduce((n, b) => n + b.deliveries.pending + b.deliveries.failed, 0)).toBe(3);
  });

  it('a window of one hour has one bucket', () => {
    expect(fillBuckets({ since: floorToHour(now), until: now }, [], [])).toHaveLength(1);
  });
});
