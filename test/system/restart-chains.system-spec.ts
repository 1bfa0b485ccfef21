import { call, startApi, TestApi } from '../support/api-harness';
import { countByWebhookId, HostileReceiver, httpReceiver } from '../support/hostile-receivers';
import { spawnWorker, Stack, startStack, waitUntil, WorkerProcess } from '../support/system';
import { createTenant, deliveryDetail, expectUndisturbed, listDeliveries, publishEvents, Tenant } from '../support/tenants';

/**
 * Issue 10, reproduction 3 and its siblings: chains that restart really restart. redeliver and recover
 * send within seconds after a cancel (the cancelled chain's delayed job must not swallow the restart),
 * after exhaustion and after a 410. Each variant has a second department's delivery beside it that is
 * neither delayed nor sent again.
 *
 * Different retry schedules need different workers: one worker per schedule, one after the other.
 */

/**
 * The restart bound: a restarted chain's first attempt is due at once, so here it goes out in well
 * under a second; 15 s (the bound) absorbs a noisy machine and is far below the 1 h at which
 * the old code's colliding job would finally fire.
 */
const RESTART_BOUND_MS = 15_000;
/** The healthy department's single delivery: immediate here; 5 s leaves ample room for the machine. */
const HEALTHY_BOUND_MS = 5_000;

/** A receiver whose answer can be switched: `status` for every request until changed. */
async function switchableReceiver(initial: number): Promise<HostileReceiver & { answer(status: number): void; statuses: number[] }> {
  const statuses: number[] = [];
  let status = initial;
  const receiver = await httpReceiver((_req, res) => {
    statuses.push(status);
    res.writeHead(status).end();
  });
  return { ...receiver, statuses, answer: (next) => (status = next) };
}

type Finish = 'cancel' | 'exhaust' | 'gone';
type Restart = 'recover' | 'redeliver';

