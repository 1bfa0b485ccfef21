import { startApi, TestApi } from '../support/api-harness';
import { HostileReceiver, startHangingReceiver, startHealthyReceiver } from '../support/hostile-receivers';
import { spawnWorker, Stack, startStack, waitUntil, WorkerProcess, workerHttpUrl } from '../support/system';
import { createTenant, expectUndisturbed, publishEvents } from '../support/tenants';

/**
 * Issue 10, reproduction 2: two hanging webhooks of one department must not starve another department.
 * The per-webhook limit alone (half of WORKER_CONCURRENCY) lets two webhooks of one tenant take every
 * slot; DEPARTMENT_MAX_IN_FLIGHT (default: half of WORKER_CONCURRENCY too) caps the department.
 * Measured before the fix (3134362): the other department's 20 deliveries took ~14 s.
 */
describe('fair shares between departments on one worker (issue 10)', () => {
  let stack: Stack;
  let api: TestApi;
  let worker: WorkerProcess;
  let publisher: string;
  const receivers: HostileReceiver[] = [];

  beforeAll(async () => {
    stack = await startStack('fairshare');
    const env = {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      // Default WORKER_CONCURRENCY (100), WEBHOOK_MAX_IN_FLIGHT and DEPARTMENT_MAX_IN_FLIGHT: as shipped.
      DELIVERY_TIMEOUT_MS: '5000',
      // No retry within the test: only first attempts compete for slots.
      DELIVERY_RETRY_SCHEDULE: '1h',
      QUEUE_LOCK_DURATION: '10s',
      WORKER_HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    api = await startApi(env);
    worker = await spawnWorker(env);
    publisher = await api.token(['*'], ['events:publish']);
  });
  afterAll(async () => {
    await worker?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await api?.close();
    await stack?.close();
  });

  it('a department with two hanging webhooks (150 deliveries) leaves slots for another department: its 20 deliveries succeed within 3 s', async () => {
    const hangOne = await startHangingReceiver();
    const hangTwo = await startHangingReceiver();
    const healthy = await startHealthyReceiver();
    receivers.push(hangOne, hangTwo, healthy);
    const a = await createTenant(api, [hangOne.url, hangTwo.url], 'hog');
    const b = await createTenant(api, [healthy.url], 'neighbour');

    await publishEvents(api, publisher, a.dept, 75);
    // The hog holds its share before B publishes: 50 hanging attempts (its department limit;
    // 100 before the fix). Bound 15 s: 150 deliveries fan out and start in ~1-2 s here.
    await waitUntil('the hanging receivers hold 50 connections', () => hangOne.requests.length + hangTwo.requests.length >= 50, 15_000, 20);

    const publishedAt = Date.now();
    await publishEvents(api, publisher, b.dept, 20);
    // Bound 3 s: alone these 20 take a few hundred ms here; 3 s is below the 5 s attempt timeout, so B
    // cannot have waited for any hanging attempt to free a slot (before the fix it did, ~14 s).
    const took = await expectUndisturbed(api, b, healthy, 20, publishedAt, 3_000);
    console.log(`fair-share: 20 deliveries beside 150 hanging ones succeeded in ${took} ms`);

    // The department limit did the work, and says so.
    const metrics = await (await fetch(`${await workerHttpUrl(worker)}/metrics`)).text();
    const throttled = Number(/pollarix_delivery_throttled_total\{reason="department"\} (\d+)/.exec(metrics)?.[1] ?? NaN);
    expect(throttled).toBeGreaterThan(0);
  }, 60_000);
});
