import { type SendResult, sendResult } from '@pollarix/delivery';
import fc from 'fast-check';
import { chainAttempt, ChainPosition, decide, isStale, settleAttempt } from './attempt';

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

const position = (fields: Partial<ChainPosition> = {}): ChainPosition => ({ status: 'pending', attempts: 0, chainStart: 0, chain: 0, ...fields });

describe('isStale', () => {
  it("sends the pending delivery's next attempt in its chain", () => {
    expect(isStale({ deliveryId: 'd', attempt: 1 }, position())).toBe(false);
    expect(isStale({ deliveryId: 'd', attempt: 4, chain: 2 }, position({ attempts: 3, chainStart: 3, chain: 2 }))).toBe(false);
  });

  it.each(['succeeded', 'failed', 'cancelled'] as const)('a %s delivery takes no attempt', (status) => {
    expect(isStale({ deliveryId: 'd', attempt: 1 }, position({ status }))).toBe(true);
  });

  it('a duplicate, an attempt ahead, or an earlier chain is stale; a job without a chain is chain 0', () => {
    expect(isStale({ deliveryId: 'd', attempt: 1 }, position({ attempts: 1 }))).toBe(true);
    expect(isStale({ deliveryId: 'd', attempt: 3 }, position({ attempts: 1 }))).toBe(true);
    expect(isStale({ deliveryId: 'd', attempt: 2, chain: 0 }, position({ attempts: 1, chain: 1 }))).toBe(true);
    expect(isStale({ deliveryId: 'd', attempt: 2 }, position({ attempts: 1, chain: 1 }))).toBe(true);
  });

  it('exactly one attempt number of a pending delivery is not stale, and only in its own chain', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(5), fc.integer({ min: 1, max: 60 }), fc.nat(5), (attempts, chain, attempt, jobChain) => {
        const stale = isStale({ deliveryId: 'd', attempt, chain: jobChain }, position({ attempts, chain }));
        expect(stale).toBe(attempt !== attempts + 1 || jobChain !== chain);
      }),
    );
  });
});

describe('chainAttempt', () => {
  it('counts from the start of the chain', () => {
    expect(chainAttempt({ deliveryId: 'd', attempt: 1 }, position())).toBe(1);
    expect(chainAttempt({ deliveryId: 'd', attempt: 9, chain: 1 }, position({ attempts: 8, chainStart: 8, chain: 1 }))).toBe(1);
  });
});

describe('settleAttempt', () => {
  const delivery = { ...position({ attempts: 8, chainStart: 8, chain: 1 }), id: 'msg_1', webhookId: 'wh_1', departmentId: 'dept_1', createdAt: new Date(0) };
  const job = { deliveryId: 'msg_1', attempt: 9, chain: 1 };
  const now = Date.UTC(2026, 0, 1);

  it("a redelivered delivery's failure retries on the start of the schedule, and names its next job", () => {
    const settled = settleAttempt(job, delivery, result({ statusCode: 500, durationMs: 40 }), schedule, { now, random: noJitter });
    expect(settled.decision).toEqual({ status: 'pending', retryInMs: 1000, gone: false });
    expect(settled.outcome).toMatchObject({
      deliveryId: 'msg_1',
      webhookId: 'wh_1',
      attempt: 9,
      chain: 1,
      status: 'pending',
      error: 'http_status',
      requestedAt: new Date(now - 40),
      nextAttemptAt: new Date(now + 1000),
    });
    expect(settled.next).toEqual({ id: 'msg_1', nextAttempt: 10, nextAttemptAt: new Date(now + 1000), chain: 1, webhookId: 'wh_1', departmentId: 'dept_1' });
  });

  it('a success has no error and no next job; an error override wins', () => {
    const ok = settleAttempt(job, delivery, result({ ok: true, statusCode: 200 }), schedule, { now });
    expect(ok.outcome).toMatchObject({ status: 'succeeded', error: null, nextAttemptAt: null });
    expect(ok.next).toBeNull();
    const undecryptable = settleAttempt(job, delivery, result({ errorMessage: 'no key' }), schedule, { now, errorOverride: 'undecryptable' });
    expect(undecryptable.outcome.error).toBe('undecryptable');
  });
});