describe('restarted chains send within seconds (issue 10)', () => {
  let stack: Stack;
  let base: Record<string, string>;
  let api: TestApi;
  let publisher: string;

  beforeAll(async () => {
    stack = await startStack('restart');
    base = {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_TIMEOUT_MS: '5000',
      QUEUE_LOCK_DURATION: '10s',
      SWEEPER_INTERVAL: '1s',
      SWEEPER_GRACE: '3s',
      LOG_LEVEL: 'warn',
    };
    api = await startApi(base);
    publisher = await api.token(['*'], ['events:publish']);
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  async function setActive(tenant: Tenant, url: string, isActive: boolean): Promise<void> {
    const res = await call(api.baseUrl, 'PUT', `/department/${tenant.dept}/webhook/${tenant.webhookIds[0]}`, {
      token: tenant.token,
      body: { name: 'hook 0', url, events: ['SURVEY_COMPLETED'], isActive },
    });
    expect(res.status).toBe(200);
    expect(res.body.webhooks[0].isActive).toBe(isActive);
  }

  /**
   * A's one delivery: first brought to a finished state (`finish`), then restarted (`restart`) with the
   * receiver answering 204; B's one delivery, published right after A's, must not notice.
   */
  async function variant(finish: Finish, restart: Restart): Promise<void> {
    const hostile = await switchableReceiver(finish === 'gone' ? 410 : 500);
    const healthy = await switchableReceiver(204);
    try {
      const a = await createTenant(api, [hostile.url], 'restart');
      const b = await createTenant(api, [healthy.url], 'bystander');
      const webhookId = a.webhookIds[0];
      const since = new Date(Date.now() - 60_000).toISOString();
      await publishEvents(api, publisher, a.dept, 1);
      const publishedAt = Date.now();
      await publishEvents(api, publisher, b.dept, 1);
      await expectUndisturbed(api, b, healthy, 1, publishedAt, HEALTHY_BOUND_MS);

      const only = async () => {
        const list = await listDeliveries(api, a, webhookId);
        expect(list).toHaveLength(1);
        return list[0];
      };
      const reaches = (what: string, status: string, attempts: number) =>
        waitUntil(
          what,
          async () => {
            const d = await only();
            return d.status === status && d.attempts === attempts;
          },
          10_000,
          100,
        );
      // Bounds for the first chain: 10 s; with these schedules it settles in under a second here.
      if (finish === 'cancel') {
        await reaches('first attempt logged, next one scheduled', 'pending', 1);
        // The next attempt is ~1 h away (±20% jitter): the chain's delayed job sits in Redis.
        expect(new Date((await only()).nextAttemptAt!).getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
        await setActive(a, hostile.url, false);
        await waitUntil('cancelled', async () => (await only()).status === 'cancelled', 10_000, 100);
        await setActive(a, hostile.url, true);
      } else if (finish === 'exhaust') {
        await reaches('both attempts failed', 'failed', 2);
      } else {
        await waitUntil(
          'disabled as gone, delivery failed',
          async () => {
            const res = await call(api.baseUrl, 'GET', `/department/${a.dept}/webhook/${webhookId}`, { token: a.token });
            const d = await only();
            return res.body.webhooks[0].isActive === false && res.body.webhooks[0].disabledReason === 'gone' && d.status === 'failed';
          },
          10_000,
          100,
        );
        await setActive(a, hostile.url, true);
      }
      const before = hostile.requests.length;
      const first = await only();

      hostile.answer(204);
      const restartedAt = Date.now();
      if (restart === 'recover') {
        const res = await call(api.baseUrl, 'POST', `/department/${a.dept}/webhook/${webhookId}/recover`, { token: a.token, body: { since } });
        expect([res.status, res.body]).toEqual([202, { requeued: 1 }]);
      } else {
        const res = await call(api.baseUrl, 'POST', `/department/${a.dept}/webhook/${webhookId}/deliveries/${first.id}/redeliver`, { token: a.token });
        expect(res.status).toBe(202);
      }
      await waitUntil(`the restarted chain's attempt reached the receiver within ${RESTART_BOUND_MS} ms`, () => hostile.requests.length > before, RESTART_BOUND_MS, 50);
      const sentAfter = Date.now() - restartedAt;
      await waitUntil('the delivery succeeded', async () => (await only()).status === 'succeeded', 10_000, 100);

      const detail = await deliveryDetail(api, a, webhookId, first.id);
      const expected = { cancel: [500, 204], exhaust: [500, 500, 204], gone: [410, 204] }[finish];
      // Every attempt is logged once, numbered on from the first chain, all under one webhook-id.
      expect(detail.attempts.map((x) => x.statusCode)).toEqual(expected);
      expect(detail.attempts.map((x) => x.attempt)).toEqual(expected.map((_, i) => i + 1));
      expect(hostile.statuses).toEqual(expected);
      expect([...countByWebhookId(hostile.requests).keys()]).toEqual([first.id]);
      // B: still its one request, one attempt, succeeded.
      const [bDelivery] = await listDeliveries(api, b, b.webhookIds[0]);
      expect(bDelivery).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(healthy.requests.map((r) => r.webhookId)).toEqual([bDelivery.id]);
      console.log(`restart-chains: ${restart} after ${finish} sent in ${sentAfter} ms`);
    } finally {
      await Promise.all([hostile.close(), healthy.close()]);
    }
  }

  describe("schedule '1h' (a failed first attempt leaves its next attempt an hour ahead)", () => {
    let worker: WorkerProcess;
    beforeAll(async () => {
      worker = await spawnWorker({ ...base, DELIVERY_RETRY_SCHEDULE: '1h' });
    });
    afterAll(async () => {
      await worker?.stop();
    });

    // Reproduction 3 of issue 10: before the fix the restarted chain's job id equals the cancelled chain's
    // delayed job's, so the add is a no-op and nothing is sent for an hour.
    it('recover after a cancel sends within 15 s', () => variant('cancel', 'recover'), 60_000);
    it('redeliver after a cancel sends within 15 s', () => variant('cancel', 'redeliver'), 60_000);
    it('recover after a 410 (webhook re-activated) sends within 15 s', () => variant('gone', 'recover'), 60_000);
    it('redeliver after a 410 (webhook re-activated) sends within 15 s', () => variant('gone', 'redeliver'), 60_000);
  });

  describe("schedule '200ms' (two attempts, then exhausted)", () => {
    let worker: WorkerProcess;
    beforeAll(async () => {
      worker = await spawnWorker({ ...base, DELIVERY_RETRY_SCHEDULE: '200ms' });
    });
    afterAll(async () => {
      await worker?.stop();
    });

    it('recover after exhaustion sends within 15 s', () => variant('exhaust', 'recover'), 60_000);
    it('redeliver after exhaustion sends within 15 s', () => variant('exhaust', 'redeliver'), 60_000);
  });
});
