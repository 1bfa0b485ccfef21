import { call, startApi, TestApi } from '../support/api-harness';
import { departmentRows } from '../support/department-rows';
import { completedData, createTenant, Tenant } from '../support/tenants';

/**
 * Date-times ISO-8601 (or JavaScript) accepts but PostgreSQL or JavaScript cannot hold: a signed year
 * answered 500 on publish (timestamptz ends at 4713 BC), on the delivery log's since/until and on
 * recover (`+9999-…` is NaN to JavaScript); a day past its month's end was silently moved to the next
 * month. Each is now a 4xx naming the field, and nothing changes in either department.
 */
describe('date-times the service cannot hold: a 4xx naming the field, never a 500', () => {
  let api: TestApi;
  let a: Tenant;
  let b: Tenant;
  let publisher: string;

  beforeAll(async () => {
    api = await startApi();
    [a, b] = [await createTenant(api, ['https://example.com/a'], 'dates'), await createTenant(api, ['https://example.com/b'], 'dates')];
    publisher = await api.token([a.dept, b.dept], ['events:publish']);
  });
  afterAll(() => api.close());

  const rows = () => departmentRows(api.db.dataSource, [a.dept, b.dept]);
  const BAD = ['-010000-01-01T00:00:00.000Z', '+9999-01-01T00:00:00Z', '-9999-01-01T00:00:00Z', '2020-02-30T00:00:00Z', 'March 7, 2020'];

  it.each(BAD)('publishing an event with timestamp %p: 422 at timestamp, single and batch; nothing stored', async (timestamp) => {
    const before = await rows();
    const event = { type: 'SURVEY_COMPLETED', departmentId: a.dept, data: completedData, timestamp };
    const single = await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: event });
    expect([single.status, single.body.detail?.[0]?.loc]).toEqual([422, ['body', 'timestamp']]);
    const good = { type: 'SURVEY_COMPLETED', departmentId: b.dept, data: completedData };
    const batch = await call(api.baseUrl, 'POST', '/internal/events/batch', { token: publisher, body: { events: [good, event] } });
    expect([batch.status, batch.body.detail?.[0]?.loc]).toEqual([422, ['body', 'events', 1, 'timestamp']]);
    expect(await rows()).toEqual(before);
  });

  it.each(BAD.slice(0, 4))('the delivery log, recover and stats with %p: 4xx naming the field; nothing changes', async (value) => {
    const base = `/department/${a.dept}/webhook/${a.webhookIds[0]}`;
    const q = encodeURIComponent(value);
    for (const [path, field] of [
      [`${base}/deliveries?since=${q}`, 'since'],
      [`${base}/deliveries?until=${q}`, 'until'],
      [`${base}/stats?since=${q}`, 'since'],
    ]) {
      const res = await call(api.baseUrl, 'GET', path, { token: a.token });
      expect([res.status, res.body.detail?.[0]?.loc]).toEqual([expect.any(Number), ['query', field]]);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    const before = await rows();
    for (const body of [{ since: value }, { since: '2026-01-01T00:00:00Z', until: value }]) {
      const res = await call(api.baseUrl, 'POST', `${base}/recover`, { token: a.token, body });
      expect([res.status, res.body.detail?.[0]?.loc]).toEqual([400, ['body', Object.keys(body).at(-1)]]);
    }
    expect(await rows()).toEqual(before);
    // The other department's log still reads.
    expect((await call(api.baseUrl, 'GET', `/department/${b.dept}/webhook/${b.webhookIds[0]}/deliveries`, { token: b.token })).status).toBe(200);
  });
});
