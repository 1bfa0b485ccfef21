import { call, openSession, startApi, TestApi, uniqueAddress, uniqueDepartment } from '../support/api-harness';

const valid = { name: 'Hook', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'] };
const path = (dept: string) => `/department/${dept}/webhook/`;

/** Every error body: the reference's format, one detail per problem, nothing internal. */
function expectErrorFormat(body: unknown, status: number, type?: string): void {
  expect(body).toEqual({ status, detail: expect.any(Array) });
  const { detail } = body as { detail: { msg: unknown; type: unknown }[] };
  expect(detail.length).toBeGreaterThan(0);
  for (const item of detail) {
    expect(typeof item.msg).toBe('string');
    expect(typeof item.type).toBe('string');
    expect(Object.keys(item).every((k) => ['msg', 'type', 'loc'].includes(k))).toBe(true);
  }
  if (type) expect(detail.map((d) => d.type)).toContain(type);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/);
}

describe('errors, auth and limits', () => {
  let api: TestApi;
  let dept: string;
  let token: string;

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false', MAX_WEBHOOKS_PER_DEPARTMENT: '3' });
  });
  afterAll(() => api.close());
  beforeEach(async () => {
    dept = uniqueDepartment();
    token = await api.token([dept]);
  });

  const post = (body: unknown, headers?: Record<string, string>) => call(api.baseUrl, 'POST', path(dept), { token, body, headers });
  const stored = async () => (await call(api.baseUrl, 'GET', path(dept), { token })).body.webhooks.length;

  describe('400: structural problems', () => {
    it.each<[string, string, (string | number)[] | undefined]>([
      ['not JSON', '{"name": ', ['body']],
      ['an array', '[1,2]', ['body']],
      ['a string', '"text"', undefined],
      ['null', 'null', undefined],
    ])('body is %s', async (_label, raw, loc) => {
      const res = await call(api.baseUrl, 'POST', path(dept), { token, raw, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expectErrorFormat(res.body, 400, 'validation_error');
      if (loc) expect(res.body.detail[0].loc).toEqual(loc);
      expect(await stored()).toBe(0);
    });

    it.each([
      ['missing name', { url: valid.url, events: valid.events }, 'name'],
      ['missing url', { name: 'x', events: valid.events }, 'url'],
      ['missing events', { name: 'x', url: valid.url }, 'events'],
      ['name of the wrong type', { ...valid, name: 42 }, 'name'],
      ['events not an array', { ...valid, events: 'SURVEY_COMPLETED' }, 'events'],
      ['isActive not a boolean', { ...valid, isActive: 'yes' }, 'isActive'],
      ['headers an array', { ...valid, headers: ['a'] }, 'headers'],
      ['a header value not a string', { ...valid, headers: { 'X-A': 1 } }, 'headers'],
      ['an unknown field', { ...valid, colour: 'red' }, 'colour'],
    ])('%s', async (_label, body, field) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expectErrorFormat(res.body, 400, 'validation_error');
      expect(res.body.detail.map((d: { loc: string[] }) => d.loc)).toContainEqual(['body', field]);
      expect(await stored()).toBe(0);
    });

    it.each(['not a url', 'https://', '/relative/path', 'example.com/hook'])('invalid URL %p → "Invalid URL format"', async (url) => {
      const res = await post({ ...valid, url });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ status: 400, detail: [{ msg: 'Invalid URL format', type: 'validation_error', loc: ['body', 'url'] }] });
    });

    it('reports one detail per problem', async () => {
      const res = await post({ url: 'nope', events: 'x', extra: 1 });
      expect(res.status).toBe(400);
      const locs = res.body.detail.map((d: { loc: string[] }) => d.loc.join('.'));
      expect(locs).toEqual(expect.arrayContaining(['body.name', 'body.url', 'body.events', 'body.extra']));
    });
  });

  describe('422: well-formed but unacceptable values', () => {
    it.each([
      ['unknown event type', { ...valid, events: ['SURVEY_EXPLODED'] }, 'events'],
      ['a non-subscribable event', { ...valid, events: ['WEBHOOK_TEST'] }, 'events'],
      ['duplicate events', { ...valid, events: ['SURVEY_COMPLETED', 'SURVEY_COMPLETED'] }, 'events'],
      ['empty events', { ...valid, events: [] }, 'events'],
      ['ftp scheme', { ...valid, url: 'ftp://example.com/x' }, 'url'],
      ['a reserved header', { ...valid, headers: { 'Content-Type': 'text/plain' } }, 'headers'],
      ['a webhook-* header', { ...valid, headers: { 'Webhook-Signature': 'x' } }, 'headers'],
      ['an invalid header name', { ...valid, headers: { 'Bad Header': 'x' } }, 'headers'],
      ['a header value with a newline', { ...valid, headers: { 'X-A': 'a\r\nInjected: 1' } }, 'headers'],
      ['21 headers', { ...valid, headers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v'])) }, 'headers'],
      ['a 4097-character header value', { ...valid, headers: { 'X-A': 'v'.repeat(4097) } }, 'headers'],
      ['an empty name', { ...valid, name: '' }, 'name'],
      ['a blank name', { ...valid, name: '   ' }, 'name'],
      ['a 101-character name', { ...valid, name: 'n'.repeat(101) }, 'name'],
      ['a 2049-character URL', { ...valid, url: `https://example.com/${'a'.repeat(2029)}` }, 'url'],
    ])('%s', async (_label, body, field) => {
      const res = await post(body);
      expect(res.status).toBe(422);
      expectErrorFormat(res.body, 422);
      expect(res.body.detail.map((d: { loc: string[] }) => d.loc)).toContainEqual(['body', field]);
      expect(await stored()).toBe(0);
    });

    it('accepts the limits themselves: 20 headers, 4096-character values, 100-character names, 2048-character URLs', async () => {
      const res = await post({
        name: 'n'.repeat(100),
        url: `https://example.com/${'a'.repeat(2048 - 20)}`,
        events: ['SURVEY_COMPLETED'],
        headers: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, 'v'.repeat(4096)])),
      });
      expect(res.status).toBe(201);
    });

    it.each([
      'http://127.0.0.1/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/',
      'http://0.0.0.0/',
      'http://2130706433/',
      'http://localhost:8080/',
    ])('a literal blocked destination %s (private networks not allowed)', async (url) => {
      const res = await post({ ...valid, url });
      expect(res.status).toBe(422);
      expect(res.body.detail[0]).toMatchObject({ type: 'blocked_destination', loc: ['body', 'url'] });
      expect(await stored()).toBe(0);
      const test = await call(api.baseUrl, 'POST', `${path(dept)}test-send`, { token, body: { url } });
      expect(test.status).toBe(422);
      expect(test.body.detail[0].type).toBe('blocked_destination');
    });

    it('also on update, leaving the webhook as it was', async () => {
      const id = (await post(valid)).body.webhooks[0].id;
      const res = await call(api.baseUrl, 'PUT', `${path(dept)}${id}`, { token, body: { ...valid, url: 'http://192.168.1.1/' } });
      expect(res.status).toBe(422);
      expect((await call(api.baseUrl, 'GET', `${path(dept)}${id}`, { token })).body.webhooks[0].url).toBe(valid.url);
    });
  });

  describe('401: credentials missing or invalid', () => {
    it.each<[string, Record<string, string>]>([
      ['missing', {}],
      ['not bearer', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['malformed', { authorization: 'Bearer not-a-token' }],
      ['unknown', { authorization: `Bearer plx_${'A'.repeat(43)}` }],
      ['an unknown session cookie', { cookie: `pollarix_session=${'A'.repeat(43)}` }],
    ])('%s', async (_label, headers) => {
      const res = await call(api.baseUrl, 'GET', path(dept), { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expectErrorFormat(res.body, 401, 'unauthorized');
    });

    it('a revoked token stops working at once', async () => {
      expect((await call(api.baseUrl, 'GET', path(dept), { token })).status).toBe(200);
      await api.revoke(token);
      const res = await call(api.baseUrl, 'GET', path(dept), { token });
      expect(res.status).toBe(401);
    });
  });

  describe('403: department, scope, plan', () => {
    it("a token of department A gets 403 on every route of department B, and B's webhook ids are 404 under A", async () => {
      const other = uniqueDepartment();
      const otherToken = await api.token([other]);
      const foreign = (await call(api.baseUrl, 'POST', path(other), { token: otherToken, body: valid })).body.webhooks[0].id;
      const routes: [string, string, unknown?][] = [
        ['GET', path(other)],
        ['GET', `/department/${other}/webhook`],
        ['POST', path(other), valid],
        ['POST', `${path(other)}add`, valid],
        ['POST', `${path(other)}test-send`, { url: 'https://example.com' }],
        ['GET', `${path(other)}${foreign}`],
        ['PUT', `${path(other)}${foreign}`, valid],
        ['DELETE', `${path(other)}${foreign}`],
        ['GET', `${path(other)}${foreign}/secret`],
        ['POST', `${path(other)}${foreign}/secret/rotate`],
      ];
      for (const [method, route, body] of routes) {
        const res = await call(api.baseUrl, method, route, { token, body });
        expect([method, route, res.status]).toEqual([method, route, 403]);
        expectErrorFormat(res.body, 403, 'forbidden');
      }
      for (const [method, route, body] of [
        ['GET', `${path(dept)}${foreign}`],
        ['PUT', `${path(dept)}${foreign}`, valid],
        ['DELETE', `${path(dept)}${foreign}`],
        ['GET', `${path(dept)}${foreign}/secret`],
        ['POST', `${path(dept)}${foreign}/secret/rotate`],
      ] as [string, string, unknown?][]) {
        expect((await call(api.baseUrl, method, route, { token, body })).status).toBe(404);
      }
      const still = await call(api.baseUrl, 'GET', `${path(other)}${foreign}`, { token: otherToken });
      expect(still.body.webhooks[0].name).toBe('Hook');
    });

    it('a platform token (*) reaches every department', async () => {
      const platform = await api.token(['*']);
      expect((await call(api.baseUrl, 'GET', path(dept), { token: platform })).status).toBe(200);
    });

    it('a read-only token cannot write', async () => {
      const reader = await api.token([dept], ['webhooks:read']);
      expect((await call(api.baseUrl, 'GET', path(dept), { token: reader })).status).toBe(200);
      const res = await call(api.baseUrl, 'POST', path(dept), { token: reader, body: valid });
      expect(res.status).toBe(403);
      expect(await stored()).toBe(0);
    });

    it('a token without webhook scopes cannot read', async () => {
      const publisher = await api.token([dept], ['events:publish']);
      expect((await call(api.baseUrl, 'GET', path(dept), { token: publisher })).status).toBe(403);
    });

    it('the plan limit stops creation with plan_limit, also under concurrency', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => post({ ...valid, name: `h${i}` })));
      expect(results.filter((r) => r.status === 201)).toHaveLength(3);
      for (const res of results.filter((r) => r.status !== 201)) {
        expect(res.status).toBe(403);
        expectErrorFormat(res.body, 403, 'plan_limit');
      }
      expect(await stored()).toBe(3);
    });
  });

  describe('404, 413, 415', () => {
    it('unknown routes and wrong methods', async () => {
      for (const [method, route] of [
        ['GET', '/nope'],
        ['PATCH', path(dept)],
        ['GET', `/department/${dept}/webhooks`],
      ]) {
        const res = await call(api.baseUrl, method, route, { token });
        expect(res.status).toBe(404);
        expectErrorFormat(res.body, 404, 'not_found');
      }
    });

    it('an unknown webhook id', async () => {
      const res = await call(api.baseUrl, 'GET', `${path(dept)}wh_doesNotExist`, { token });
      expect(res.status).toBe(404);
    });

    it('a body over 1 MiB', async () => {
      const res = await post({ ...valid, name: 'x'.repeat(1024 * 1024) });
      expect(res.status).toBe(413);
      expectErrorFormat(res.body, 413, 'payload_too_large');
    });

    it('a body that is not application/json', async () => {
      const res = await call(api.baseUrl, 'POST', path(dept), { token, raw: JSON.stringify(valid), headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(415);
      expectErrorFormat(res.body, 415, 'unsupported_media_type');
      expect(await stored()).toBe(0);
    });
  });

  it('carries X-Request-Id on every response, echoing a sane client value', async () => {
    const echoed = await call(api.baseUrl, 'GET', path(dept), { token, headers: { 'x-request-id': 'trace-abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-abc-123');
    for (const res of [
      await call(api.baseUrl, 'GET', '/nope'),
      await call(api.baseUrl, 'GET', path(dept)),
      await call(api.baseUrl, 'GET', '/health/live'),
      await post({}),
    ]) {
      expect(res.headers.get('x-request-id')).toMatch(/^[\w.:-]+$/);
    }
  });

  describe('session cookies and CSRF', () => {
    const login = (secret: string) => openSession(api.baseUrl, secret);

    it('logs in with a token, sets HttpOnly SameSite=Lax cookies and authenticates by cookie', async () => {
      const { cookie, setCookie } = await login(token);
      const session = setCookie.find((c) => c.startsWith('pollarix_session='))!;
      expect(session).toMatch(/HttpOnly/i);
      expect(session).toMatch(/SameSite=Lax/i);
      expect(session).toMatch(/Path=\//);
      expect(setCookie.find((c) => c.startsWith('pollarix_csrf='))).not.toMatch(/HttpOnly/i);
      expect((await call(api.baseUrl, 'GET', path(dept), { headers: { cookie } })).status).toBe(200);
    });

    it('rejects unsafe methods without the CSRF header (403) and accepts them with it', async () => {
      const { cookie, csrf } = await login(token);
      const without = await call(api.baseUrl, 'POST', path(dept), { body: valid, headers: { cookie } });
      expect(without.status).toBe(403);
      expectErrorFormat(without.body, 403, 'csrf_failed');
      const wrong = await call(api.baseUrl, 'POST', path(dept), { body: valid, headers: { cookie, 'x-csrf-token': 'forged' } });
      expect(wrong.status).toBe(403);
      expect(await stored()).toBe(0);
      const withIt = await call(api.baseUrl, 'POST', path(dept), { body: valid, headers: { cookie, 'x-csrf-token': csrf } });
      expect(withIt.status).toBe(201);
    });

    it("a session keeps the token's department scope", async () => {
      const { cookie } = await login(token);
      expect((await call(api.baseUrl, 'GET', path(uniqueDepartment()), { headers: { cookie } })).status).toBe(403);
    });

    it('an invalid token cannot log in', async () => {
      const res = await call(api.baseUrl, 'POST', '/auth/session', { body: { token: 'plx_nope' } });
      expect(res.status).toBe(401);
    });

    it('DELETE /auth/session ends the session', async () => {
      const { cookie, csrf } = await login(token);
      expect((await call(api.baseUrl, 'DELETE', '/auth/session', { headers: { cookie } })).status).toBe(403);
      const out = await call(api.baseUrl, 'DELETE', '/auth/session', { headers: { cookie, 'x-csrf-token': csrf } });
      expect(out.status).toBe(204);
      expect((await call(api.baseUrl, 'GET', path(dept), { headers: { cookie } })).status).toBe(401);
    });

    it('a session dies with its token', async () => {
      const { cookie } = await login(token);
      await api.revoke(token);
      expect((await call(api.baseUrl, 'GET', path(dept), { headers: { cookie } })).status).toBe(401);
    });
  });
});

describe('rate limiting, shared across API processes', () => {
  let first: TestApi;
  let second: TestApi;
  beforeAll(async () => {
    first = await startApi({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_PUBLISH_PER_MINUTE: '40', TRUST_PROXY: 'true' });
    second = await startApi({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_PUBLISH_PER_MINUTE: '40', TRUST_PROXY: 'true' });
  });
  // A token's first request in each process also spends its address's budget (issue 13): each test
  // comes from an address of its own, not the loopback every other test file shares.
  let headers: Record<string, string>;
  beforeEach(() => {
    headers = { 'x-forwarded-for': uniqueAddress() };
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('counts a token across processes and answers 429 with Retry-After and RateLimit-* headers', async () => {
    const dept = uniqueDepartment();
    const token = await first.token([dept]);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await call((i % 2 ? second : first).baseUrl, 'GET', path(dept), { token, headers });
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get('ratelimit-limit')).toBe('5');
        expect(last.headers.get('ratelimit-remaining')).toBe('4');
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('ratelimit-remaining')).toBe('0');
    expectErrorFormat(last!.body, 429, 'rate_limited');

    // Another token has its own budget.
    const other = await first.token([dept]);
    expect((await call(first.baseUrl, 'GET', path(dept), { token: other, headers })).status).toBe(200);
  });

  it("counts a producer's publishing apart, in events (issue 15): past RATE_LIMIT_PER_MINUTE it still publishes, its reads are limited, and past RATE_LIMIT_PUBLISH_PER_MINUTE it gets 429", async () => {
    const dept = uniqueDepartment();
    const token = await first.token([dept], ['webhooks:read', 'events:publish']);
    const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };
    const event = () => ({ type: 'SURVEY_COMPLETED', departmentId: dept, data });
    const api = (i: number) => (i % 2 ? second : first).baseUrl;

    // 12 single publishes and a batch of 20: more requests than RATE_LIMIT_PER_MINUTE (5), 32 of the 40 events.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await call(api(i), 'POST', '/internal/events', { token, body: event(), headers });
      statuses.push(res.status);
      if (i === 0) expect([res.headers.get('ratelimit-limit'), res.headers.get('ratelimit-remaining')]).toEqual(['40', '39']);
    }
    const batch = await call(api(1), 'POST', '/internal/events/batch', { token, body: { events: Array.from({ length: 20 }, event) }, headers });
    expect([...statuses, batch.status]).toEqual([...Array(12).fill(202), 202]);
    expect(batch.headers.get('ratelimit-remaining')).toBe('8');

    // The same token's reads have their own budget, untouched by the publishing: 5, then 429.
    const reads: number[] = [];
    for (let i = 0; i < 6; i++) reads.push((await call(api(i), 'GET', path(dept), { token, headers })).status);
    expect(reads).toEqual([200, 200, 200, 200, 200, 429]);

    // A batch of 10 would pass 40 events: refused whole, with Retry-After, nothing of it stored.
    const over = await call(api(0), 'POST', '/internal/events/batch', { token, body: { events: Array.from({ length: 10 }, event) }, headers });
    expect(over.status).toBe(429);
    expectErrorFormat(over.body, 429, 'rate_limited');
    expect(JSON.stringify(over.body)).toContain('40 events per 60 s');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    const stored: { n: number }[] = await first.db.dataSource.query(`SELECT count(*)::int AS n FROM events WHERE department_id = $1`, [dept]);
    expect(stored[0].n).toBe(32);

    // Another producer's token has its own budget.
    const other = await first.token(['*'], ['events:publish']);
    expect((await call(api(1), 'POST', '/internal/events', { token: other, body: event(), headers })).status).toBe(202);
  });
});

describe('unexpected failures', () => {
  it('answer 500 internal_error with a generic message and no internals', async () => {
    const api = await startApi();
    const dept = uniqueDepartment();
    const token = await api.token([dept]);
    expect((await call(api.baseUrl, 'GET', path(dept), { token })).status).toBe(200);
    // Pull the database out from under the running app.
    await api.db.dataSource.destroy();
    try {
      const res = await call(api.baseUrl, 'GET', `${path(dept)}wh_any`, { token });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ status: 500, detail: [{ msg: 'Internal server error', type: 'internal_error' }] });
      expect(res.headers.get('x-request-id')).toBeTruthy();
    } finally {
      await api.db.dataSource.initialize();
      await api.close();
    }
  });
});
