import { findUnstorable } from '@pollarix/common';
import { call, JsonResponse, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { departmentRows } from '../support/department-rows';
import { cli, requireBuiltCli } from '../support/cli';
import { completedData } from '../support/tenants';

/**
 * Issue 13, finding 3: text PostgreSQL cannot store. Event data holding U+0000 answered 500 (jsonb
 * refuses it, and lone surrogates); a webhook name holding a lone surrogate was stored as U+FFFD by
 * node-postgres. Now every body, query and path value holding either is a 422 that names the field,
 * and nothing is stored, in the department asking or in any other.
 */
describe('text PostgreSQL cannot store: a 422 naming the field, nothing stored', () => {
  let api: TestApi;
  let dept: string;
  let token: string;
  let publisher: string;
  let webhookId: string;
  let other: { dept: string; token: string; publisher: string };

  const hook = { name: 'Keep', url: 'https://example.com/keep', events: ['SURVEY_COMPLETED'], headers: { 'X-A': 'b' } };

  async function department(): Promise<{ dept: string; token: string; publisher: string; webhookId: string }> {
    const id = uniqueDepartment('dept_bytes');
    const tokenFor = await api.token([id]);
    const created = await call(api.baseUrl, 'POST', `/department/${id}/webhook/`, { token: tokenFor, body: hook });
    expect(created.status).toBe(201);
    return { dept: id, token: tokenFor, publisher: await api.token([id], ['events:publish']), webhookId: created.body.webhooks[0].id };
  }

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false' });
    ({ dept, token, publisher, webhookId } = await department());
    other = await department();
  });
  afterAll(() => api.close());

  const rows = () => departmentRows(api.db.dataSource, [dept, other.dept]);

  /** The request answers 422 with a value_error at `loc`, and neither department stored anything. */
  async function expectRefused(send: () => Promise<JsonResponse>, loc: (string | number)[], field: string): Promise<void> {
    const before = await rows();
    const res = await send();
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ status: 422, detail: expect.any(Array) });
    expect(res.body.detail).toContainEqual({ loc, type: 'value_error', msg: expect.stringContaining(`${field} holds`) });
    // The answer never echoes the bytes it refuses.
    expect(findUnstorable(res.body)).toEqual([]);
    expect(await rows()).toEqual(before);
  }

  const publish =
    (data: object, extra: object = {}) =>
    () =>
      call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: { type: 'SURVEY_COMPLETED', departmentId: dept, data, ...extra } });

  describe('POST /internal/events', () => {
    it('data holding U+0000 (was a 500)', async () => {
      await expectRefused(publish({ ...completedData, note: 'a\u0000b' }), ['body', 'data', 'note'], 'data.note');
    });

    it('a lone surrogate deep in data (was a 500)', async () => {
      const answers = ['ok', 'ok 😀', 'half a pair \uD83D'].map((value, i) => ({ questionId: `q${i}`, value }));
      await expectRefused(publish({ ...completedData, answers }), ['body', 'data', 'answers', 2, 'value'], 'data.answers[2].value');
    });

    it('a key holding U+0000, located by itself and escaped', async () => {
      await expectRefused(
        publish({ ...completedData, respondent: { 'e\u0000mail': 'x' } }),
        ['body', 'data', 'respondent', 'e\\u0000mail'],
        'data.respondent.e\\u0000mail',
      );
    });
  });

  it('POST /internal/events/batch: one bad event refuses the whole batch (was a 500)', async () => {
    const events = Array.from({ length: 5 }, (_, i) => ({
      type: 'SURVEY_COMPLETED',
      departmentId: dept,
      data: { ...completedData, note: i === 3 ? '\uDC00' : 'fine' },
    }));
    await expectRefused(
      () => call(api.baseUrl, 'POST', '/internal/events/batch', { token: publisher, body: { events } }),
      ['body', 'events', 3, 'data', 'note'],
      'events[3].data.note',
    );
  });

  describe('webhooks', () => {
    const webhooks = `/department/{dept}/webhook`;
    const at = (path: string) => webhooks.replace('{dept}', dept) + path;

    it('create: a name holding a lone surrogate (was stored as U+FFFD)', async () => {
      await expectRefused(() => call(api.baseUrl, 'POST', at('/'), { token, body: { ...hook, name: 'CRM \uD800' } }), ['body', 'name'], 'name');
    });

    it('create: a URL holding U+0000', async () => {
      await expectRefused(() => call(api.baseUrl, 'POST', at('/add'), { token, body: { ...hook, url: 'https://example.com/a\u0000b' } }), ['body', 'url'], 'url');
    });

    it('update: a header value holding U+0000', async () => {
      const body = { ...hook, headers: { 'X-Foo': 'a\u0000' } };
      await expectRefused(() => call(api.baseUrl, 'PUT', at(`/${webhookId}`), { token, body }), ['body', 'headers', 'X-Foo'], 'headers.X-Foo');
    });

    it('update: a body id holding a lone surrogate', async () => {
      await expectRefused(() => call(api.baseUrl, 'PUT', at(`/${webhookId}`), { token, body: { ...hook, id: '\uDFFF' } }), ['body', 'id'], 'id');
    });

    it('test-send: a webhookId holding U+0000', async () => {
      const body = { url: 'https://example.com/t', webhookId: `${webhookId}\u0000` };
      await expectRefused(() => call(api.baseUrl, 'POST', at('/test-send'), { token, body }), ['body', 'webhookId'], 'webhookId');
    });

    it('a path parameter holding U+0000', async () => {
      await expectRefused(() => call(api.baseUrl, 'GET', at('/wh_%00'), { token }), ['path', 'webhookId'], 'webhookId');
    });

    it('a query filter holding U+0000', async () => {
      await expectRefused(() => call(api.baseUrl, 'GET', at(`/${webhookId}/deliveries?eventType=SURVEY%00`), { token }), ['query', 'eventType'], 'eventType');
    });

    it('recover: since holding U+0000 (a 400 for its format, with the 422 detail beside it)', async () => {
      const res = await call(api.baseUrl, 'POST', at(`/${webhookId}/recover`), { token, body: { since: '2026-01-01T00:00:00Z\u0000' } });
      expect(res.status).toBe(400);
      expect(res.body.detail).toContainEqual({ loc: ['body', 'since'], type: 'value_error', msg: expect.stringContaining('since holds U+0000') });
    });
  });

  it('session create: a token holding U+0000', async () => {
    await expectRefused(() => call(api.baseUrl, 'POST', '/auth/session', { body: { token: 'plx_\u0000' } }), ['body', 'token'], 'token');
  });

  it('storable text of every kind is accepted and reads back exactly as sent', async () => {
    const data = {
      ...completedData,
      note: 'ctrl \u0001\u001f, BOM \uFEFF, nonchars \uFFFE\uFFFF, astral 😀\u{10FFFF}, RTL \u202E',
      ['k\u0001ey 😀']: ['\u00e9', 'e\u0301'],
    };
    const res = await call(api.baseUrl, 'POST', '/internal/events', { token: other.publisher, body: { type: 'SURVEY_COMPLETED', departmentId: other.dept, data } });
    expect(res.status).toBe(202);
    expect(res.body.data).toEqual(data);
    expect(await api.db.repos.events.findData(res.body.id)).toEqual(data);
  });

  it("keys named like Object.prototype's members are stored, not dropped (event data and custom headers; found by the fuzz suite)", async () => {
    const data = {
      ...completedData,
      valueOf: [1],
      respondent: { toString: 's', hasOwnProperty: true },
      answers: [{ questionId: 'q', value: { isPrototypeOf: null } }],
    };
    const res = await call(api.baseUrl, 'POST', '/internal/events/batch', {
      token: other.publisher,
      body: { events: [{ type: 'SURVEY_COMPLETED', departmentId: other.dept, data }] },
    });
    expect(res.status).toBe(202);
    expect(res.body.events[0].data).toEqual(data);
    expect(await api.db.repos.events.findData(res.body.events[0].id)).toEqual(data);

    const headers = { 'X-A': 'b', valueOf: 'v', toString: 's' };
    const created = await call(api.baseUrl, 'POST', `/department/${other.dept}/webhook/`, { token: other.token, body: { ...hook, headers } });
    expect(created.status).toBe(201);
    const read = await call(api.baseUrl, 'GET', `/department/${other.dept}/webhook/${created.body.webhooks[0].id}`, { token: other.token });
    expect(read.body.webhooks[0].headers).toEqual(headers);
  });

  it('keys the framework strips (__proto__, constructor, prototype) are refused, not silently dropped', async () => {
    const raw = `{"type": "SURVEY_COMPLETED", "departmentId": "${dept}", "data": {"surveyId": "s", "responseId": "r", "completedAt": "2026-11-26T10:00:00Z", "respondent": {"constructor": "c"}}}`;
    const res = await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, raw, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([{ loc: ['body', 'data', 'respondent', 'constructor'], type: 'value_error', msg: expect.stringContaining('is reserved') }]);
  });

  it('JSON nested thousands of levels deep is a 422, not a 500 (event data and a webhook body)', async () => {
    const nest = '['.repeat(100_000) + ']'.repeat(100_000);
    const before = await rows();
    const event = `{"type": "SURVEY_COMPLETED", "departmentId": "${dept}", "data": {"surveyId": "s", "responseId": "r", "completedAt": "2026-11-26T10:00:00Z", "deep": ${nest}}}`;
    const webhook = `{"name": "n", "url": "https://example.com/", "events": ["SURVEY_COMPLETED"], "headers": {"X-A": ${nest}}}`;
    const json = { 'content-type': 'application/json' };
    for (const res of [
      await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, raw: event, headers: json }),
      await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, raw: webhook, headers: json }),
    ]) {
      expect(res.status).toBe(422);
      expect(res.body.detail).toEqual([{ loc: expect.any(Array), type: 'value_error', msg: expect.stringContaining('is nested deeper than 64 levels') }]);
    }
    expect(await rows()).toEqual(before);
  });

  it('CLI event publish: the same rule, one clear line per field, nothing stored (built: dist/apps/cli/main.js)', async () => {
    requireBuiltCli();
    const before = await rows();
    const data = { ...completedData, answers: [{ questionId: 'q1', value: 'a\u0000b' }], note: 'half \uDBFF' };
    const result = await cli(['event', 'publish', '--department', dept, '--type', 'SURVEY_COMPLETED', '--data', JSON.stringify(data)]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('error: event not published:\n');
    expect(result.stderr).toContain('  data.answers[0].value: data.answers[0].value holds U+0000 (NUL): text must be valid Unicode without NUL\n');
    expect(result.stderr).toContain('  data.note: data.note holds a lone surrogate (U+DBFF)');
    expect(await rows()).toEqual(before);
  });
});
