import { budgetOf, isPublishRequest, publishedEvents } from './api-rate-limit.middleware';

describe('the publish limit', () => {
  it.each([
    ['POST', '/internal/events', true],
    ['POST', '/internal/events/batch', true],
    // Express routes ignore case and a trailing slash: so does the limit, or a producer could pick its budget.
    ['POST', '/Internal/Events/', true],
    ['POST', '/internal/events/batch?x=1', true],
    ['GET', '/internal/events', false],
    ['POST', '/internal/events/other', false],
    ['POST', '/department/d/webhook/', false],
  ])('%s %s counts against it: %s', (method, originalUrl, expected) => {
    expect(isPublishRequest({ method, originalUrl })).toBe(expected);
  });

  it('counts a batch by its events and anything else as one', () => {
    expect(publishedEvents({ events: [{}, {}, {}] })).toBe(3);
    expect(publishedEvents({ events: [] })).toBe(1);
    expect(publishedEvents({ type: 'SURVEY_COMPLETED' })).toBe(1);
    expect(publishedEvents({ events: 'many' })).toBe(1);
    expect(publishedEvents(undefined)).toBe(1);
    expect(publishedEvents(null)).toBe(1);
  });

  describe('budgetOf', () => {
    const request = (originalUrl: string, headers: Record<string, string> = {}, body: unknown = {}, cookies: Record<string, string> = {}) =>
      ({ method: 'POST', originalUrl, headers, cookies, ip: '203.0.113.7', body }) as Parameters<typeof budgetOf>[0];

    it("spends a token's publish budget in events on the publish routes, and one API request elsewhere", () => {
      const bearer = { authorization: 'Bearer plx_abc' };
      const publish = budgetOf(request('/internal/events/batch', bearer, { events: [{}, {}] }));
      expect(publish).toMatchObject({ budget: 'publish', points: 2 });
      expect(publish.key).toMatch(/^tok:/);
      expect(budgetOf(request('/department/d/webhook/', bearer))).toEqual({ budget: 'api', key: publish.key, points: 1 });
    });

    it('counts a session like a token', () => {
      const session = budgetOf(request('/internal/events', {}, {}, { pollarix_session: 's' }));
      expect(session).toMatchObject({ budget: 'publish', points: 1 });
      expect(session.key).toMatch(/^ses:/);
    });

    it('counts a publish request without credentials per address, as one API request', () => {
      expect(budgetOf(request('/internal/events/batch', {}, { events: Array(500).fill({}) }))).toEqual({ budget: 'api', key: 'ip:203.0.113.7', points: 1 });
    });
  });
});
