import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { Receiver, startReceiver } from '../support/receiver';
import { fastRecoveryEnv, spawnWorker, Stack, startStack, waitUntil, WorkerProcess } from '../support/system';

/**
 * At-least-once under failure: a worker killed with SIGKILL mid-burst, Redis restarted gracefully,
 * and Redis killed with its data gone. Every delivery must end succeeded at the receivers.
 */
const EVENTS = 2_000;
// Bursts of 4,000 deliveries with failures in the middle: generous per-test time on a shared machine.
jest.setTimeout(180_000);
const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

describe('nothing is lost when workers or Redis fail mid-burst', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let api: TestApi;
  let workers: WorkerProcess[] = [];
  let publisher: string;

  beforeAll(async () => {
    stack = await startStack('resilience');
    env = { ...fastRecoveryEnv(stack), WORKER_HTTP_PORT: '0', WORKER_CONCURRENCY: '50' };
    api = await startApi(env);
    publisher = await api.token(['*'], ['events:publish']);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  async function burst(): Promise<{ dept: string; receivers: Receiver[]; webhookIds: string[] }> {
    const dept = uniqueDepartment();
    const token = await api.token([dept]);
    const receivers = [await startReceiver(), await startReceiver()];
    const webhookIds: string[] = [];
    for (const receiver of receivers) {
      const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: { name: 'r', url: receiver.url, events: ['SURVEY_COMPLETED'] } });
      webhookIds.push(res.body.webhooks[0].id);
    }
    return { dept, receivers, webhookIds };
  }

  async function publishAll(dept: string, during?: { after: number; action: () => Promise<void> }): Promise<void> {
    for (let sent = 0; sent < EVENTS; sent += 500) {
      if (during && sent >= during.after && sent - 500 < during.after) await during.action();
      const res = await call(api.baseUrl, 'POST', '/internal/events/batch', {
        token: publisher,
        body: { events: Array.from({ length: 500 }, (_, i) => ({ type: 'SURVEY_COMPLETED', departmentId: dept, data: { ...data, n: sent + i } })) },
      });
      expect(res.status).toBe(202);
    }
  }

  async function expectAllDelivered(dept: string, receivers: Receiver[]): Promise<void> {
    const succeeded = async () => {
      const rows: { n: string }[] = await api.db.dataSource.query(`SELECT count(*) AS n FROM deliveries WHERE department_id = $1 AND status = 'succeeded'`, [dept]);
      return Number(rows[0].n);
    };
    await waitUntil(`all ${EVENTS * 2} deliveries succeeded`, async () => (await succeeded()) === EVENTS * 2, 150_000, 250);
    const rows: { status: string; n: string }[] = await api.db.dataSource.query(
      `SELECT status, count(*) AS n FROM deliveries WHERE department_id = $1 GROUP BY status`,
      [dept],
    );
    expect(rows).toEqual([{ status: 'succeeded', n: String(EVENTS * 2) }]);
    const ids: string[] = await api.db.dataSource.query(`SELECT id FROM deliveries WHERE department_id = $1`, [dept]).then((r: { id: string }[]) => r.map((x) => x.id));
    const received = new Set(receivers.flatMap((r) => r.requests.map((q) => String(q.headers['webhook-id']))));
    // At-least-once: every delivery reached its receiver; duplicates carry the same webhook-id.
    expect(ids.filter((id) => !received.has(id))).toEqual([]);
    const events = new Set(receivers[0].requests.map((q) => JSON.parse(q.body).id as string));
    expect(events.size).toBe(EVENTS);
  }

  it('a worker killed with SIGKILL mid-burst, a second worker running: every delivery succeeds', async () => {
    const { dept, receivers } = await burst();
    try {
      workers = [await spawnWorker(env), await spawnWorker(env)];
      await publishAll(dept);
      await waitUntil('the burst is under way', () => receivers[0].requests.length > 300, 60_000, 20);
      await workers[0].kill();
      await expectAllDelivered(dept, receivers);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });

  it('Redis restarted gracefully mid-burst: every delivery succeeds', async () => {
    const { dept, receivers } = await burst();
    try {
      workers = [await spawnWorker(env)];
      await publishAll(dept);
      await waitUntil('the burst is under way', () => receivers[0].requests.length > 300, 60_000, 20);
      await stack.restartRedis({ hard: false, wipe: false });
      await expectAllDelivered(dept, receivers);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });

  it('Redis killed with its data gone mid-burst: the sweeper re-queues from PostgreSQL', async () => {
    const { dept, receivers } = await burst();
    try {
      workers = [await spawnWorker(env)];
      await publishAll(dept);
      await waitUntil('the burst is under way', () => receivers[0].requests.length > 300, 60_000, 20);
      await stack.restartRedis({ hard: true, wipe: true });
      await expectAllDelivered(dept, receivers);
      expect(workers[0].output.join('')).toMatch(/Re-queued \d+ fan-out\(s\) and [1-9]\d* delivery attempt/);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });

  it('SIGTERM during a burst: in-flight attempts finish and are logged, the worker exits 0, nothing is lost', async () => {
    const dept = uniqueDepartment();
    const token = await api.token([dept]);
    const slow = await startReceiver((_req, res) => setTimeout(() => res.writeHead(204).end(), 300));
    try {
      const created = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: { name: 's', url: slow.url, events: ['SURVEY_COMPLETED'] } });
      expect(created.status).toBe(201);
      const first = await spawnWorker(env);
      workers = [first];
      const res = await call(api.baseUrl, 'POST', '/internal/events/batch', {
        token: publisher,
        body: { events: Array.from({ length: 400 }, () => ({ type: 'SURVEY_COMPLETED', departmentId: dept, data })) },
      });
      expect(res.status).toBe(202);
      await waitUntil('attempts in flight', () => slow.requests.length >= 60, 30_000, 10);
      expect(await first.stop()).toBe(0);
      const received = slow.requests.length;
      const logged: { n: string }[] = await api.db.dataSource.query(
        `SELECT count(*) AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.department_id = $1`,
        [dept],
      );
      // Every request the receiver saw was answered and logged before the process exited.
      expect(Number(logged[0].n)).toBe(received);
      workers = [await spawnWorker(env)];
      await waitUntil(
        'all succeeded',
        async () => {
          const rows: { n: string }[] = await api.db.dataSource.query(`SELECT count(*) AS n FROM deliveries WHERE department_id = $1 AND status = 'succeeded'`, [dept]);
          return Number(rows[0].n) === 400;
        },
        60_000,
        100,
      );
      const retried: { n: string }[] = await api.db.dataSource.query(`SELECT count(*) AS n FROM deliveries WHERE department_id = $1 AND attempts <> 1`, [dept]);
      expect(Number(retried[0].n)).toBe(0);
    } finally {
      await slow.close();
    }
  });
});
