import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { Receiver, startReceiver } from '../support/receiver';
import { ApiProcess, fastRecoveryEnv, spawnApi, spawnWorker, Stack, startStack, waitUntil, WorkerProcess, workerHttpUrl } from '../support/system';

/**
 * Horizontal scale on one PostgreSQL and one Redis: two API processes take the events, workers come
 * and go during the burst (1 → 3, one SIGKILLed and replaced, one SIGTERMed), and in the end every
 * delivery happened exactly as the delivery log says, with the work spread over the workers.
 */
const ROUNDS = 8;
const PER_ROUND = 150;
const EVENTS = ROUNDS * PER_ROUND;
jest.setTimeout(180_000);
const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

interface Worker {
  name: string;
  process: WorkerProcess;
  metricsUrl: string;
  /** Successful attempts, read from its /metrics (last reading before it went away). */
  succeeded: number;
}

describe('scaling: 2 API processes and workers that come and go', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let admin: TestApi;
  const apis: ApiProcess[] = [];
  const workers: Worker[] = [];
  let receivers: Receiver[] = [];

  beforeAll(async () => {
    stack = await startStack('scaling');
    env = { ...fastRecoveryEnv(stack), WORKER_CONCURRENCY: '20' };
    // In-process, only to mint tokens and read the database; the traffic goes to the two API processes.
    admin = await startApi(env);
    for (let i = 0; i < 2; i++) {
      apis.push(await spawnApi({ ...env, HOST: '127.0.0.1' }));
    }
  });
  afterAll(async () => {
    await Promise.all([...workers.map((w) => w.process.stop()), ...apis.map((a) => a.stop())]);
    await Promise.all(receivers.map((r) => r.close()));
    await admin?.close();
    await stack?.close();
  });

  async function startWorker(name: string): Promise<Worker> {
    const child = await spawnWorker(env);
    const worker = { name, process: child, metricsUrl: await workerHttpUrl(child), succeeded: 0 };
    workers.push(worker);
    return worker;
  }

  /** Reads the worker's successful attempts from its Prometheus text. */
  async function readSucceeded(worker: Worker): Promise<number> {
    const res = await fetch(`${worker.metricsUrl}/metrics`);
    const text = await res.text();
    worker.succeeded = text
      .split('\n')
      .filter((line) => line.startsWith('pollarix_delivery_attempts_total{') && line.includes('outcome="success"'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    return worker.succeeded;
  }

  it('delivers every event to every webhook once in the log, whichever process took it', async () => {
    const dept = uniqueDepartment('dept_scale');
    const token = await admin.token([dept]);
    const publisher = await admin.token(['*'], ['events:publish']);
    receivers = [await startReceiver(), await startReceiver()];
    const webhookIds: string[] = [];
    for (const [i, receiver] of receivers.entries()) {
      const res = await call(apis[i].url, 'POST', `/department/${dept}/webhook/`, { token, body: { name: `r${i}`, url: receiver.url, events: ['SURVEY_COMPLETED'] } });
      expect(res.status).toBe(201);
      webhookIds.push(res.body.webhooks[0].id);
    }

    const w1 = await startWorker('w1');
    let terminated: Promise<number | null> | undefined;
    const publish = async (round: number) => {
      const res = await call(apis[round % 2].url, 'POST', '/internal/events/batch', {
        token: publisher,
        body: { events: Array.from({ length: PER_ROUND }, (_, i) => ({ type: 'SURVEY_COMPLETED', departmentId: dept, data: { ...data, n: round * PER_ROUND + i } })) },
      });
      expect(res.status).toBe(202);
    };
    const deliveredSoFar = () => receivers.reduce((sum, r) => sum + r.requests.length, 0);

    for (let round = 0; round < ROUNDS; round++) {
      await publish(round);
      if (round === 0) {
        // Scale 1 → 3 while the first events are in flight.
        await Promise.all([startWorker('w2'), startWorker('w3')]);
      } else if (round === 2) {
        // SIGKILL mid-burst: its active attempts are lost with it, and taken again by the others.
        const w2 = workers.find((w) => w.name === 'w2')!;
        await waitUntil('w2 delivering', async () => (await readSucceeded(w2)) > 0 && deliveredSoFar() > round * PER_ROUND * 2, 30_000, 10);
        await w2.process.kill();
      } else if (round === 3) {
        await startWorker('w4');
      } else if (round === 5) {
        // SIGTERM mid-burst: it stops taking jobs, finishes its in-flight attempts and exits 0.
        const w3 = workers.find((w) => w.name === 'w3')!;
        await waitUntil('deliveries of this round under way', () => deliveredSoFar() > (round - 1) * PER_ROUND * 2, 30_000, 20);
        await readSucceeded(w3);
        terminated = w3.process.stop();
      }
    }
    expect(await terminated).toBe(0);

    const countByStatus = async () =>
      await admin.db.dataSource.query<{ status: string; n: number }[]>(
        `SELECT status, count(*)::int AS n FROM deliveries WHERE department_id = $1 GROUP BY status ORDER BY status`,
        [dept],
      );
    await waitUntil(
      `all ${EVENTS * 2} deliveries succeeded`,
      async () => {
        const rows = await countByStatus();
        return rows.length === 1 && rows[0].status === 'succeeded' && rows[0].n === EVENTS * 2;
      },
      120_000,
      250,
    );

    // The log: one delivery per (event, webhook), each with exactly one attempt, a 204.
    const log: { id: string; webhook_id: string; event_id: string; attempts: number; logged: number; codes: number[] }[] = await admin.db.dataSource.query(
      `SELECT d.id, d.webhook_id, d.event_id, d.attempts, count(a.attempt)::int AS logged, array_agg(a.status_code) AS codes
         FROM deliveries d LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
        WHERE d.department_id = $1 GROUP BY d.id`,
      [dept],
    );
    expect(log).toHaveLength(EVENTS * 2);
    expect(new Set(log.map((d) => `${d.event_id}/${d.webhook_id}`)).size).toBe(EVENTS * 2);
    expect(log.filter((d) => d.attempts !== 1 || d.logged !== 1 || d.codes[0] !== 204)).toEqual([]);

    // The receivers: each got exactly the deliveries of its webhook (by webhook-id), none missing;
    // repeats (a SIGKILLed worker's attempt done again) carry the same webhook-id.
    for (const [i, receiver] of receivers.entries()) {
      const expected = new Set(log.filter((d) => d.webhook_id === webhookIds[i]).map((d) => d.id));
      const received = receiver.requests.map((r) => String(r.headers['webhook-id']));
      expect(new Set(received)).toEqual(expected);
      expect(received.length - expected.size).toBeLessThanOrEqual(Number(env.WORKER_CONCURRENCY));
    }

    // Spread: every worker that ran delivered a share.
    for (const worker of workers.filter((w) => w.name === 'w1' || w.name === 'w4')) await readSucceeded(worker);
    const shares = Object.fromEntries(workers.map((w) => [w.name, w.succeeded]));
    expect(Object.entries(shares).filter(([, n]) => n === 0)).toEqual([]);
    expect(w1.succeeded).toBeLessThan(EVENTS * 2);
  });
});
