import fc from 'fast-check';
import { call, JsonResponse, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { departmentRows } from '../support/department-rows';
import { expectErrorFormatOrSuccess, FUZZ_RUNS, fuzzTimeout, FuzzOutcomes, holdsUnstorable, junkRaw, mixedText, TextKit } from '../support/fuzz';

const SUBSCRIBABLE = ['SURVEY_COMPLETED', 'SURVEY_STATUS_CHANGED', 'COUPON_REDEEMED', 'WEBHOOK_DISABLED'];
const NOT_SUBSCRIBABLE = ['WEBHOOK_TEST', 'NOPE', ''];

const headerName = fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/);

/** A valid body, but for its text, which comes from the kit. */
function validBody(t: TextKit) {
  const valid = {
    name: t.text(100).filter((name) => name.trim() !== ''),
    url: fc.oneof({ weight: 4, arbitrary: fc.webUrl() }, { weight: 1, arbitrary: fc.tuple(fc.webUrl(), t.text(10)).map(([url, tail]) => url + tail) }),
    events: fc.uniqueArray(fc.constantFrom(...SUBSCRIBABLE), { minLength: 1 }),
    headers: fc.dictionary(headerName, fc.oneof({ weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) }, { weight: 1, arbitrary: t.text(40) }), {
      maxKeys: 4,
    }),
    isActive: fc.boolean(),
  };
  return { valid, body: fc.record(valid, { requiredKeys: ['name', 'url', 'events'] }) };
}

/** Each field valid, odd (absent, another JSON type, any text) or wrong in its own way. */
function nearlyValid(t: TextKit) {
  const { valid } = validBody(t);
  const odd = fc.oneof(fc.constant(undefined), t.json(), t.text());
  return fc
    .record(
      {
        id: fc.oneof(odd, fc.constantFrom('wh_x', '')),
        name: fc.oneof(valid.name, odd, t.text(120)),
        url: fc.oneof(
          valid.url,
          odd,
          fc.constantFrom('http://127.0.0.1/x', 'http://[::ffff:7f00:1]/', 'ftp://x.y/', 'https://', 'mailto:a@b.c', 'http://example.com/' + 'a'.repeat(2100)),
        ),
        events: fc.oneof(valid.events, odd, fc.array(fc.constantFrom(...SUBSCRIBABLE, ...NOT_SUBSCRIBABLE), { maxLength: 5 })),
        headers: fc.oneof(
          valid.headers,
          odd,
          fc.dictionary(
            fc.oneof(headerName, fc.constantFrom('Authorization', 'host', 'Webhook-Id', 'bad name', ''), t.text(20)),
            fc.oneof(t.text(40), t.json(), fc.constant('x'.repeat(5000))),
            { maxKeys: 25 },
          ),
        ),
        isActive: fc.oneof(valid.isActive, odd),
        extra: odd,
      },
      { requiredKeys: [] },
    )
    .map((body) => Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)));
}

/** The raw body and what it parses to (undefined for junk that is not a JSON object). */
const anyBody: fc.Arbitrary<{ raw: string; body?: Record<string, unknown> }> = fc.oneof(
  {
    weight: 6,
    arbitrary: mixedText((t) => fc.oneof(validBody(t).body, nearlyValid(t))).map((body) => ({ raw: JSON.stringify(body), body })),
  },
  { weight: 1, arbitrary: junkRaw.map((raw) => ({ raw })) },
);

describe('property: random and malformed webhook bodies never cause a 500 or a stray write', () => {
  let api: TestApi;
  let dept: string;
  let otherDept: string;
  let token: string;
  let existingId: string;

  const keep = { name: 'Keep', url: 'https://example.com/keep', events: ['SURVEY_COMPLETED'], headers: { 'X-A': 'b' } };

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false', MAX_WEBHOOKS_PER_DEPARTMENT: '1000' });
    dept = uniqueDepartment();
    otherDept = uniqueDepartment('other');
    token = await api.token([dept]);
    const created = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: keep });
    existingId = created.body.webhooks[0].id;
    const otherToken = await api.token([otherDept]);
    expect((await call(api.baseUrl, 'POST', `/department/${otherDept}/webhook/`, { token: otherToken, body: keep })).status).toBe(201);
  });
  afterAll(() => api.close());

  const rows = () => departmentRows(api.db.dataSource, [dept, otherDept]);

  /** A 2xx reads back what was sent, byte for byte: nothing replaced by U+FFFD on the way. */
  async function expectStoredAsSent(res: JsonResponse, sent: Record<string, unknown>): Promise<string> {
    const webhook = res.body.webhooks[0];
    const expected = { name: sent.name, url: sent.url, events: sent.events, headers: sent.headers ?? {} };
    expect(webhook).toMatchObject(expected);
    const read = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhook.id}`, { token });
    expect(read.body.webhooks[0]).toMatchObject(expected);
    return webhook.id;
  }

  /** One fuzzed request: never a 500; stored as sent, or refused with nothing written anywhere. */
  async function check(outcomes: FuzzOutcomes, method: string, path: string, raw: string, body: Record<string, unknown> | undefined, success: number) {
    const before = await rows();
    const res = await call(api.baseUrl, method, path, { token, raw, headers: { 'content-type': 'application/json' } });
    expectErrorFormatOrSuccess(res);
    const unstorable = holdsUnstorable(body);
    outcomes.record(res.status === success, unstorable);
    if (res.status === success) {
      expect(unstorable).toBe(false);
      return expectStoredAsSent(res, body!);
    }
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await rows()).toEqual(before);
    return undefined;
  }

  it(
    `create: 201 stored as sent, or a 4xx in the error format that stores nothing (${FUZZ_RUNS} bodies)`,
    async () => {
      const outcomes = new FuzzOutcomes();
      await fc.assert(
        fc.asyncProperty(anyBody, fc.boolean(), async ({ raw, body }, useAdd) => {
          const id = await check(outcomes, 'POST', `/department/${dept}/webhook/${useAdd ? 'add' : ''}`, raw, body, 201);
          if (id) expect((await call(api.baseUrl, 'DELETE', `/department/${dept}/webhook/${id}`, { token })).status).toBe(204);
        }),
        { numRuns: FUZZ_RUNS },
      );
      outcomes.expectBothPaths();
      console.info(`webhook create fuzz: ${outcomes.summary()}`);
    },
    fuzzTimeout(),
  );

  it(
    `update: 200 stored as sent, or a 4xx in the error format that changes nothing (${FUZZ_RUNS} bodies)`,
    async () => {
      const outcomes = new FuzzOutcomes();
      await fc.assert(
        fc.asyncProperty(anyBody, async ({ raw, body }) => {
          await check(outcomes, 'PUT', `/department/${dept}/webhook/${existingId}`, raw, body, 200);
        }),
        { numRuns: FUZZ_RUNS },
      );
      outcomes.expectBothPaths();
      console.info(`webhook update fuzz: ${outcomes.summary()}`);
    },
    fuzzTimeout(),
  );
});
