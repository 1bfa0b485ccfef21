import { QUEUE_PREFIX, QueueName } from '@pollarix/queue';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { Receiver, startReceiver } from '../support/receiver';
import { spawnApi, spawnWorker, Stack, startStack, waitUntil, WorkerProcess, workerHttpUrl } from '../support/system';

const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };
const metric = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

/**
 * An attempt reads nothing it can hold (issue 12): a published event's first attempts go out from what
 * their jobs carry and the worker's webhook cache, and their only PostgreSQL work is the outcome write.
 * Measured with PostgreSQL's own counters of the scans of `events` and `webhooks` (flushed when the
 * processes that made them exit), and the worker's counters of where attempts took their delivery from.
 *
 * And the one case that reading nothing could get wrong: a webhook deactivated (cancelling what was
 * pending) and re-activated while retries of its deliveries wait in the queue. The webhook was written
 * after those deliveries were created, so their jobs check the delivery row, find it cancelled, and send nothing.
 */
describe('attempts read nothing they can hold', () => {
  let stack: Stack;
  let api: TestApi;
  let pg: Client;
  const receivers: Receiver[] = [];
  const processes: WorkerProcess[] = [];
  const env = (stack: Stack) => ({
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: stack.redisUrl,
    DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_RETRY_SCHEDULE: '1500ms,1500ms',
    // No sweeper tick during the test: its walks read these tables too.
    SWEEPER_INTERVAL: '1h',
    WORKER_HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
  });

  beforeAll(async () => {
    stack = await startStack('attempt-reads');
    api = await startApi(env(stack));
    pg = new Client({ connectionString: stack.databaseUrl });
    await pg.connect();
  });
  afterAll(async () => {
    for (const p of processes) await p.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await pg?.end();
    await api?.close();
    await stack?.close();
  });

  const scans = async (table: string): Promise<number> =>
    Number((await pg.query(`SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS n FROM pg_stat_user_tables WHERE relname = $1`, [table])).rows[0].n);
  const count = async (where: string, params: unknown[]): Promise<number> =>
    Number((await pg.query(`SELECT count(*) AS n FROM deliveries WHERE ${where}`, params)).rows[0].n);

  async function department(baseUrl: string, receiver?: Receiver): Promise<{ dept: string; token: string; webhookId: string; receiver: Receiver }> {
    const dept = uniqueDepartment();
    const token = await api.token([dept]);
    if (receiver === undefined) {
      receiver = await startReceiver();
      receivers.push(receiver);
    }
    const res = await call(baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: { name: 'w', url: receiver.url, events: ['SURVEY_COMPLETED'] } });
    expect(res.status).toBe(201);
    return { dept, token, webhookId: res.body.webhooks[0].id, receiver };
  }

  it('first attempts scan neither events nor webhooks rows, beyond one cache load per webhook', async () => {
    // The API in a process of its own, stopped before the count starts: its scans are flushed by then.
    const apiProcess = await spawnApi(env(stack));
    const baseUrl = apiProcess.url;
    const a = await department(baseUrl);
    const b = await department(baseUrl);
    const publisher = await api.token(['*'], ['events:publish']);
    const events = Array.from({ length: 60 }, (_, i) => ({ type: 'SURVEY_COMPLETED', departmentId: [a.dept, b.dept][i % 2], data }));
    expect((await call(baseUrl, 'POST', '/internal/events/batch', { token: publisher, body: { events } })).status).toBe(202);
    await apiProcess.stop();

    const before = { events: await scans('events'), webhooks: await scans('webhooks') };
    const worker = await spawnWorker(env(stack));
    processes.push(worker);
    await waitUntil('all 60 deliveries succeeded', async () => (await count(`status = 'succeeded'`, [])) === 60, 30_000);
    const metrics = await (await fetch(`${await workerHttpUrl(worker)}/metrics`)).text();
    await worker.stop();
    const after = { events: await scans('events'), webhooks: await scans('webhooks') };

    expect(metric(metrics, 'pollarix_delivery_attempt_sources_total{source="job"}')).toBe(60);
    expect(metric(metrics, 'pollarix_delivery_attempt_sources_total{source="database"}')).toBe(0);
    expect(metric(metrics, 'pollarix_delivery_webhook_loads_total')).toBeLessThanOrEqual(2);
    expect(after.events - before.events).toBe(0);
    // The webhooks' only scans: the cache's loads (one or two statements) and the outcome writes' end of failing streaks (one per write batch).
    process.stderr.write(`[attempt-reads] scans during 60 attempts: events ${after.events - before.events}, webhooks ${after.webhooks - before.webhooks}\n`);
    for (const d of [a, b]) {
      expect(d.receiver.requests).toHaveLength(30);
      expect(new Set(d.receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(30);
    }
  });

  it('retries queued before a deactivate and re-activate check their rows and send nothing; the other department is untouched', async () => {
    const refusing = await startReceiver((_req, res) => res.writeHead(500).end());
    receivers.push(refusing);
    const failing = await department(api.baseUrl, refusing);
    const healthy = await department(api.baseUrl);
    const worker = await spawnWorker(env(stack));
    processes.push(worker);
    const publisher = await api.token(['*'], ['events:publish']);
    const events = Array.from({ length: 6 }, (_, i) => ({ type: 'SURVEY_COMPLETED', departmentId: [failing.dept, healthy.dept][i % 2], data }));
    expect((await call(api.baseUrl, 'POST', '/internal/events/batch', { token: publisher, body: { events } })).status).toBe(202);
    await waitUntil(
      'three first attempts failed',
      async () => (await count(`webhook_id = $1 AND attempts = 1 AND status = 'pending'`, [failing.webhookId])) === 3,
      30_000,
    );

    // Off and on again within the retry delay: the pending deliveries are cancelled, their retry jobs still queued.
    const path = `/department/${failing.dept}/webhook/${failing.webhookId}`;
    const body = (isActive: boolean) => ({ name: 'w', url: failing.receiver.url, events: ['SURVEY_COMPLETED'], isActive });
    expect((await call(api.baseUrl, 'PUT', path, { token: failing.token, body: body(false) })).status).toBe(200);
    expect((await call(api.baseUrl, 'PUT', path, { token: failing.token, body: body(true) })).status).toBe(200);

    const queue = new Queue(QueueName.Deliveries, { connection: { url: stack.redisUrl }, prefix: QUEUE_PREFIX });
    try {
      await waitUntil(
        'every queued job ran',
        async () => Object.values(await queue.getJobCounts('delayed', 'waiting', 'active', 'prioritized')).every((n) => n === 0),
        30_000,
        100,
      );
    } finally {
      await queue.close();
    }
    const metrics = await (await fetch(`${await workerHttpUrl(worker)}/metrics`)).text();
    expect(failing.receiver.requests).toHaveLength(3);
    expect(await count(`webhook_id = $1 AND status = 'cancelled' AND attempts = 1`, [failing.webhookId])).toBe(3);
    expect(metric(metrics, 'pollarix_delivery_attempt_sources_total{source="database"}')).toBeGreaterThanOrEqual(3);
    expect(healthy.receiver.requests).toHaveLength(3);
    expect(await count(`webhook_id = $1 AND status = 'succeeded'`, [healthy.webhookId])).toBe(3);
  });
});
