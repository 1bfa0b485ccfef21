import { freePort } from '@pollarix/devinfra';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { apiMetricsUrl, ApiProcess, spawnApi, Stack, startStack, waitUntil } from '../support/system';

/**
 * The built API serves /metrics on API_METRICS_PORT only: its public port answers 404 for it, and
 * several API processes on one host need distinct metrics ports (one that is taken stops the start).
 */
describe("the API's internal metrics port (built processes)", () => {
  let stack: Stack;
  let api: TestApi;
  let env: Record<string, string>;
  const running: ApiProcess[] = [];

  beforeAll(async () => {
    stack = await startStack('apimetrics');
    env = { DATABASE_URL: stack.databaseUrl, REDIS_URL: stack.redisUrl, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    api = await startApi(env);
  });
  afterAll(async () => {
    for (const child of running) await child.stop();
    await api?.close();
    await stack?.close();
  });

  /** A built API (stopped after the file), with its internal metrics URL. */
  const spawn = async (extra: Record<string, string> = {}): Promise<ApiProcess & { metricsUrl: string }> => {
    const child = await spawnApi({ ...env, ...extra });
    running.push(child);
    return Object.assign(child, { metricsUrl: apiMetricsUrl(child) });
  };
  const series = (route: string) => `pollarix_http_requests_total{method="GET",route="${route}",status="200"}`;
  const sample = async (metricsUrl: string, name: string): Promise<number> => {
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
  };

  it('two APIs side by side, each on a metrics port of its own, count their own requests; neither public port serves /metrics', async () => {
    const [first, second] = [await spawn(), await spawn()];
    expect(new Set([first.url, first.metricsUrl, second.url, second.metricsUrl]).size).toBe(4);
    const dept = uniqueDepartment('apimetrics');
    const token = await api.token([dept]);
    const route = series('/department/:departmentId/webhook');

    for (let i = 0; i < 2; i++) expect((await call(first.url, 'GET', `/department/${dept}/webhook/`, { token })).status).toBe(200);
    await waitUntil('the first API counted both requests', async () => (await sample(first.metricsUrl, route)) === 2);
    expect(await sample(second.metricsUrl, route)).toBe(0);

    for (const { url } of [first, second]) {
      const res = await call(url, 'GET', '/metrics');
      expect([res.status, res.body]).toEqual([404, { status: 404, detail: [{ msg: expect.any(String), type: 'not_found' }] }]);
    }
  });

  it('refuses to start on a metrics port another process holds, and on its own public port', async () => {
    const holder = await spawn();
    const taken = new URL(holder.metricsUrl).port;
    await expect(spawnApi({ ...env, API_METRICS_PORT: taken })).rejects.toThrow(/exited with 1 before it was ready[\s\S]*EADDRINUSE/);
    const port = String(await freePort());
    await expect(spawnApi({ ...env, PORT: port, API_METRICS_PORT: port })).rejects.toThrow(
      /exited with 2 before it was ready[\s\S]*API_METRICS_PORT must differ from PORT/,
    );
    // The holder is unaffected.
    expect((await fetch(`${holder.metricsUrl}/metrics`)).status).toBe(200);
  });
});
