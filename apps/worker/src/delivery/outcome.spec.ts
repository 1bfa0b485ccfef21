import { type SendResult, sendResult } from '@pollarix/delivery';
import { decide } from './outcome';

const result = (fields: Partial<SendResult>): SendResult => sendResult({ durationMs: 1, ...fields });
const schedule = [1000, 60_000];
const noJitter = () => 0.5;

describe('decide', () => {
  it('2xx succeeds', () => {
    expect(decide(result({ ok: true, statusCode: 204 }), 1, schedule)).toEqual({ status: 'succeeded', retryInMs: null, gone: false });
  });

  it.each([500, 302, 404, 429])('HTTP %i retries on the schedule', (statusCode) => {
    expect(decide(result({ statusCode }), 1, schedule, noJitter)).toEqual({ status: 'pending', retryInMs: 1000, gone: false });
    expect(decide(result({ statusCode }), 2, schedule, noJitter).retryInMs).toBe(60_000);
  });

  it('network errors retry too', () => {
    expect(decide(result({ error: 'timeout' }), 1, schedule, noJitter).status).toBe('pending');
  });

  it('fails once the schedule is exhausted', () => {
    expect(decide(result({ statusCode: 500 }), 3, schedule)).toEqual({ status: 'failed', retryInMs: null, gone: false });
  });

  it('410 fails at once and marks the webhook gone', () => {
    expect(decide(result({ statusCode: 410 }), 1, schedule)).toEqual({ status: 'failed', retryInMs: null, gone: true });
  });

  it('Retry-After stretches the wait', () => {
    expect(decide(result({ statusCode: 429, retryAfterMs: 30_000 }), 1, schedule, noJitter).retryInMs).toBe(30_000);
    expect(decide(result({ statusCode: 503, retryAfterMs: 10 }), 1, schedule, noJitter).retryInMs).toBe(1000);
  });
});
