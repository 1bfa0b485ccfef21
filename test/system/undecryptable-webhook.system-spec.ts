import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { startReceiver } from '../support/receiver';
import { spawnWorker, Stack, startStack, waitUntil, WorkerProcess, workerHttpUrl } from '../support/system';

const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };
const EVENTS = 20;

/**
 * A webhook whose sealed secret cannot be opened (a key lost from the ring, a damaged row) fails its own
 * deliveries, logged as `undecryptable` and counted, while another department's deliveries that the
 * worker loads in the same batches go out once each. Before, the whole batch's load failed with it.
 */
describe('a webhook that cannot be decrypted, beside a healthy department', () => {
  let stack: Stack;
  let api: TestApi;
  let worker: WorkerProcess;

  beforeAll(async () => {
    stack = await startStack('undecryptable');
    const env = {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_RETRY_SCHEDULE: '500ms',
      WORKER_HTTP_PORT: '0',
      SWEEPER_INTERVAL: '1s',
      SWEEPER_GRACE: '3s',
      LOG_LEVEL: 'error',
    };
    api = await startApi(env);
    worker = await spawnWorker(env);
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await stack?.close();
  });

  it('fails its own deliveries as undecryptable; the other department receives each of its deliveries once', async () => {
    const broken = await startReceiver();
    const healthy = await startReceiver();
    try {
      const publisher = await api.token(['*'], ['events:publish']);
      const departments = [uniqueDepartment(), uniqueDepartment()];
      const tokens = await Promise.all(departments.map((d) => api.token([d])));
      const webhookIds: string[] = [];
      for (const [i, url] of [broken.url, healthy.url].entries()) {
        const res = await call(api.baseUrl, 'POST', `/department/${departments[i]}/webhook/`, {
          token: tokens[i],
          body: { name: 'w', url, events: ['SURVEY_COMPLETED'] },
        });
        webhookIds.push(res.body.webhooks[0].id);
      }
      await api.db.dataSource.query(`UPDATE webhooks SET secret_sealed = 'damaged' WHERE id = $1`, [webhookIds[0]]);

      // Interleaved in one batch publish, so the worker loads both departments' deliveries together.
      const events = Array.from({ length: EVENTS * 2 }, (_, i) => ({ type: 'SURVEY_COMPLETED', departmentId: departments[i % 2], data }));
      expect((await call(api.baseUrl, 'POST', '/internal/events/batch', { token: publisher, body: { events } })).status).toBe(202);

      const list = async (i: number) =>
        (await call(api.baseUrl, 'GET', `/department/${departments[i]}/webhook/${webhookIds[i]}/deliveries?limit=100`, { token: tokens[i] })).body.deliveries as {
          id: string;
          status: string;
          attempts: number;
        }[];
      // Bound: 40 small deliveries to loopback take well under a second here; 20 s leaves room for a noisy machine.
      await waitUntil('the healthy department got all its deliveries', async () => (await list(1)).filter((d) => d.status === 'succeeded').length === EVENTS, 20_000);
      // Two attempts each (the schedule has one retry), then failed.
      await waitUntil('the broken webhook’s deliveries failed', async () => (await list(0)).filter((d) => d.status === 'failed').length === EVENTS, 20_000);

      const ids = healthy.requests.map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(EVENTS);
      expect(ids).toHaveLength(EVENTS);
      expect(broken.requests).toHaveLength(0);
      const [first] = await list(0);
      const detail = await call(api.baseUrl, 'GET', `/department/${departments[0]}/webhook/${webhookIds[0]}/deliveries/${first.id}`, { token: tokens[0] });
      expect(detail.body.attempts.map((a: { error: string; statusCode: number | null }) => [a.error, a.statusCode])).toEqual([
        ['undecryptable', null],
        ['undecryptable', null],
      ]);
      const metrics = await (await fetch(`${await workerHttpUrl(worker)}/metrics`)).text();
      expect(Number(/pollarix_delivery_item_failures_total\{stage="decrypt"\} (\d+)/.exec(metrics)?.[1])).toBe(EVENTS * 2);
    } finally {
      await Promise.all([broken.close(), healthy.close()]);
    }
  });
});
