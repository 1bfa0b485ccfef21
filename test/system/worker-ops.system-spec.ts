import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { startReceiver } from '../support/receiver';
import { spawnApi, spawnWorker, Stack, startStack, waitUntil, WorkerProcess, workerHttpUrl } from '../support/system';

const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

/**
 * SPEC §9 on built processes: the worker's terminus readiness, Prometheus counters and one JSON line per
 * attempt; the API's JSON stdout.
 */
describe('worker operations: health, metrics and attempt logs', () => {
  let stack: Stack;
  let api: TestApi;
  let worker: WorkerProcess;
  let publisher: string;
  let url: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    stack = await startStack('workerops');
    env = {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_RETRY_SCHEDULE: '200ms',
      DELIVERY_TIMEOUT_MS: '2000',
      WORKER_HTTP_PORT: '0',
    };
    api = await startApi(env);
    worker = await spawnWorker(env);
    publisher = await api.token(['*'], ['events:publish']);
    url = await workerHttpUrl(worker);
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await stack?.close();
  });

  const metric = async (series: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  /** The worker's complete JSON lines so far (pino, one object per line). */
  const jsonLines = (output = worker.output): { msg: string; context: string; [field: string]: unknown }[] =>
    output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => JSON.parse(l));
  const attemptLines = (deliveryId: string) => jsonLines().filter((l) => l.msg === 'delivery attempt' && l.deliveryId === deliveryId);

  async function webhookTo(dept: string, target: string, headers: Record<string, string> = {}): Promise<{ id: string; secret: string }> {
    const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, {
      token: await api.token([dept]),
      body: { name: 'ops', url: target, events: ['SURVEY_COMPLETED'], headers },
    });
    expect(res.status).toBe(201);
    return res.body.webhooks[0];
  }

  it('logs JSON lines, the start-up messages among them', () => {
    const lines = jsonLines();
    expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'info', service: 'worker', context: 'Worker', msg: 'worker ready' })]));
    expect(lines.find((l) => /^health and metrics on port \d+$/.test(l.msg))).toMatchObject({ level: 'info', context: 'WorkerHttp' });
  });

  it('answers /health/live, and /health/ready through terminus (503 while Redis does not answer)', async () => {
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${url}/health/ready`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok', checks: { postgresql: 'up', redis: 'up' } }]);

    // A frozen Redis (SIGSTOP) neither answers nor refuses: the check's timeout decides.
    process.kill(stack.redis.pid!, 'SIGSTOP');
    try {
      const down = await fetch(`${url}/health/ready`);
      expect([down.status, await down.json()]).toEqual([
        503,
        { status: 'unavailable', checks: { postgresql: 'up', redis: 'down' }, reasons: { redis: expect.any(String) } },
      ]);
    } finally {
      process.kill(stack.redis.pid!, 'SIGCONT');
    }
    await waitUntil('ready again', async () => (await fetch(`${url}/health/ready`)).status === 200, 10_000, 100);
  });

  it('counts a successful attempt and logs it once, with ids and never the URL query, headers or secret', async () => {
    const receiver = await startReceiver();
    try {
      const dept = uniqueDepartment('wops');
      const webhook = await webhookTo(dept, `${receiver.url}?sig=query-secret-abc`, { 'X-Custom-Auth': 'header-secret-xyz' });
      const success = 'pollarix_delivery_attempts_total{outcome="success",error="none"}';
      const succeeded = 'pollarix_deliveries_total{status="succeeded"}';
      const before = { success: await metric(success), succeeded: await metric(succeeded) };

      const published = await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: { type: 'SURVEY_COMPLETED', departmentId: dept, data } });
      expect(published.status).toBe(202);
      await waitUntil('delivered', () => receiver.requests.length === 1);
      const deliveryId = String(receiver.requests[0].headers['webhook-id']);

      await waitUntil('counted', async () => (await metric(success)) >= before.success + 1 && (await metric(succeeded)) >= before.succeeded + 1);
      await waitUntil('logged', () => attemptLines(deliveryId).length > 0);
      expect(attemptLines(deliveryId)).toEqual([
        {
          level: 'info',
          time: expect.any(String),
          service: 'worker',
          pid: worker.pid,
          hostname: expect.any(String),
          context: 'DeliveryAttempt',
          msg: 'delivery attempt',
          deliveryId,
          webhookId: webhook.id,
          departmentId: dept,
          attempt: 1,
          outcome: 'success',
          statusCode: 204,
          durationMs: expect.any(Number),
          error: null,
          deliveryStatus: 'succeeded',
        },
      ]);
      const output = worker.output.join('');
      for (const secret of ['query-secret-abc', 'header-secret-xyz', webhook.secret, receiver.url]) expect(output).not.toContain(secret);
    } finally {
      await receiver.close();
    }
  });

  it('logs a retried then failed delivery: one line per attempt, the final failure at warn', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(500).end('nope'));
    try {
      const dept = uniqueDepartment('wops');
      await webhookTo(dept, receiver.url);
      const retry = 'pollarix_delivery_attempts_total{outcome="retry",error="http_status"}';
      const failed = 'pollarix_deliveries_total{status="failed"}';
      const before = { retry: await metric(retry), failed: await metric(failed) };

      await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: { type: 'SURVEY_COMPLETED', departmentId: dept, data } });
      await waitUntil('two attempts', () => receiver.requests.length === 2);
      const deliveryId = String(receiver.requests[0].headers['webhook-id']);
      await waitUntil('both attempts logged', () => attemptLines(deliveryId).length === 2);
      expect(attemptLines(deliveryId).map((l) => [l.level, l.attempt, l.outcome, l.statusCode, l.error, l.deliveryStatus])).toEqual([
        ['info', 1, 'retry', 500, 'http_status', 'pending'],
        ['warn', 2, 'failed', 500, 'http_status', 'failed'],
      ]);
      await waitUntil('counted', async () => (await metric(retry)) >= before.retry + 1 && (await metric(failed)) >= before.failed + 1);
    } finally {
      await receiver.close();
    }
  });

  it('a worker at LOG_LEVEL=warn still announces itself and its port, and logs nothing at info', async () => {
    const quiet = await spawnWorker({ ...env, LOG_LEVEL: 'warn' });
    try {
      await workerHttpUrl(quiet);
      const lines = jsonLines(quiet.output);
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['worker ready', expect.stringMatching(/^health and metrics on port \d+$/)]));
      expect(lines.filter((l) => l.level === 'info' && !['Worker', 'WorkerHttp'].includes(l.context))).toEqual([]);
    } finally {
      await quiet.stop();
    }
  });

  it('the built API writes only JSON lines: the listening line, then one line per request', async () => {
    const apiProcess = await spawnApi({ ...env, HOST: '127.0.0.1' });
    try {
      expect(jsonLines(apiProcess.output).find((l) => l.context === 'Api')).toMatchObject({
        level: 'info',
        service: 'api',
        msg: `Pollarix Webhooks API listening on ${apiProcess.url}`,
      });
      const dept = uniqueDepartment('wops');
      const secret = await api.token([dept]);
      const res = await fetch(`${apiProcess.url}/department/${dept}/webhook/?q=query-secret`, { headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(200);
      const requestLines = () => jsonLines(apiProcess.output).filter((l) => l.msg === 'request completed');
      await waitUntil('the request is logged', () => requestLines().length > 0);
      expect(requestLines()).toEqual([
        expect.objectContaining({ reqId: res.headers.get('x-request-id'), route: '/department/:departmentId/webhook', res: { statusCode: 200 } }),
      ]);
      const output = apiProcess.output.join('');
      expect(output).not.toContain(secret);
      expect(output).not.toContain('query-secret');
      expect(output.split('\n').filter((l) => l.trim() && !l.startsWith('{'))).toEqual([]);
    } finally {
      await apiProcess.stop();
    }
  });
});
