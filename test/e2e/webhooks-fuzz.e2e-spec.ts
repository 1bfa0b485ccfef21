import fc from 'fast-check';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';

const EVENTS = ['SURVEY_COMPLETED', 'SURVEY_STATUS_CHANGED', 'COUPON_REDEEMED', 'WEBHOOK_DISABLED', 'WEBHOOK_TEST', 'NOPE', ''];

/** Bodies near the valid shape: each field valid, absent, or replaced by something odd. */
const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof(valid, fc.constant(undefined), fc.jsonValue());
const nearlyValid = fc
  .record(
    {
      id: fc.oneof(fc.constant(undefined), fc.string(), fc.jsonValue()),
      name: field(fc.string({ maxLength: 120 })),
      url: field(
        fc.oneof(
          fc.webUrl(),
          fc.constantFrom('http://127.0.0.1/x', 'http://[::ffff:7f00:1]/', 'ftp://x.y/', 'https://', 'mailto:a@b.c', 'http://example.com/' + 'a'.repeat(2100)),
          fc.string(),
        ),
      ),
      events: field(fc.array(fc.constantFrom(...EVENTS), { maxLength: 6 })),
      headers: field(
        fc.dictionary(
          fc.oneof(fc.constantFrom('Authorization', 'X-Custom', 'host', 'Webhook-Id', 'bad name', ''), fc.string({ maxLength: 20 })),
          fc.oneof(fc.string({ maxLength: 50 }), fc.jsonValue(), fc.constant('x'.repeat(5000))),
          { maxKeys: 25 },
        ),
      ),
      isActive: field(fc.boolean()),
      extra: fc.oneof(fc.constant(undefined), fc.jsonValue()),
    },
    { requiredKeys: [] },
  )
  .map((body) => Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)));

const anyBody = fc.oneof(
  { weight: 3, arbitrary: nearlyValid.map((b) => ({ raw: JSON.stringify(b) })) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => ({ raw: JSON.stringify(v) ?? 'null' })) },
  { weight: 1, arbitrary: fc.string().map((raw) => ({ raw })) },
);

function expectErrorOrSuccess(status: number, body: { detail: { msg?: unknown; type?: unknown }[] }): void {
  expect(status).toBeLessThan(500);
  if (status >= 400) {
    expect(body).toEqual({ status, detail: expect.any(Array) });
    expect(body.detail.length).toBeGreaterThan(0);
    for (const item of body.detail) {
      expect(typeof item.msg).toBe('string');
      expect(typeof item.type).toBe('string');
    }
  }
}

describe('property: random and malformed bodies never cause a 500 or a stray write', () => {
  let api: TestApi;
  let dept: string;
  let token: string;
  let existingId: string;

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false', MAX_WEBHOOKS_PER_DEPARTMENT: '1000', RATE_LIMIT_PER_MINUTE: '100000' });
    dept = uniqueDepartment();
    token = await api.token([dept]);
    const created = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, {
      token,
      body: { name: 'Keep', url: 'https://example.com/keep', events: ['SURVEY_COMPLETED'], headers: { 'X-A': 'b' } },
    });
    existingId = created.body.webhooks[0].id;
  });
  afterAll(() => api.close());

  const snapshot = async () => JSON.stringify((await call(api.baseUrl, 'GET', `/department/${dept}/webhook/`, { token })).body);

  it('create: 201 or a 4xx in the error format; a rejected request stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, fc.boolean(), async ({ raw }, useAdd) => {
        const before = await snapshot();
        const route = `/department/${dept}/webhook/${useAdd ? 'add' : ''}`;
        const res = await call(api.baseUrl, 'POST', route, { token, raw, headers: { 'content-type': 'application/json' } });
        expectErrorOrSuccess(res.status, res.body);
        if (res.status === 201) {
          await call(api.baseUrl, 'DELETE', `/department/${dept}/webhook/${res.body.webhooks[0].id}`, { token });
        } else {
          expect(await snapshot()).toBe(before);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('update: 200 or a 4xx in the error format; a rejected request changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, async ({ raw }) => {
        const before = await snapshot();
        const res = await call(api.baseUrl, 'PUT', `/department/${dept}/webhook/${existingId}`, { token, raw, headers: { 'content-type': 'application/json' } });
        expectErrorOrSuccess(res.status, res.body);
        if (res.status >= 400) expect(await snapshot()).toBe(before);
      }),
      { numRuns: 300 },
    );
  });
});
