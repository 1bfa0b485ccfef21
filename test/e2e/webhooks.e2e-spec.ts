import { SecretBox } from '@pollarix/common';
import { randomBytes } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { Receiver, startReceiver } from '../support/receiver';

const base = (dept: string) => `/department/${dept}/webhook`;
const sample = (overrides: Record<string, unknown> = {}) => ({
  name: 'CRM Sync',
  url: 'https://crm.example.com/hooks',
  events: ['SURVEY_COMPLETED'],
  headers: { Authorization: 'Bearer token123' },
  isActive: true,
  ...overrides,
});

describe('webhook configuration API', () => {
  let api: TestApi;
  let receiver: Receiver;
  let dept: string;
  let token: string;

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true', DELIVERY_TIMEOUT_MS: '2000' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await api.close();
  });
  beforeEach(async () => {
    dept = uniqueDepartment();
    token = await api.token([dept]);
  });

  const create = (body: unknown = sample(), path = '/') => call(api.baseUrl, 'POST', base(dept) + path, { token, body });

  it('lists an empty department, with or without the trailing slash', async () => {
    for (const path of [`${base(dept)}/`, base(dept)]) {
      const res = await call(api.baseUrl, 'GET', path, { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ departmentId: dept, webhooks: [] });
    }
  });

  it('creates through both create routes and shows the secret only in the create response', async () => {
    const first = await create();
    expect(first.status).toBe(201);
    expect(first.body.departmentId).toBe(dept);
    const created = first.body.webhooks[0];
    expect(created).toEqual({
      id: expect.stringMatching(/^wh_/),
      name: 'CRM Sync',
      url: 'https://crm.example.com/hooks',
      events: ['SURVEY_COMPLETED'],
      headers: { Authorization: 'Bearer token123' },
      isActive: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      disabledReason: null,
      secret: expect.stringMatching(/^whsec_/),
    });

    const second = await call(api.baseUrl, 'POST', `${base(dept)}/add`, {
      token,
      body: { name: 'Analytics', url: 'https://analytics.example.com/ingest', events: ['SURVEY_COMPLETED', 'COUPON_REDEEMED'] },
    });
    expect(second.status).toBe(201);
    expect(second.body.webhooks[0]).toMatchObject({ headers: {}, isActive: true });

    const list = await call(api.baseUrl, 'GET', `${base(dept)}/`, { token });
    expect(list.status).toBe(200);
    expect(list.body.webhooks.map((w: { name: string }) => w.name)).toEqual(['CRM Sync', 'Analytics']);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');

    const one = await call(api.baseUrl, 'GET', `${base(dept)}/${created.id}`, { token });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ departmentId: dept, webhooks: [{ ...created, secret: undefined }] });
    expect(JSON.stringify(one.body)).not.toContain('whsec_');
  });

  it('updates by full replace: omitted headers become {}, omitted isActive becomes true', async () => {
    const id = (await create()).body.webhooks[0].id;
    const res = await call(api.baseUrl, 'PUT', `${base(dept)}/${id}`, {
      token,
      body: { id, name: 'Updated', url: 'https://new.example.com/v2', events: ['SURVEY_STATUS_CHANGED'] },
    });
    expect(res.status).toBe(200);
    expect(res.body.webhooks[0]).toMatchObject({
      id,
      name: 'Updated',
      url: 'https://new.example.com/v2',
      events: ['SURVEY_STATUS_CHANGED'],
      headers: {},
      isActive: true,
    });

    const off = await call(api.baseUrl, 'PUT', `${base(dept)}/${id}`, { token, body: { ...sample(), isActive: false } });
    expect(off.body.webhooks[0].isActive).toBe(false);
    expect((await call(api.baseUrl, 'GET', `${base(dept)}/${id}`, { token })).body.webhooks[0].isActive).toBe(false);
  });

  it('rejects a body id that differs from the path with 422 and changes nothing', async () => {
    const id = (await create()).body.webhooks[0].id;
    const res = await call(api.baseUrl, 'PUT', `${base(dept)}/${id}`, { token, body: { ...sample({ name: 'Other' }), id: 'wh_somethingElse' } });
    expect(res.status).toBe(422);
    expect(res.body.detail[0]).toMatchObject({ type: 'value_error', loc: ['body', 'id'] });
    expect((await call(api.baseUrl, 'GET', `${base(dept)}/${id}`, { token })).body.webhooks[0].name).toBe('CRM Sync');
  });

  it('deletes with 204, after which the webhook is 404 everywhere', async () => {
    const id = (await create()).body.webhooks[0].id;
    const res = await call(api.baseUrl, 'DELETE', `${base(dept)}/${id}`, { token });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    for (const [method, path, body] of [
      ['GET', `${base(dept)}/${id}`],
      ['PUT', `${base(dept)}/${id}`, sample()],
      ['DELETE', `${base(dept)}/${id}`],
      ['GET', `${base(dept)}/${id}/secret`],
      ['POST', `${base(dept)}/${id}/secret/rotate`],
    ] as const) {
      const after = await call(api.baseUrl, method, path, { token, body });
      expect(after.status).toBe(404);
      expect(after.body.detail[0].type).toBe('not_found');
    }
  });

  it('reads and rotates the signing secret', async () => {
    const created = (await create()).body.webhooks[0];
    const read = await call(api.baseUrl, 'GET', `${base(dept)}/${created.id}/secret`, { token });
    expect(read).toMatchObject({ status: 200, body: { secret: created.secret } });
    const rotated = await call(api.baseUrl, 'POST', `${base(dept)}/${created.id}/secret/rotate`, { token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    expect((await call(api.baseUrl, 'GET', `${base(dept)}/${created.id}/secret`, { token })).body.secret).toBe(rotated.body.secret);
    const signing = await api.db.repos.webhooks.getSigningSecrets(dept, created.id);
    expect(signing).toEqual({ current: rotated.body.secret, previous: created.secret });
  });

  it('stores custom header values and secrets encrypted: unreadable in the table itself', async () => {
    const secretValue = 'Bearer very-secret-header-value-123';
    const created = (await create(sample({ headers: { Authorization: secretValue } }))).body.webhooks[0];
    const rows: Record<string, unknown>[] = await api.db.dataSource.query('SELECT * FROM webhooks WHERE id = $1', [created.id]);
    const dump = JSON.stringify(rows);
    expect(rows).toHaveLength(1);
    expect(dump).not.toContain('very-secret-header-value');
    expect(dump).not.toContain(created.secret.slice('whsec_'.length));
    expect(dump).not.toContain(Buffer.from(secretValue).toString('base64'));
  });

  describe('idempotent create', () => {
    it('returns the first result for a retried key and creates one webhook', async () => {
      const headers = { 'Idempotency-Key': 'create-123' };
      const first = await call(api.baseUrl, 'POST', `${base(dept)}/`, { token, body: sample(), headers });
      const again = await call(api.baseUrl, 'POST', `${base(dept)}/add`, { token, body: sample(), headers });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((await call(api.baseUrl, 'GET', base(dept), { token })).body.webhooks).toHaveLength(1);
    });

    it('creates once under concurrent retries', async () => {
      const headers = { 'Idempotency-Key': 'burst' };
      const results = await Promise.all(Array.from({ length: 8 }, () => call(api.baseUrl, 'POST', `${base(dept)}/`, { token, body: sample(), headers })));
      expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(results.map((r) => r.body.webhooks[0].id)).size).toBe(1);
      expect((await call(api.baseUrl, 'GET', base(dept), { token })).body.webhooks).toHaveLength(1);
    });

    it('rejects the same key with a different body (422) and keeps one webhook', async () => {
      const headers = { 'Idempotency-Key': 'k-1' };
      await call(api.baseUrl, 'POST', `${base(dept)}/`, { token, body: sample(), headers });
      const other = await call(api.baseUrl, 'POST', `${base(dept)}/`, { token, body: sample({ name: 'Different' }), headers });
      expect(other.status).toBe(422);
      expect(other.body.detail[0].loc).toEqual(['header', 'Idempotency-Key']);
      expect((await call(api.baseUrl, 'GET', base(dept), { token })).body.webhooks).toHaveLength(1);
    });

    it('answers 409, not 500, when the stored response no longer decrypts (its key left the ring); another department is unaffected', async () => {
      const headers = { 'Idempotency-Key': 'sealed-elsewhere' };
      expect((await call(api.baseUrl, 'POST', `${base(dept)}/`, { token, body: sample(), headers })).status).toBe(201);
      const underAnotherKey = new SecretBox(randomBytes(32)).seal('{}', 'elsewhere');
      await api.db.dataSource.query('UPDATE idempotency_keys SET response_sealed = $1 WHERE department_id = $2 AND key = $3', [
        underAnotherKey,
        dept,
        headers['Idempotency-Key'],
      ]);
      const again = await call(api.baseUrl, 'POST', `${base(dept)}/`, { token, body: sample(), headers });
      expect({ status: again.status, type: again.body.detail?.[0]?.type }).toEqual({ status: 409, type: 'conflict' });
      expect((await call(api.baseUrl, 'GET', base(dept), { token })).body.webhooks).toHaveLength(1);
      // The same key in another department is its own.
      const other = uniqueDepartment();
      const otherToken = await api.token([other]);
      expect((await call(api.baseUrl, 'POST', `${base(other)}/`, { token: otherToken, body: sample(), headers })).status).toBe(201);
      expect((await call(api.baseUrl, 'POST', `${base(other)}/`, { token: otherToken, body: sample(), headers })).headers.get('idempotent-replayed')).toBe('true');
    });

    it('rejects a malformed key with 400', async () => {
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/`, { token, body: sample(), headers: { 'Idempotency-Key': 'x'.repeat(300) } });
      expect(res.status).toBe(400);
      expect((await call(api.baseUrl, 'GET', base(dept), { token })).body.webhooks).toHaveLength(0);
    });
  });

  describe('test-send', () => {
    beforeEach(() => receiver.reply((_req, res) => res.writeHead(204).end()));

    it('POSTs a WEBHOOK_TEST envelope and reports the outcome', async () => {
      const before = receiver.requests.length;
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: receiver.url } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ delivered: true, statusCode: 204, durationMs: expect.any(Number) });
      const got = receiver.requests[before];
      expect(got.method).toBe('POST');
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['user-agent']).toMatch(/^Pollarix-Webhooks\//);
      expect(got.headers['webhook-id']).toMatch(/^msg_/);
      expect(Number(got.headers['webhook-timestamp'])).toBeGreaterThan(0);
      expect(JSON.parse(got.body)).toMatchObject({ id: expect.stringMatching(/^evt_/), type: 'WEBHOOK_TEST', departmentId: dept, data: expect.any(Object) });
    });

    it("signs with the webhook's secret and sends its custom headers when webhookId is given", async () => {
      const created = (await create(sample({ url: receiver.url, headers: { 'X-Custom': 'abc' } }))).body.webhooks[0];
      const before = receiver.requests.length;
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: receiver.url, webhookId: created.id } });
      expect(res.status).toBe(200);
      const got = receiver.requests[before];
      expect(got.headers['x-custom']).toBe('abc');
      const verified = new StandardWebhook(created.secret).verify(got.body, got.headers as Record<string, string>);
      expect(verified).toMatchObject({ type: 'WEBHOOK_TEST' });
    });

    it('answers 502 delivery_failed naming the status when the receiver fails', async () => {
      receiver.reply((_req, res) => res.writeHead(500).end('boom'));
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: receiver.url } });
      expect(res.status).toBe(502);
      expect(res.body.detail[0]).toMatchObject({ type: 'delivery_failed', msg: expect.stringContaining('500') });
    });

    it('reports a 3xx as a failure and does not follow it', async () => {
      const before = receiver.requests.length;
      receiver.reply((_req, res) => res.writeHead(302, { location: `${receiver.url}/elsewhere` }).end());
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: receiver.url } });
      expect(res.status).toBe(502);
      expect(receiver.requests.length - before).toBe(1);
    });

    it('answers 502 naming the network error when nothing listens', async () => {
      const closed = await startReceiver();
      await closed.close();
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: closed.url } });
      expect(res.status).toBe(502);
      expect(res.body.detail[0].msg).toMatch(/connection_refused/);
    });

    it('answers 502 on a receiver that hangs past the timeout', async () => {
      receiver.reply(() => undefined);
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: receiver.url } });
      expect(res.status).toBe(502);
      expect(res.body.detail[0].msg).toMatch(/timeout/);
    });

    it('is 404 for a webhookId of another department', async () => {
      const other = uniqueDepartment();
      const otherToken = await api.token([other]);
      const foreign = (await call(api.baseUrl, 'POST', `${base(other)}/`, { token: otherToken, body: sample() })).body.webhooks[0];
      const res = await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: receiver.url, webhookId: foreign.id } });
      expect(res.status).toBe(404);
    });

    it('is limited to 10 per minute per department', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        statuses.push((await call(api.baseUrl, 'POST', `${base(dept)}/test-send`, { token, body: { url: receiver.url } })).status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
      expect(statuses[10]).toBe(429);
    });
  });

  it('serves the event catalog without auth', async () => {
    const res = await call(api.baseUrl, 'GET', '/events/types');
    expect(res.status).toBe(200);
    const types = res.body.types.map((t: { type: string }) => t.type);
    expect(types).toEqual(expect.arrayContaining(['SURVEY_COMPLETED', 'SURVEY_STATUS_CHANGED', 'COUPON_REDEEMED', 'WEBHOOK_DISABLED', 'WEBHOOK_TEST']));
    const completed = res.body.types.find((t: { type: string }) => t.type === 'SURVEY_COMPLETED');
    expect(completed.schema.required).toEqual(['surveyId', 'responseId', 'completedAt']);
  });

  it('documents the API in OpenAPI with both auth schemes and the error format', async () => {
    const doc = await call(api.baseUrl, 'GET', '/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/department/{departmentId}/webhook',
        '/department/{departmentId}/webhook/add',
        '/department/{departmentId}/webhook/test-send',
        '/department/{departmentId}/webhook/{webhookId}',
        '/department/{departmentId}/webhook/{webhookId}/secret',
        '/department/{departmentId}/webhook/{webhookId}/secret/rotate',
        '/events/types',
        '/auth/session',
      ]),
    );
    expect(doc.body.components.securitySchemes).toMatchObject({ bearer: { scheme: 'bearer' }, session: { in: 'cookie', name: 'pollarix_session' } });
    expect(doc.body.components.schemas.ErrorResponseDto.properties).toHaveProperty('detail');
    expect(doc.body.components.schemas.CreateWebhookDto.required).toEqual(expect.arrayContaining(['name', 'url', 'events']));
    const ui = await fetch(`${api.baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});

describe('the list cache across API processes', () => {
  let first: TestApi;
  let second: TestApi;
  beforeAll(async () => {
    first = await startApi();
    second = await startApi();
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('a write through one process is seen by the lists of the others', async () => {
    const dept = uniqueDepartment();
    const token = await first.token([dept]);
    const list = async (api: TestApi) => (await call(api.baseUrl, 'GET', base(dept), { token })).body.webhooks as { id: string; name: string }[];
    expect(await list(second)).toEqual([]);
    const id = (await call(first.baseUrl, 'POST', base(dept), { token, body: sample() })).body.webhooks[0].id;
    await waitFor(async () => (await list(second)).length === 1);
    await call(first.baseUrl, 'PUT', `${base(dept)}/${id}`, { token, body: sample({ name: 'Renamed' }) });
    await waitFor(async () => (await list(second))[0]?.name === 'Renamed');
    await call(first.baseUrl, 'DELETE', `${base(dept)}/${id}`, { token });
    await waitFor(async () => (await list(second)).length === 0);
  });
});

/** Polls a condition every 10 ms, failing after 2 s (far below the cache's 5 s TTL, so only the announcement can satisfy it). */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
