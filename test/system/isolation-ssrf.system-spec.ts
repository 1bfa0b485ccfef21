import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { startReceiver } from '../support/receiver';
import { spawnWorker, Stack, startStack, waitUntil, WorkerProcess, workerHttpUrl } from '../support/system';

const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

describe('isolation and SSRF in the delivery workers', () => {
  let stack: Stack;
  let base: Record<string, string>;
  let api: TestApi;
  let strict: TestApi;
  let publisher: string;

  beforeAll(async () => {
    stack = await startStack('isolation');
    base = {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      DELIVERY_RETRY_SCHEDULE: '10s',
      WORKER_HTTP_PORT: '0',
      QUEUE_LOCK_DURATION: '5s',
      LOG_LEVEL: 'warn',
    };
    // Webhooks are created through an API that allows private networks; the workers decide.
    api = await startApi({ ...base, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true' });
    // passport strategies are process-wide: apps sharing a process must live as long as each other.
    strict = await startApi({ ...base, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false' });
    publisher = await api.token(['*'], ['events:publish']);
  });
  afterAll(async () => {
    await strict?.close();
    await api?.close();
    await stack?.close();
  });

  async function webhookTo(dept: string, token: string, url: string): Promise<string> {
    const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: { name: 'w', url, events: ['SURVEY_COMPLETED'] } });
    expect(res.status).toBe(201);
    return res.body.webhooks[0].id;
  }

  async function publishMany(dept: string, count: number): Promise<void> {
    const res = await call(api.baseUrl, 'POST', '/internal/events/batch', {
      token: publisher,
      body: { events: Array.from({ length: count }, () => ({ type: 'SURVEY_COMPLETED', departmentId: dept, data })) },
    });
    expect(res.status).toBe(202);
  }

  it('a receiver that hangs until the timeout does not hold back a healthy one', async () => {
    const worker = await spawnWorker({
      ...base,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      WORKER_CONCURRENCY: '10',
      WEBHOOK_MAX_IN_FLIGHT: '3',
      DELIVERY_TIMEOUT_MS: '2000',
    });
    const healthy = await startReceiver();
    // Connections the hanging receiver holds at once (each until the worker's 2 s timeout closes it).
    let holding = 0;
    let mostHeld = 0;
    const hanging = await startReceiver((_request, res) => {
      mostHeld = Math.max(mostHeld, ++holding);
      res.once('close', () => holding--);
    });
    try {
      const time = async (dept: string, expected: number) => {
        const started = Date.now();
        await publishMany(dept, 40);
        await waitUntil('healthy receiver got everything', () => healthy.requests.length === expected, 60_000, 10);
        return Date.now() - started;
      };
      const alone = uniqueDepartment();
      await webhookTo(alone, await api.token([alone]), healthy.url);
      const healthyAlone = await time(alone, 40);

      const stuck = uniqueDepartment();
      await webhookTo(stuck, await api.token([stuck]), hanging.url);
      await publishMany(stuck, 40);
      await waitUntil('the hanging receiver holds connections', () => hanging.requests.length >= 3, 10_000, 10);
      const mixed = uniqueDepartment();
      await webhookTo(mixed, await api.token([mixed]), healthy.url);
      const healthyBesideHang = await time(mixed, 80);

      // The mechanism, independent of the machine's speed: the hanging webhook never held more than its
      // WEBHOOK_MAX_IN_FLIGHT (3) of the 10 slots.
      expect(mostHeld).toBeLessThanOrEqual(3);
      // The effect, against the baseline measured above: 40 hanging attempts × 2 s on 10 slots add ~7.5 s
      // without the per-webhook limit (measured); half of that (4 s) still tells the two apart and leaves
      // room for a busy machine (this test ran in 0.2-1 s over the baseline).
      expect(healthyBesideHang - healthyAlone).toBeLessThan(4000);
      expect(hanging.requests.length).toBeLessThanOrEqual(40);
    } finally {
      await worker.stop();
      await Promise.all([healthy.close(), hanging.close()]);
    }
  });

  it('large events at full concurrency stay within the worker as shipped (bounded heap, body budget)', async () => {
    const receivers = [await startReceiver(), await startReceiver(), await startReceiver()];
    let worker: WorkerProcess | undefined;
    try {
      const dept = uniqueDepartment();
      const token = await api.token([dept]);
      for (const receiver of receivers) await webhookTo(dept, token, receiver.url);
      // The same worker idle, for a baseline: Node majors differ by tens of MB in what a process holds.
      const idle = await spawnWorker({ ...base, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true' });
      await workerHttpUrl(idle);
      const idleMb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${idle.pid}/status`, 'utf8'))![1]) / 1024;
      await idle.stop();
      // 40 events of ~900 KB (the 1 MiB limit is the request's), 120 deliveries: ~108 MB of bodies.
      const blob = 'x'.repeat(900_000);
      for (let i = 0; i < 40; i++) {
        const res = await call(api.baseUrl, 'POST', '/internal/events', {
          token: publisher,
          body: { type: 'SURVEY_COMPLETED', departmentId: dept, data: { ...data, blob, i } },
        });
        expect(res.status).toBe(202);
      }
      // All queued before the worker starts: it takes 100 at once.
      worker = await spawnWorker({
        ...base,
        DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
        WORKER_CONCURRENCY: '100',
        WEBHOOK_MAX_IN_FLIGHT: '100',
        DEPARTMENT_MAX_IN_FLIGHT: '100',
      });
      await waitUntil('every large delivery arrived', () => receivers.every((r) => r.requests.length >= 40), 90_000, 50);
      expect(receivers.flatMap((r) => r.requests).every((req) => JSON.parse(req.body).data.blob.length === 900_000)).toBe(true);
      const status = readFileSync(`/proc/${worker.pid}/status`, 'utf8');
      const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
      // Measured here: 225-255 MB on Node 20 (about 100 MB above the idle worker), 295-300 MB on Node 24 (about
      // 160 MB above it); without the body budget ~325 MB on Node 20, ~200 MB above idle (and a heap limit
      // hit in the making). The bound is relative to the idle worker: Node 24 holds more at rest.
      console.log(`isolation: large events, worker peak RSS ${Math.round(peakMb)} MB, idle ${Math.round(idleMb)} MB`);
      expect(peakMb - idleMb).toBeLessThan(190);
    } finally {
      await worker?.stop();
      await Promise.all(receivers.map((r) => r.close()));
    }
  });

  it('deliveries to loopback, private, link-local, metadata and unspecified addresses are refused with blocked_destination', async () => {
    const worker = await spawnWorker({ ...base, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false' });
    const receiver = await startReceiver();
    const port = receiver.port;
    const targets = [
      `http://127.0.0.1:${port}/hook`,
      `http://[::1]:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/',
      `http://0.0.0.0:${port}/hook`,
      `http://localhost:${port}/hook`,
    ];
    // A name that DNS (here /etc/hosts) resolves to loopback exercises the resolved-address check.
    const name = hostname();
    const resolved = await lookup(name, { all: true }).catch(() => []);
    if (resolved.length > 0 && resolved.every((a) => a.address.startsWith('127.') || a.address === '::1')) targets.push(`http://${name}:${port}/hook`);
    else console.warn(`hostname ${name} does not resolve to loopback only: the DNS case is covered by unit tests alone here`);

    try {
      const dept = uniqueDepartment();
      const token = await api.token([dept]);
      const ids = [];
      for (const url of targets) ids.push(await webhookTo(dept, token, url));
      await publishMany(dept, 1);
      for (const [i, id] of ids.entries()) {
        await waitUntil(`first attempt to ${targets[i]} logged`, async () => {
          const list = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${id}/deliveries`, { token });
          return list.body.deliveries[0]?.attempts === 1;
        });
        const list = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${id}/deliveries`, { token });
        const detail = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${id}/deliveries/${list.body.deliveries[0].id}`, { token });
        expect([targets[i], detail.body.attempts[0].error]).toEqual([targets[i], 'blocked_destination']);
      }
      expect(receiver.requests).toHaveLength(0);

      // test-send under the same rules, for a name that only resolution reveals as loopback.
      for (const url of targets) {
        const res = await call(strict.baseUrl, 'POST', `/department/${dept}/webhook/test-send`, { token, body: { url } });
        expect([url, res.status, res.body.detail[0].type]).toEqual([url, 422, 'blocked_destination']);
      }
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });

  it('serves health and Prometheus metrics that move with deliveries', async () => {
    const worker = await spawnWorker({ ...base, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true', WORKER_HTTP_PORT: '0' });
    const receiver = await startReceiver();
    try {
      const url = await workerHttpUrl(worker);
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      expect(await (await fetch(`${url}/health/ready`)).json()).toEqual({ status: 'ok', checks: { postgresql: 'up', redis: 'up' } });
      const succeeded = async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return Number(/pollarix_deliveries_total\{status="succeeded"\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      const before = await succeeded();
      const dept = uniqueDepartment();
      await webhookTo(dept, await api.token([dept]), receiver.url);
      await publishMany(dept, 3);
      await waitUntil('delivered', () => receiver.requests.length === 3);
      await waitUntil('counted', async () => (await succeeded()) === before + 3);
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/pollarix_delivery_attempt_duration_seconds_count \d+/);
      expect(text).toMatch(/pollarix_queue_jobs\{queue="deliveries",state="waiting"\} \d+/);
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });
});
