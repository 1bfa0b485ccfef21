import { call, openSession, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { waitUntil } from '../support/system';

/** SPEC §9 on the API: health, Prometheus metrics, request logs and the queue dashboard. */
describe('operations on the API', () => {
  let api: TestApi;
  /** Every JSON line the app logged (LOG_LEVEL=info, captured instead of stdout). */
  const lines: string[] = [];
  let dept: string;
  let token: string;

  beforeAll(async () => {
    api = await startApi({ LOG_LEVEL: 'info' }, { logDestination: { write: (line: string) => void lines.push(line) } });
    dept = uniqueDepartment('ops');
    token = await api.token([dept]);
  });
  afterAll(async () => {
    await api?.close();
  });

  const metricsText = async (): Promise<string> => {
    const res = await fetch(`${api.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  /** The value of one series in the Prometheus text, 0 when absent. */
  const sample = (text: string, series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  const logged = (): Record<string, unknown>[] =>
    lines
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  describe('health', () => {
    it('answers /health/live and /health/ready without credentials', async () => {
      const live = await call(api.baseUrl, 'GET', '/health/live');
      expect([live.status, live.body]).toEqual([200, { status: 'ok' }]);
      const ready = await call(api.baseUrl, 'GET', '/health/ready');
      expect([ready.status, ready.body]).toEqual([200, { status: 'ok', checks: { postgresql: 'up', redis: 'up' } }]);
      // Probes are never rate limited.
      expect(ready.headers.get('ratelimit-limit')).toBeNull();
    });

    it('keeps /health, /metrics and the dashboard out of the OpenAPI document', async () => {
      const paths = Object.keys((await call(api.baseUrl, 'GET', '/docs-json')).body.paths);
      expect(paths.filter((p) => /^\/(health|metrics|admin)/.test(p))).toEqual([]);
    });
  });

  describe('/metrics', () => {
    it('is not on the public port: 404 in the error format, with or without credentials, and counted like any request', async () => {
      const admin = await api.token(['*'], ['admin']);
      for (const res of [await call(api.baseUrl, 'GET', '/metrics'), await call(api.baseUrl, 'GET', '/metrics', { token: admin })]) {
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ status: 404, detail: [{ msg: expect.any(String), type: 'not_found' }] });
        expect(res.headers.get('ratelimit-limit')).not.toBeNull();
      }
      expect(api.metricsUrl).not.toBe(api.baseUrl);
    });

    it('serves only GET /metrics on its internal port', async () => {
      for (const [method, path] of [
        ['GET', '/'],
        ['GET', '/health/ready'],
        ['GET', `/department/${dept}/webhook/`],
        ['POST', '/metrics'],
      ]) {
        const res = await call(api.metricsUrl, method, path, { token });
        expect([res.status, res.body]).toEqual([404, { status: 404, detail: [{ msg: `No route for ${method} ${path}`, type: 'not_found' }] }]);
      }
    });

    it('serves the API families and the pollarix_api_ process defaults as Prometheus text on its own port, without auth', async () => {
      const res = await fetch(`${api.metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; .*version=0\.0\.4/);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
      const text = await res.text();
      expect(text).toContain('# TYPE pollarix_http_requests_total counter');
      expect(text).toContain('# TYPE pollarix_http_request_duration_seconds histogram');
      expect(text).toContain('# TYPE pollarix_events_published_total counter');
      expect(text).toMatch(/^pollarix_api_process_cpu_seconds_total \d/m);
      expect(text).toMatch(/^pollarix_api_nodejs_eventloop_lag_seconds /m);
    });

    it('counts and times requests by the matched route pattern, never by the raw path', async () => {
      const created = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, {
        token,
        body: { name: 'ops', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'] },
      });
      expect(created.status).toBe(201);
      const webhookId: string = created.body.webhooks[0].id;
      const route = '/department/:departmentId/webhook/:webhookId';
      const series = `pollarix_http_requests_total{method="GET",route="${route}",status="200"}`;
      const before = sample(await metricsText(), series);

      for (let i = 0; i < 3; i++) expect((await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhookId}?i=${i}`, { token })).status).toBe(200);
      expect((await call(api.baseUrl, 'GET', `/no/such/${webhookId}`)).status).toBe(404);

      // The counter is bumped when the response is done, which may be just after the client has it.
      let text = '';
      await waitUntil('the three requests are counted', async () => sample((text = await metricsText()), series) === before + 3);
      expect(sample(text, `pollarix_http_request_duration_seconds_count{method="GET",route="${route}"}`)).toBeGreaterThanOrEqual(3);
      expect(text).toMatch(/^pollarix_http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/department\/:departmentId\/webhook\/:webhookId"\} \d+/m);
      expect(sample(text, 'pollarix_http_requests_total{method="GET",route="unmatched",status="404"}')).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain(webhookId);
      expect(text).not.toContain(dept);
    });

    it('counts the events accepted by POST /internal/events by type, an id repeated in one request once', async () => {
      const publisher = await api.token(['*'], ['events:publish']);
      const series = 'pollarix_events_published_total{type="SURVEY_COMPLETED"}';
      const before = sample(await metricsText(), series);
      const event = {
        id: `evt_ops_${dept}`,
        type: 'SURVEY_COMPLETED',
        departmentId: dept,
        data: { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' },
      };

      expect((await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: event })).status).toBe(202);
      expect(sample(await metricsText(), series)).toBe(before + 1);
      const { id: _id, ...withoutId } = event;
      const batch = await call(api.baseUrl, 'POST', '/internal/events/batch', {
        token: publisher,
        body: { events: [withoutId, { ...event, id: `${event.id}_2` }, { ...event, id: `${event.id}_2` }] },
      });
      expect(batch.status).toBe(202);
      expect(sample(await metricsText(), series)).toBe(before + 3);
      // A refused publish counts nothing.
      expect((await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: { ...withoutId, data: {} } })).status).toBe(422);
      expect(sample(await metricsText(), series)).toBe(before + 3);
      // A producer's retry of a stored id is answered (202) but was not published again.
      expect((await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: event })).status).toBe(202);
      expect(sample(await metricsText(), series)).toBe(before + 3);
    });
  });

  describe('/admin/queues (bull-board)', () => {
    const expectError = (res: { status: number; body: unknown }, status: number, type: string) => {
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ status, detail: [{ msg: expect.any(String), type }] });
    };

    it('answers 401 in the API error format without credentials or with a bad token', async () => {
      for (const res of [
        await call(api.baseUrl, 'GET', '/admin/queues'),
        await call(api.baseUrl, 'GET', '/admin/queues', { token: 'plx_not_a_real_token' }),
        await call(api.baseUrl, 'GET', '/admin/queues/api/queues', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }),
        await call(api.baseUrl, 'GET', '/admin/queues', { headers: { cookie: 'pollarix_session=nope' } }),
      ]) {
        expectError(res, 401, 'unauthorized');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    });

    it('answers 403 to a valid token without the admin scope', async () => {
      const publisher = await api.token([dept], ['events:publish']);
      for (const t of [token, publisher]) {
        expectError(await call(api.baseUrl, 'GET', '/admin/queues', { token: t }), 403, 'forbidden');
        expectError(await call(api.baseUrl, 'GET', '/admin/queues/api/queues', { token: t }), 403, 'forbidden');
      }
    });

    it("answers 403 to a department's own admin token (both departments keep their own API) and to a token for every department without admin", async () => {
      // The dashboard shows every department's jobs: admin over one department is not enough.
      const other = uniqueDepartment('ops-other');
      const departmentAdmins = [await api.token([dept], ['admin']), await api.token([other], ['admin']), await api.token([dept, other], ['admin'])];
      const everywhereWithoutAdmin = [await api.token(['*'], ['webhooks:read']), await api.token(['*'], ['webhooks:read', 'webhooks:write', 'events:publish'])];
      for (const t of [...departmentAdmins, ...everywhereWithoutAdmin]) {
        for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/api/queues/deliveries']) {
          expectError(await call(api.baseUrl, 'GET', path, { token: t }), 403, 'forbidden');
        }
      }
      // Refused at the dashboard only: each admin still manages its own department.
      expect((await call(api.baseUrl, 'GET', `/department/${dept}/webhook/`, { token: departmentAdmins[0] })).status).toBe(200);
      expect((await call(api.baseUrl, 'GET', `/department/${other}/webhook/`, { token: departmentAdmins[1] })).status).toBe(200);
    });

    it('shows the deliveries and events queues, read-only, to an admin token for every department (bearer or session cookie)', async () => {
      const admin = await api.token(['*'], ['admin']);
      const page = await fetch(`${api.baseUrl}/admin/queues`, { headers: { authorization: `Bearer ${admin}` } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const queues = await call(api.baseUrl, 'GET', '/admin/queues/api/queues', { token: admin });
      expect(queues.status).toBe(200);
      expect(queues.body.queues.map((q: { name: string; readOnlyMode: boolean }) => [q.name, q.readOnlyMode]).sort()).toEqual([
        ['deliveries', true],
        ['events', true],
      ]);

      const login = async (secret: string) => (await openSession(api.baseUrl, secret)).cookie;
      const adminCookie = await login(admin);
      expect((await fetch(`${api.baseUrl}/admin/queues`, { headers: { cookie: adminCookie } })).status).toBe(200);
      expectError(await call(api.baseUrl, 'GET', '/admin/queues', { headers: { cookie: await login(token) } }), 403, 'forbidden');
      const departmentAdminCookie = await login(await api.token([dept], ['admin']));
      expectError(await call(api.baseUrl, 'GET', '/admin/queues', { headers: { cookie: departmentAdminCookie } }), 403, 'forbidden');
      // Read-only: a write is refused even to an admin (with the session's CSRF token).
      const csrf = /pollarix_csrf=([^;]+)/.exec(adminCookie)![1];
      const retry = await fetch(`${api.baseUrl}/admin/queues/api/queues/deliveries/retry/failed`, {
        method: 'PUT',
        headers: { cookie: adminCookie, 'x-csrf-token': csrf },
      });
      expect(retry.status).toBe(405);
      // Cookie sessions need the CSRF token on unsafe methods, as everywhere else.
      const noCsrf = await call(api.baseUrl, 'PUT', '/admin/queues/api/queues/deliveries/retry/failed', { headers: { cookie: adminCookie } });
      expectError(noCsrf, 403, 'csrf_failed');
    });
  });

  describe('request logs', () => {
    it('writes one JSON line per request with the response X-Request-Id, the route pattern, and no credentials or query', async () => {
      const res = await fetch(`${api.baseUrl}/department/${dept}/webhook/?token=query-secret-123`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-request-id')!;
      expect(id).toBeTruthy();
      await waitUntil('the request is logged', () => logged().some((l) => l.reqId === id));
      const mine = logged().filter((l) => l.reqId === id);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({
        level: 'info',
        msg: 'request completed',
        req: { method: 'GET', url: `/department/${dept}/webhook/` },
        res: { statusCode: 200 },
        route: '/department/:departmentId/webhook',
        responseTime: expect.any(Number),
        time: expect.any(String),
      });
      const all = lines.join('');
      expect(all).not.toContain(token);
      expect(all).not.toContain('query-secret-123');
    });

    it('logs under a sane client X-Request-Id, and also requests refused before routing', async () => {
      const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, {
        token,
        raw: 'not json',
        headers: { 'content-type': 'text/plain', 'x-request-id': `ops-trace-${dept}`, cookie: 'pollarix_session=cookie-secret-456', 'x-csrf-token': 'csrf-secret-789' },
      });
      expect(res.status).toBe(415);
      expect(res.headers.get('x-request-id')).toBe(`ops-trace-${dept}`);
      await waitUntil('the refused request is logged', () => logged().some((l) => l.reqId === `ops-trace-${dept}`));
      expect(logged().filter((l) => l.reqId === `ops-trace-${dept}`)).toEqual([
        expect.objectContaining({ req: { method: 'POST', url: `/department/${dept}/webhook/` }, res: { statusCode: 415 }, route: 'unmatched' }),
      ]);
      const all = lines.join('');
      for (const secret of [token, 'cookie-secret-456', 'csrf-secret-789', 'not json']) expect(all).not.toContain(secret);
    });

    it('logs Nest messages through pino as JSON lines', () => {
      expect(logged()).toEqual(
        expect.arrayContaining([expect.objectContaining({ level: 'info', context: 'NestApplication', msg: 'Nest application successfully started' })]),
      );
    });
  });
});
