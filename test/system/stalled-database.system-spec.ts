import { dataSourceOptions } from '@pollarix/database';
import { QUEUE_PREFIX, QueueName } from '@pollarix/queue';
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { call, JsonResponse, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { signalTree } from '../support/processes';
import { Receiver, startReceiver } from '../support/receiver';
import { completedData } from '../support/tenants';
import { ApiProcess, fastRecoveryEnv, spawnApi, spawnWorker, Stack, startStack, waitUntil, WorkerProcess, workerHttpUrl } from '../support/system';

/**
 * A stalled PostgreSQL (SIGSTOP on this file's own server: the postmaster and its backends) must not
 * hang the API or wedge the worker: requests answer 503 in the error format, readiness says why, jobs
 * do not stay active, and after SIGCONT everything recovers with nothing lost in either department.
 */
jest.setTimeout(240_000);

/** Short bounds, so that the stall is felt in a second or two (the defaults are 5 s). */
const TIMEOUTS = { DATABASE_STATEMENT_TIMEOUT: '1s', DATABASE_CONNECT_TIMEOUT: '1s' };
/** A request still unanswered after this has hung (the bug): generous for a shared machine, far below "forever". */
const ANSWER_WITHIN_MS = 20_000;
const EVENTS_BEFORE = 10;
const EVENTS_AFTER = 10;

/** A receiver that holds every request unanswered until `release()`, then answers them (and all later ones) 204. */
async function holdingReceiver(): Promise<Receiver & { release(): void }> {
  const held: ServerResponse[] = [];
  let holding = true;
  const answer = (res: ServerResponse) => res.writeHead(204).end();
  const receiver = await startReceiver((_req, res) => (holding ? held.push(res) : answer(res)));
  return {
    ...receiver,
    release() {
      holding = false;
      held.splice(0).forEach(answer);
    },
  };
}

describe('a stalled PostgreSQL (SIGSTOP)', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let helper: TestApi;
  let apiProcess: ApiProcess | undefined;
  let worker: WorkerProcess | undefined;
  let deliveries: Queue;
  let stopped = false;

  const postmaster = () => stack.postgres!.pid!;
  /** Runs `work` with this file's PostgreSQL stopped; it always runs again afterwards. */
  async function stalled<T>(work: () => Promise<T>): Promise<T> {
    signalTree(postmaster(), 'SIGSTOP');
    stopped = true;
    try {
      return await work();
    } finally {
      resume();
    }
  }
  /** SIGCONT to the same tree: stopped, the postmaster started no child meanwhile. */
  function resume(): void {
    if (!stopped) return;
    stopped = false;
    signalTree(postmaster(), 'SIGCONT');
  }

  beforeAll(async () => {
    stack = await startStack('stall', { ownPostgres: true });
    env = { ...fastRecoveryEnv(stack), ...TIMEOUTS };
    // Tokens and the checks of stored rows go through an API in this process (unused during the stall).
    helper = await startApi(env);
    deliveries = new Queue(QueueName.Deliveries, { connection: { url: stack.redisUrl }, prefix: QUEUE_PREFIX });
  });
  afterAll(async () => {
    resume();
    await Promise.all([apiProcess?.stop(), worker?.stop()]);
    await deliveries?.close();
    await helper?.close();
    await stack?.close();
  });

  it('a connection whose statement timed out is closed, never handed out again inside its abandoned transaction', async () => {
    const options = dataSourceOptions(stack.databaseUrl, { logging: false }, { statementMs: 500, connectMs: 500 });
    // One connection in the pool: a connection kept after the timeout would be the next caller's.
    const dataSource = new DataSource({ ...options, extra: { ...options.extra, max: 1 } });
    await dataSource.initialize();
    const table = `stall_probe_${randomBytes(4).toString('hex')}`;
    try {
      await dataSource.query(`CREATE TABLE ${table} (label text)`);
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      await runner.query(`INSERT INTO ${table} VALUES ('abandoned')`);
      await stalled(async () => {
        await expect(runner.query('SELECT 1')).rejects.toThrow('Query read timeout');
        await runner.rollbackTransaction().catch(() => undefined);
        await runner.release();
      });
      await dataSource.query(`INSERT INTO ${table} VALUES ('later')`);
      const other = new Client({ connectionString: stack.databaseUrl });
      await other.connect();
      try {
        // 'later' committed on its own; 'abandoned' never (rolled back with its connection).
        expect((await other.query(`SELECT label FROM ${table} ORDER BY label`)).rows).toEqual([{ label: 'later' }]);
      } finally {
        await other.end();
      }
    } finally {
      await dataSource.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await dataSource.destroy();
    }
  });

  it('the API answers 503 with Retry-After and readiness says why; jobs do not stay active; after SIGCONT nothing is lost in either department', async () => {
    apiProcess = await spawnApi(env);
    worker = await spawnWorker(env);
    const baseUrl = apiProcess.url;
    const workerUrl = await workerHttpUrl(worker);
    /** The spawned API, answering within ANSWER_WITHIN_MS or failing the test. */
    const request = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<JsonResponse> =>
      Promise.race([
        call(baseUrl, method, path, options),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${method} ${path} got no answer within ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS).unref(),
        ),
      ]);

    // Department A's receiver holds its requests: A's first deliveries are in flight when PostgreSQL stops.
    const receiverA = await holdingReceiver();
    const receiverB = await startReceiver();
    const publisher = await helper.token(['*'], ['events:publish']);
    const tenant = async (label: string, receiver: Receiver) => {
      const dept = uniqueDepartment(label);
      const token = await helper.token([dept]);
      const res = await request('POST', `/department/${dept}/webhook/`, { token, body: { name: 'hook', url: receiver.url, events: ['SURVEY_COMPLETED'] } });
      expect(res.status).toBe(201);
      return { dept, token, webhookId: res.body.webhooks[0].id as string };
    };
    const a = await tenant('stall_a', receiverA);
    const b = await tenant('stall_b', receiverB);
    const event = (dept: string, label: string) => ({
      id: `evt_${label}_${randomBytes(6).toString('hex')}`,
      type: 'SURVEY_COMPLETED',
      departmentId: dept,
      data: completedData,
    });
    const publishBatch = (events: ReturnType<typeof event>[]) => request('POST', '/internal/events/batch', { token: publisher, body: { events } });
    const statuses = async (dept: string) =>
      Object.fromEntries(
        (
          await helper.db.dataSource.query<{ status: string; n: string }[]>(`SELECT status, count(*) AS n FROM deliveries WHERE department_id = $1 GROUP BY status`, [
            dept,
          ])
        ).map((r) => [r.status, Number(r.n)]),
      );

    try {
      const beforeA = Array.from({ length: EVENTS_BEFORE }, () => event(a.dept, 'before'));
      const beforeB = Array.from({ length: EVENTS_BEFORE }, () => event(b.dept, 'before'));
      expect((await publishBatch(beforeA)).status).toBe(202);
      expect((await publishBatch(beforeB)).status).toBe(202);
      await waitUntil("A's first attempts are held at its receiver", () => receiverA.requests.length >= EVENTS_BEFORE);
      await waitUntil("B's deliveries succeeded", async () => (await statuses(b.dept)).succeeded === EVENTS_BEFORE);

      const refusedSingle = event(a.dept, 'refused');
      const refusedBatch = [event(a.dept, 'refused'), event(b.dept, 'refused')];
      const idempotencyKey = `stall-${randomBytes(6).toString('hex')}`;
      const created = { name: 'created during the stall', url: receiverA.url, events: ['SURVEY_COMPLETED'] };

      await stalled(async () => {
        const answers = {
          read: await request('GET', `/department/${a.dept}/webhook/${a.webhookId}/deliveries`, { token: a.token }),
          write: await request('POST', `/department/${a.dept}/webhook/`, { token: a.token, body: created, headers: { 'idempotency-key': idempotencyKey } }),
          publish: await request('POST', '/internal/events', { token: publisher, body: refusedSingle }),
          batch: await publishBatch(refusedBatch),
        };
        for (const [what, res] of Object.entries(answers)) {
          expect([what, res.status, res.body.detail?.[0]?.type]).toEqual([what, 503, 'service_unavailable']);
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        }

        expect((await request('GET', '/health/live')).status).toBe(200);
        const ready = await request('GET', '/health/ready');
        expect(ready.status).toBe(503);
        const reasons = (ready.body.detail as { msg: string }[]).map((d) => d.msg);
        expect(reasons).toEqual([expect.stringMatching(/^Not ready: postgresql: .*(timed out after \d+ ms|timeout)/)]);
        const workerReady = await fetch(`${workerUrl}/health/ready`);
        expect(workerReady.status).toBe(503);
        expect(await workerReady.json()).toMatchObject({ checks: { postgresql: 'down', redis: 'up' }, reasons: { postgresql: expect.stringContaining('timeout') } });

        // A's receiver answers now: the worker cannot log those attempts, and their jobs must not stay active.
        receiverA.release();
        await waitUntil('the worker has no delivery job active', async () => (await deliveries.getActiveCount()) === 0, 60_000, 100);
        // They wait to run again (delayed), not failed to the sweeper. (Not active again is not asserted
        // here: a delayed job may already be running its next try, which also gives up within the bounds.)
        expect(await deliveries.getFailedCount()).toBe(0);
      });

      await waitUntil('the API is ready again', async () => (await request('GET', '/health/ready')).status === 200, 60_000, 200);
      // What got 503 is retried as it was: the same event ids and Idempotency-Key are accepted once.
      expect((await request('POST', '/internal/events', { token: publisher, body: refusedSingle })).status).toBe(202);
      expect((await publishBatch(refusedBatch)).status).toBe(202);
      expect((await request('POST', `/department/${a.dept}/webhook/`, { token: a.token, body: created, headers: { 'idempotency-key': idempotencyKey } })).status).toBe(
        201,
      );
      const afterA = Array.from({ length: EVENTS_AFTER }, () => event(a.dept, 'after'));
      const afterB = Array.from({ length: EVENTS_AFTER }, () => event(b.dept, 'after'));
      expect((await publishBatch(afterA)).status).toBe(202);
      expect((await publishBatch(afterB)).status).toBe(202);

      // A: its events to its first webhook, and the two refused-then-retried ones (and those published
      // after the create) to the webhook created during the stall too. B: its own events only.
      const idsA = [...beforeA, refusedSingle, refusedBatch[0], ...afterA].map((e) => e.id);
      const idsB = [...beforeB, refusedBatch[1], ...afterB].map((e) => e.id);
      const webhooksA: { id: string; name: string }[] = await helper.db.dataSource.query(`SELECT id, name FROM webhooks WHERE department_id = $1 ORDER BY created_at`, [
        a.dept,
      ]);
      expect(webhooksA.map((w) => w.name)).toEqual(['hook', created.name]);
      const expectedA: { n: string }[] = await helper.db.dataSource.query(`SELECT count(*) AS n FROM deliveries WHERE department_id = $1`, [a.dept]);
      await waitUntil(
        'every delivery of both departments succeeded',
        async () => {
          const [sa, sb] = [await statuses(a.dept), await statuses(b.dept)];
          return (
            Object.keys(sa).join() === 'succeeded' && sa.succeeded === Number(expectedA[0].n) && Object.keys(sb).join() === 'succeeded' && sb.succeeded === idsB.length
          );
        },
        120_000,
        250,
      );

      const stored: { id: string; department_id: string }[] = await helper.db.dataSource.query(`SELECT id, department_id FROM events WHERE id = ANY($1) ORDER BY id`, [
        [...idsA, ...idsB],
      ]);
      expect(stored).toHaveLength(idsA.length + idsB.length);
      const firstHookA: { event_id: string }[] = await helper.db.dataSource.query(`SELECT event_id FROM deliveries WHERE webhook_id = $1`, [a.webhookId]);
      expect(firstHookA.map((d) => d.event_id).sort()).toEqual([...idsA].sort());

      expect(await deliveries.getFailedCount()).toBe(0);
      // At-least-once: every stored delivery reached its receiver (the attempts in flight at the stall again after it).
      const received = (receiver: Receiver) => new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
      const deliveryIds = async (dept: string) =>
        (await helper.db.dataSource.query<{ id: string }[]>(`SELECT id FROM deliveries WHERE department_id = $1`, [dept])).map((d) => d.id);
      expect((await deliveryIds(a.dept)).filter((id) => !received(receiverA).has(id))).toEqual([]);
      // B noticed nothing but the wait: every one of its deliveries, and its own events only.
      expect([...received(receiverB)].sort()).toEqual((await deliveryIds(b.dept)).sort());
      expect(new Set(receiverB.requests.map((r) => JSON.parse(r.body).id as string))).toEqual(new Set(idsB));
    } finally {
      receiverA.release();
      await Promise.all([receiverA.close(), receiverB.close()]);
    }
  });
});
