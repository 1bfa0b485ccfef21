import { newId } from '@pollarix/common';
import { AttemptOutcome, DeliveryStatus } from '@pollarix/database';
import { ATTEMPT_RECORDABLE_STATUSES } from '@pollarix/lifecycle';
import { call, openSession, startApi, TestApi } from '../support/api-harness';
import { createTenant } from '../support/tenants';

const HOUR = 3_600_000;
interface Bucket {
  start: string;
  deliveries: Record<DeliveryStatus, number>;
  attempts: number;
  latencyMs: { p50: number; p95: number } | null;
}

const statsPath = (dept: string, webhookId: string, query = '') => `/department/${dept}/webhook/${webhookId}/stats${query}`;

/**
 * GET …/{webhookId}/stats against the real API and PostgreSQL: deliveries back-dated into chosen hours
 * (SQL: the API cannot create them in the past), their attempts written by the worker's own statement
 * (recordOutcomes). Two departments side by side; each sees its own hours only.
 */
describe('webhook stats API', () => {
  let api: TestApi;
  /** The start of the current UTC hour when the suite began; the data sits in hours before it. */
  const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
  const hourAt = (hoursAgo: number) => new Date(thisHour - hoursAgo * HOUR);
  const iso = (hoursAgo: number) => hourAt(hoursAgo).toISOString();

  interface Tenant {
    dept: string;
    token: string;
    webhookId: string;
  }
  let a: Tenant;
  let b: Tenant;

  async function tenant(label: string): Promise<Tenant> {
    const { dept, token, webhookIds } = await createTenant(api, ['https://example.com/hook'], label);
    return { dept, token, webhookId: webhookIds[0] };
  }

  /** A pending delivery of a new event to `t`'s webhook, created at `createdAt`. */
  async function delivery(t: Tenant, createdAt: Date, status: DeliveryStatus = 'pending'): Promise<string> {
    const eventId = newId('evt');
    const id = newId('msg');
    await api.db.dataSource.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at, fanned_out_at, created_at) VALUES ($1, $2, 'SURVEY_COMPLETED', '{}', $3, $3, $3)`,
      [eventId, t.dept, createdAt],
    );
    await api.db.dataSource.query(
      `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, 'SURVEY_COMPLETED', $5::varchar, 0, CASE WHEN $5::varchar = 'pending' THEN $6::timestamptz END, $6)`,
      [id, eventId, t.webhookId, t.dept, status, createdAt],
    );
    return id;
  }

  /** Attempts of one delivery, in order, as the worker records them: each [requestedAt, durationMs, status after]. */
  async function attempts(t: Tenant, deliveryId: string, made: [Date, number, DeliveryStatus][]): Promise<void> {
    for (const [i, [requestedAt, durationMs, status]] of made.entries()) {
      const outcome: AttemptOutcome = {
        deliveryId,
        webhookId: t.webhookId,
        attempt: i + 1,
        requestedAt,
        durationMs,
        statusCode: status === 'succeeded' ? 204 : 500,
        responseBody: '',
        responseBodyTruncated: false,
        responseContentType: null,
        chain: 0,
        error: status === 'succeeded' ? null : 'http_status',
        errorMessage: null,
        status,
        nextAttemptAt: null,
      };
      const moved = await api.db.repos.deliveries.recordOutcomes([outcome], ATTEMPT_RECORDABLE_STATUSES);
      expect(moved.get(deliveryId)).toBe(status);
    }
  }

  const minutes = (at: Date, n: number) => new Date(at.getTime() + n * 60_000);

  beforeAll(async () => {
    api = await startApi();
    a = await tenant('stats-a');
    b = await tenant('stats-b');

    // Three hours ago: 4 deliveries, 5 attempts (10, 20, 30, 40, 200 ms): 3 succeeded, 1 failed.
    const three = hourAt(3);
    await attempts(a, await delivery(a, minutes(three, 1)), [[minutes(three, 2), 10, 'succeeded']]);
    await attempts(a, await delivery(a, minutes(three, 3)), [[minutes(three, 4), 20, 'succeeded']]);
    await attempts(a, await delivery(a, minutes(three, 5)), [
      [minutes(three, 6), 30, 'pending'],
      [minutes(three, 7), 40, 'succeeded'],
    ]);
    await attempts(a, await delivery(a, minutes(three, 8)), [[minutes(three, 9), 200, 'failed']]);
    // One hour ago: one still pending, one cancelled; and an attempt (7 ms) of a delivery created 30 hours
    // ago, outside the window: its attempt counts in its hour, the delivery does not.
    const one = hourAt(1);
    await delivery(a, minutes(one, 1));
    await delivery(a, minutes(one, 2), 'cancelled');
    await attempts(a, await delivery(a, hourAt(30)), [[minutes(one, 20), 7, 'succeeded']]);

    // The other department, in the same hours: 2 failed deliveries with slow attempts.
    for (const n of [1, 2]) await attempts(b, await delivery(b, minutes(three, n)), [[minutes(three, 10 + n), 5_000, 'failed']]);
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = (t: Tenant, query = '', token = t.token, webhookId = t.webhookId) => call(api.baseUrl, 'GET', statsPath(t.dept, webhookId, query), { token });
  const bucket = (body: { buckets: Bucket[] }, hoursAgo: number) => body.buckets.find((x) => x.start === iso(hoursAgo));

  it('counts deliveries by outcome and attempts with their latency per UTC hour, over the last 24 hours by default', async () => {
    const res = await get(a);
    expect(res.status).toBe(200);
    const until = new Date(res.body.until).getTime();
    expect(res.body).toMatchObject({ departmentId: a.dept, webhookId: a.webhookId, bucketSeconds: 3600 });
    expect(res.body.since).toBe(new Date(Math.floor((until - 24 * HOUR) / HOUR) * HOUR).toISOString());
    expect(res.body.buckets).toHaveLength(25);
    expect(bucket(res.body, 3)).toEqual({
      start: iso(3),
      deliveries: { succeeded: 3, failed: 1, pending: 0, cancelled: 0 },
      attempts: 5,
      latencyMs: { p50: 30, p95: 200 },
    });
    expect(bucket(res.body, 1)).toEqual({
      start: iso(1),
      deliveries: { succeeded: 0, failed: 0, pending: 1, cancelled: 1 },
      attempts: 1,
      latencyMs: { p50: 7, p95: 7 },
    });
  });

  it('has every hour, zeros where nothing happened', async () => {
    const res = await get(a);
    const starts = res.body.buckets.map((x: { start: string }) => new Date(x.start).getTime());
    expect(starts.slice(1).map((start: number, i: number) => start - starts[i])).toEqual(Array(24).fill(HOUR));
    expect(bucket(res.body, 2)).toEqual({ start: iso(2), deliveries: { succeeded: 0, failed: 0, pending: 0, cancelled: 0 }, attempts: 0, latencyMs: null });
  });

  it('starts at the hour containing since, up to 7 days back', async () => {
    const res = await get(a, `?since=${encodeURIComponent(minutes(hourAt(2), 30).toISOString())}`);
    expect(res.status).toBe(200);
    expect(res.body.since).toBe(iso(2));
    expect(bucket(res.body, 3)).toBeUndefined();
    expect(bucket(res.body, 1)?.attempts).toBe(1);

    const week = await get(a, `?since=${encodeURIComponent(new Date(Date.now() - 7 * 24 * HOUR + 60_000).toISOString())}`);
    expect(week.status).toBe(200);
    // The 30-hour-old delivery is in the week: created in its hour, attempted in another.
    expect(bucket(week.body, 30)?.deliveries).toEqual({ succeeded: 1, failed: 0, pending: 0, cancelled: 0 });
    expect(bucket(week.body, 30)?.attempts).toBe(0);
  });

  it("another department's webhook shows only its own hours", async () => {
    const res = await get(b);
    expect(res.status).toBe(200);
    expect(bucket(res.body, 3)).toEqual({
      start: iso(3),
      deliveries: { succeeded: 0, failed: 2, pending: 0, cancelled: 0 },
      attempts: 2,
      latencyMs: { p50: 5_000, p95: 5_000 },
    });
    expect(bucket(res.body, 1)?.attempts).toBe(0);
  });

  it('a read-only token may read them', async () => {
    const readOnly = await api.token([a.dept], ['webhooks:read']);
    const res = await get(a, '', readOnly);
    expect(res.status).toBe(200);
    expect(bucket(res.body, 3)?.attempts).toBe(5);
  });

  it("the console's session cookie reads them (a GET needs no CSRF header)", async () => {
    const { cookie } = await openSession(api.baseUrl, a.token);
    const res = await call(api.baseUrl, 'GET', statsPath(a.dept, a.webhookId), { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(bucket(res.body, 3)?.deliveries.succeeded).toBe(3);
  });

  it("is 403 to another department's token, 404 for another department's webhook or none, as the delivery log", async () => {
    const foreign = await get(a, '', b.token);
    expect(foreign.status).toBe(403);
    expect(foreign.body).toEqual({ status: 403, detail: [expect.objectContaining({ type: 'forbidden' })] });
    expect((await call(api.baseUrl, 'GET', `/department/${a.dept}/webhook/${a.webhookId}/deliveries`, { token: b.token })).status).toBe(403);

    for (const webhookId of [b.webhookId, 'wh_missing']) {
      const res = await get(a, '', a.token, webhookId);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ status: 404, detail: [expect.objectContaining({ type: 'not_found' })] });
      expect((await call(api.baseUrl, 'GET', `/department/${a.dept}/webhook/${webhookId}/deliveries`, { token: a.token })).status).toBe(404);
    }
    expect((await call(api.baseUrl, 'GET', statsPath(a.dept, a.webhookId))).status).toBe(401);
  });

  it.each([
    ['not a date', '?since=yesterday', 'since must be an ISO-8601 date-time'],
    ['more than 7 days ago', `?since=${encodeURIComponent(new Date(Date.now() - 7 * 24 * HOUR - 60_000).toISOString())}`, 'since must be at most 7 days ago'],
    ['in the future', `?since=${encodeURIComponent(new Date(Date.now() + HOUR).toISOString())}`, 'since must not be in the future'],
    ['repeated', `?since=${encodeURIComponent(iso(2))}&since=${encodeURIComponent(iso(3))}`, 'since must be given once'],
  ])('refuses a since %s: 422 naming since', async (_, query, msg) => {
    const res = await get(a, query);
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ status: 422, detail: [{ msg, type: 'value_error', loc: ['query', 'since'] }] });
  });

  it('is in the OpenAPI document', async () => {
    const res = await call(api.baseUrl, 'GET', '/docs-json');
    expect(res.status).toBe(200);
    const operation = res.body.paths['/department/{departmentId}/webhook/{webhookId}/stats'].get;
    expect(operation.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'since', in: 'query', required: false })]));
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '404', '422']));
  });
});
