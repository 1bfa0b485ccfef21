import { Registry } from 'prom-client';
import { metricsRoute, OpsHttpServer } from './ops-http-server';

describe('OpsHttpServer', () => {
  let server: OpsHttpServer;
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'spec' });

  beforeAll(async () => {
    server = await OpsHttpServer.listen(0, '127.0.0.1', {
      '/metrics': metricsRoute(registry),
      '/health/live': () => ({ status: 200, body: JSON.stringify({ status: 'ok' }) }),
      '/broken': () => Promise.reject(new Error('redis is away')),
    });
  });
  afterAll(() => server.close());

  const get = (path: string, method = 'GET') => fetch(`http://127.0.0.1:${server.port}${path}`, { method });

  it('listens on a free port for 0, and answers its routes (query strings ignored)', async () => {
    expect(server.port).toBeGreaterThan(0);
    const metrics = await get('/metrics?x=1');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe(registry.contentType);
    const live = await get('/health/live');
    expect([live.status, live.headers.get('content-type'), await live.json()]).toEqual([200, 'application/json', { status: 'ok' }]);
  });

  it('answers 404 in the error format to other paths and methods', async () => {
    for (const [path, method] of [
      ['/', 'GET'],
      ['/metrics/', 'GET'],
      ['/toString', 'GET'],
      ['/metrics', 'POST'],
    ]) {
      const res = await get(path, method);
      expect([res.status, await res.json()]).toEqual([404, { status: 404, detail: [{ msg: `No route for ${method} ${path}`, type: 'not_found' }] }]);
    }
  });

  it('answers 500 in the error format when a route fails', async () => {
    const res = await get('/broken');
    expect([res.status, await res.json()]).toEqual([500, { status: 500, detail: [{ msg: 'GET /broken failed: redis is away', type: 'internal_error' }] }]);
  });

  it('refuses to start on a port in use', async () => {
    await expect(OpsHttpServer.listen(server.port, '127.0.0.1', {})).rejects.toThrow(/EADDRINUSE/);
  });
});
