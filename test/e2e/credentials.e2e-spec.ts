import { request as httpRequest } from 'node:http';
import { call, openSession, startApi, TestApi, uniqueDepartment } from '../support/api-harness';

/**
 * Issue 13: credentials only where they belong. Tokens from the Authorization header alone; odd query
 * parameters and headers answer 4xx, never 500; session cookies named `__Host-` over HTTPS.
 */

const hook = { name: 'Hook', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'] };
const listPath = (dept: string) => `/department/${dept}/webhook/`;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with headers exactly as given: an array value sends the header once per item. */
function raw(baseUrl: string, method: string, path: string, headers: Record<string, string | string[]> = {}, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function expectUnauthorizedOutsideHeader(res: { status: number; body: unknown; headers: { get(name: string): string | null } }): void {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect(res.body).toEqual({ status: 401, detail: [{ msg: expect.stringContaining('Authorization header'), type: 'unauthorized' }] });
}

describe('credentials only where they belong', () => {
  let api: TestApi;
  let dept: string;
  let token: string;
  let other: { dept: string; token: string };

  beforeAll(async () => {
    // Behind a proxy, so that odd X-Forwarded-* headers are read too.
    api = await startApi({ TRUST_PROXY: 'true' });
  });
  afterAll(() => api.close());
  beforeEach(async () => {
    dept = uniqueDepartment();
    token = await api.token([dept], ['webhooks:read', 'webhooks:write', 'events:publish']);
    other = { dept: uniqueDepartment('other'), token: '' };
    other.token = await api.token([other.dept]);
  });

  /** The second department noticed nothing: its token works from the header, its webhooks are its own. */
  async function expectOtherUndisturbed(): Promise<void> {
    const res = await call(api.baseUrl, 'GET', listPath(other.dept), { token: other.token });
    expect(res.status).toBe(200);
    expect(res.body.webhooks).toEqual([]);
  }

  describe('a token outside the Authorization header is refused (401), valid or not', () => {
    it('in the query string (was 200)', async () => {
      const res = await call(api.baseUrl, 'GET', `${listPath(dept)}?access_token=${token}`);
      expectUnauthorizedOutsideHeader(res);
      // Even beside a valid header: the URL is what leaks.
      expectUnauthorizedOutsideHeader(await call(api.baseUrl, 'GET', `${listPath(dept)}?access_token=${token}`, { token }));
      expect((await call(api.baseUrl, 'GET', listPath(dept), { token })).status).toBe(200);
      await expectOtherUndisturbed();
    });

    it.each([
      ['repeated (was 500)', (t: string) => `access_token=${t}&access_token=b`],
      ['empty', () => 'access_token='],
    ])('in the query string, %s', async (_label, query) => {
      expectUnauthorizedOutsideHeader(await call(api.baseUrl, 'GET', `${listPath(dept)}?${query(token)}`));
      await expectOtherUndisturbed();
    });

    it('in a JSON body, and nothing is created', async () => {
      const res = await call(api.baseUrl, 'POST', listPath(dept), { body: { ...hook, access_token: token } });
      expectUnauthorizedOutsideHeader(res);
      const publish = await call(api.baseUrl, 'POST', '/internal/events', {
        body: { type: 'SURVEY_COMPLETED', departmentId: dept, data: { surveyId: 's', responseId: 'r', completedAt: '2026-11-26T10:00:00.000Z' }, access_token: token },
      });
      expectUnauthorizedOutsideHeader(publish);
      expect((await call(api.baseUrl, 'GET', listPath(dept), { token })).body.webhooks).toEqual([]);
      const events: { n: number }[] = await api.db.dataSource.query('SELECT count(*)::int AS n FROM events WHERE department_id = $1', [dept]);
      expect(events[0].n).toBe(0);
      await expectOtherUndisturbed();
    });

    it('on every route, the queue dashboard and the session routes included', async () => {
      for (const [method, path] of [
        ['GET', '/admin/queues'],
        ['POST', '/auth/session'],
        ['GET', '/events/types'],
        ['POST', '/internal/events/batch'],
      ]) {
        expectUnauthorizedOutsideHeader(await call(api.baseUrl, method, `${path}?access_token=${token}`));
      }
    });
  });

  describe('odd query parameters and headers answer 4xx (or succeed), never 500', () => {
    let webhookId: string;
    let deliveryId: string;
    let session: Record<string, string>;

    beforeEach(async () => {
      const created = await call(api.baseUrl, 'POST', listPath(dept), { token, body: { ...hook, url: 'http://127.0.0.1:9/hook' } });
      expect(created.status).toBe(201);
      webhookId = created.body.webhooks[0].id;
      deliveryId = 'msg_none';
      const { cookie, csrf } = await openSession(api.baseUrl, token);
      session = { cookie, 'x-csrf-token': csrf };
    });

    /** A body each route could accept: a webhook for the create routes, {} elsewhere. */
    const bodyFor = (method: string, path: string) =>
      method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(path.endsWith('/webhook/') || path.endsWith('add') ? hook : {});

    const routes = (): [string, string][] => [
      ['GET', listPath(dept)],
      ['POST', listPath(dept)],
      ['POST', `${listPath(dept)}add`],
      ['POST', `${listPath(dept)}test-send`],
      ['GET', `${listPath(dept)}${webhookId}`],
      ['PUT', `${listPath(dept)}${webhookId}`],
      ['GET', `${listPath(dept)}${webhookId}/secret`],
      ['GET', `${listPath(dept)}${webhookId}/deliveries`],
      ['GET', `${listPath(dept)}${webhookId}/deliveries/${deliveryId}`],
      ['POST', `${listPath(dept)}${webhookId}/deliveries/${deliveryId}/redeliver`],
      ['POST', `${listPath(dept)}${webhookId}/recover`],
      ['GET', `${listPath(dept)}${webhookId}/stats`],
      ['GET', '/events/types'],
      ['POST', '/internal/events'],
      ['POST', '/internal/events/batch'],
      ['GET', '/health/live'],
      ['GET', '/health/ready'],
      ['GET', '/admin/queues'],
      ['GET', '/metrics'],
      ['GET', '/docs-json'],
      ['POST', '/auth/session'],
      ['DELETE', '/auth/session'],
      ['DELETE', `${listPath(dept)}${webhookId}`],
    ];

    const queries = [
      'limit=1&limit=2',
      'cursor=a&cursor=b',
      'status=failed&status=pending',
      'eventType=a&eventType=b',
      'since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z',
      'until[]=x',
      'x[a]=1',
      'cursor[a]=1',
      'limit[$gt]=0',
      'limit=1e400',
      'limit=-0',
      'limit=0x10',
      '__proto__[x]=1',
      'constructor[prototype][x]=1',
      'status=%ff',
      '%zz=1',
      'a=' + 'x'.repeat(6000),
    ];

    const headerSets: [string, Record<string, string | string[]>][] = [
      ['Idempotency-Key twice', { 'idempotency-key': ['k1', 'k2'] }],
      ['X-CSRF-Token twice', { 'x-csrf-token': ['a', 'b'] }],
      ['Authorization twice', { authorization: ['Bearer plx_x', 'Bearer plx_y'] }],
      ['Cookie twice', { cookie: ['pollarix_session=a', 'pollarix_session=b'] }],
      ['the session cookie twice in one header', { cookie: 'pollarix_session=a; pollarix_session=b; pollarix_csrf=x' }],
      ['a cookie of bad percent-encoding', { cookie: 'pollarix_session=%ff%zz' }],
      ['a cookie that looks like JSON', { cookie: 'pollarix_session=j%3A%7B%22a%22%3A1%7D' }],
      ['X-Request-Id twice', { 'x-request-id': ['a', 'b'] }],
      ['Content-Type twice', { 'content-type': ['application/json', 'text/plain'] }],
      ['Authorization without a token', { authorization: 'Bearer' }],
      ['Authorization with three parts', { authorization: 'Bearer a b' }],
      ['X-Forwarded-For garbage', { 'x-forwarded-for': 'not an ip, ::zz' }],
      ['X-Forwarded-For twice', { 'x-forwarded-for': ['198.51.100.1', '198.51.100.2'] }],
      ['X-Forwarded-Proto odd', { 'x-forwarded-proto': ['https', 'http'] }],
      ['Idempotency-Key very long', { 'idempotency-key': 'k'.repeat(8000) }],
    ];

    function expectNo500(label: string, status: number, body: string): void {
      if (status >= 500) throw new Error(`${label} answered ${status}: ${body}`);
      expect(status).toBeGreaterThanOrEqual(200);
    }

    it('odd query strings, with a valid token, on every route', async () => {
      for (const [method, path] of routes()) {
        for (const query of queries) {
          const res = await raw(api.baseUrl, method, `${path}?${query}`, { authorization: `Bearer ${token}` }, bodyFor(method, path));
          expectNo500(`${method} ${path}?${query.slice(0, 60)}`, res.status, res.body);
          if (res.status >= 400) expect(JSON.parse(res.body)).toEqual({ status: res.status, detail: expect.any(Array) });
        }
      }
      await expectOtherUndisturbed();
    });

    it('repeated and odd headers, with a valid token, a valid session and without credentials, on every route', async () => {
      for (const [method, path] of routes()) {
        for (const [label, headers] of headerSets) {
          for (const auth of [{ authorization: `Bearer ${token}` }, session, {}]) {
            const res = await raw(api.baseUrl, method, path, { ...auth, ...headers }, bodyFor(method, path));
            expectNo500(`${method} ${path} with ${label}`, res.status, res.body);
            // Every route answers its 4xx in the error format, whatever the headers (/admin/queues and /docs-json too).
            if (res.status >= 400) expect(JSON.parse(res.body)).toEqual({ status: res.status, detail: expect.any(Array) });
          }
        }
      }
      await expectOtherUndisturbed();
    });

    it('a repeated Idempotency-Key is refused or replayed, never makes two webhooks', async () => {
      const before = (await call(api.baseUrl, 'GET', listPath(dept), { token })).body.webhooks.length;
      const headers = { authorization: `Bearer ${token}`, 'idempotency-key': ['same', 'same'] };
      const first = await raw(api.baseUrl, 'POST', listPath(dept), headers, JSON.stringify({ ...hook, name: 'twice' }));
      const second = await raw(api.baseUrl, 'POST', listPath(dept), headers, JSON.stringify({ ...hook, name: 'twice' }));
      expect(first.status).toBeLessThan(500);
      expect(second.status).toBe(first.status);
      const after = (await call(api.baseUrl, 'GET', listPath(dept), { token })).body.webhooks.length;
      expect(after - before).toBeLessThanOrEqual(1);
    });
  });
});

describe('session cookies over HTTPS', () => {
  let proxied: TestApi;
  let direct: TestApi;
  let dept: string;
  let token: string;
  let otherDept: string;
  let otherToken: string;

  beforeAll(async () => {
    proxied = await startApi({ TRUST_PROXY: 'true' });
    direct = await startApi();
  });
  afterAll(async () => {
    await proxied.close();
    await direct.close();
  });
  beforeEach(async () => {
    dept = uniqueDepartment();
    token = await proxied.token([dept]);
    otherDept = uniqueDepartment('other');
    otherToken = await proxied.token([otherDept]);
  });

  const https = { 'x-forwarded-proto': 'https' };

  const login = (api: TestApi, headers: Record<string, string>) => openSession(api.baseUrl, token, headers);

  it('behind a TLS-terminating proxy (TRUST_PROXY, X-Forwarded-Proto: https): __Host- names, Secure, Path=/, no Domain; only those names accepted', async () => {
    const { setCookie, cookie, csrf } = await login(proxied, https);
    expect(setCookie).toHaveLength(2);
    for (const line of setCookie) {
      expect(line).toMatch(/^__Host-pollarix_(session|csrf)=/);
      expect(line).toMatch(/; Secure/i);
      expect(line).toMatch(/; Path=\/(;|$)/);
      expect(line).not.toMatch(/Domain=/i);
    }
    expect(setCookie.find((c) => c.startsWith('__Host-pollarix_session='))).toMatch(/HttpOnly/i);

    expect((await call(proxied.baseUrl, 'GET', listPath(dept), { headers: { ...https, cookie } })).status).toBe(200);
    // The same session under the plain name is no session over HTTPS; the __Host- name is none over HTTP.
    const plain = cookie.replace(/__Host-/g, '');
    expect((await call(proxied.baseUrl, 'GET', listPath(dept), { headers: { ...https, cookie: plain } })).status).toBe(401);
    expect((await call(proxied.baseUrl, 'GET', listPath(dept), { headers: { cookie } })).status).toBe(401);

    // CSRF and logout under the __Host- names.
    const created = await call(proxied.baseUrl, 'POST', listPath(dept), { body: hook, headers: { ...https, cookie, 'x-csrf-token': csrf } });
    expect(created.status).toBe(201);
    const out = await fetch(`${proxied.baseUrl}/auth/session`, { method: 'DELETE', headers: { ...https, cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().every((c) => c.startsWith('__Host-pollarix_'))).toBe(true);
    expect((await call(proxied.baseUrl, 'GET', listPath(dept), { headers: { ...https, cookie } })).status).toBe(401);

    // The other department noticed nothing.
    const theirs = await call(proxied.baseUrl, 'GET', listPath(otherDept), { token: otherToken });
    expect(theirs.status).toBe(200);
    expect(theirs.body.webhooks).toEqual([]);
  });

  it('over plain HTTP behind the proxy: SPEC names without Secure', async () => {
    const { setCookie, cookie } = await login(proxied, { 'x-forwarded-proto': 'http' });
    expect(setCookie.map((c) => c.split('=')[0]).sort()).toEqual(['pollarix_csrf', 'pollarix_session']);
    for (const line of setCookie) expect(line).not.toMatch(/; Secure/i);
    expect((await call(proxied.baseUrl, 'GET', listPath(dept), { headers: { cookie } })).status).toBe(200);
  });

  it('without TRUST_PROXY, X-Forwarded-Proto is not believed: SPEC names without Secure', async () => {
    const { setCookie, cookie } = await login(direct, https);
    expect(setCookie.map((c) => c.split('=')[0]).sort()).toEqual(['pollarix_csrf', 'pollarix_session']);
    for (const line of setCookie) expect(line).not.toMatch(/; Secure/i);
    expect((await call(direct.baseUrl, 'GET', listPath(dept), { headers: { ...https, cookie } })).status).toBe(200);
  });
});
