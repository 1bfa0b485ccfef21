import { newId } from '@pollarix/common';
import { fanOutJobId, JobName, QUEUE_PREFIX, QueueName } from '@pollarix/queue';
import { Queue } from 'bullmq';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { Receiver, startReceiver } from '../support/receiver';
import { spawnWorker, Stack, startStack, waitUntil, WorkerProcess } from '../support/system';

const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

/**
 * A rolling upgrade: jobs the previous release queued are still in Redis when the new worker starts.
 * Events it stored without deliveries, with their fan-out jobs in both payload forms (one event id, a
 * list of ids), and a pending delivery with a deliver job that names neither its chain, webhook nor
 * department, are all delivered once by the new worker, from the queue (the sweeper's grace is an
 * hour, so it is not what finds them), beside a department publishing through the new path.
 */
describe('rolling upgrade: jobs queued by the previous release', () => {
  let stack: Stack;
  let api: TestApi;
  let worker: WorkerProcess | undefined;
  let events: Queue;
  let deliveries: Queue;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    stack = await startStack('rolling-upgrade');
    api = await startApi({ DATABASE_URL: stack.databaseUrl, REDIS_URL: stack.redisUrl, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true' });
    const connection = { url: stack.redisUrl };
    events = new Queue(QueueName.Events, { connection, prefix: QUEUE_PREFIX });
    deliveries = new Queue(QueueName.Deliveries, { connection, prefix: QUEUE_PREFIX });
  });
  afterAll(async () => {
    await worker?.stop();
    await events?.close();
    await deliveries?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await api?.close();
    await stack?.close();
  });

  async function department(): Promise<{ dept: string; webhookId: string; receiver: Receiver }> {
    const dept = uniqueDepartment();
    const receiver = await startReceiver();
    receivers.push(receiver);
    const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, {
      token: await api.token([dept]),
      body: { name: 'w', url: receiver.url, events: ['SURVEY_COMPLETED'] },
    });
    expect(res.status).toBe(201);
    return { dept, webhookId: res.body.webhooks[0].id, receiver };
  }

  it('drains old fan-out and deliver jobs, each delivery sent once, beside a department on the new path', async () => {
    const old = await department();
    const fresh = await department();
    const sql = (text: string, params: unknown[]) => api.db.dataSource.query(text, params);

    // As the previous publisher stored them: events only, not fanned out.
    const eventIds = [newId('evt'), newId('evt'), newId('evt'), newId('evt')];
    await sql(`INSERT INTO events (id, department_id, type, data, occurred_at) SELECT id, $2, 'SURVEY_COMPLETED', $3::jsonb, now() FROM unnest($1::varchar[]) AS id`, [
      eventIds,
      old.dept,
      JSON.stringify(data),
    ]);
    // The fourth was fanned out by the previous worker: a pending delivery whose job is in the oldest form.
    const deliveryId = newId('msg');
    await sql(`UPDATE events SET fanned_out_at = now() WHERE id = $1`, [eventIds[3]]);
    await sql(
      `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts, chain_start, next_attempt_at)
       VALUES ($1, $2, $3, $4, 'SURVEY_COMPLETED', 'pending', 0, 0, now())`,
      [deliveryId, eventIds[3], old.webhookId, old.dept],
    );
    await events.addBulk([
      { name: JobName.FanOut, data: { eventId: eventIds[0] }, opts: { jobId: fanOutJobId([eventIds[0]]) } },
      { name: JobName.FanOut, data: { eventIds: eventIds.slice(1, 3) }, opts: { jobId: fanOutJobId(eventIds.slice(1, 3)) } },
    ]);
    await deliveries.add(JobName.Deliver, { deliveryId, attempt: 1 }, { jobId: `${deliveryId}-1` });

    // The other department publishes through the new release's API meanwhile.
    const publisher = await api.token(['*'], ['events:publish']);
    const published = Array.from({ length: 5 }, () => ({ type: 'SURVEY_COMPLETED', departmentId: fresh.dept, data }));
    expect((await call(api.baseUrl, 'POST', '/internal/events/batch', { token: publisher, body: { events: published } })).status).toBe(202);

    worker = await spawnWorker({
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      WORKER_HTTP_PORT: '0',
      SWEEPER_GRACE: '1h',
      LOG_LEVEL: 'warn',
    });
    const succeeded = async (webhookId: string) =>
      Number((await sql(`SELECT count(*) AS n FROM deliveries WHERE webhook_id = $1 AND status = 'succeeded'`, [webhookId]))[0].n);
    // Bound: nine small deliveries to loopback take well under a second; 30 s leaves room for a noisy machine.
    await waitUntil('both departments’ deliveries succeeded', async () => (await succeeded(old.webhookId)) === 4 && (await succeeded(fresh.webhookId)) === 5, 30_000);

    const sentEvents = (r: Receiver) => r.requests.map((q) => (JSON.parse(q.body) as { id: string }).id).sort();
    expect(sentEvents(old.receiver)).toEqual([...eventIds].sort());
    expect(new Set(old.receiver.requests.map((q) => q.headers['webhook-id'])).size).toBe(4);
    expect(fresh.receiver.requests).toHaveLength(5);
    expect(new Set(fresh.receiver.requests.map((q) => q.headers['webhook-id'])).size).toBe(5);
  });
});
