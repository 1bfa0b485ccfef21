import { credentialKey } from '../auth/credentials';
import { chargesOf as chargesOfKey, isPublishRequest, publishedEvents } from './api-rate-limit.middleware';

/** chargesOf with the request's own credential key, as the middleware calls it. */
const chargesOf = (req: Parameters<typeof chargesOfKey>[0], known: (key: string) => boolean) => chargesOfKey(req, credentialKey(req), known);

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

  describe('chargesOf', () => {
    const request = (originalUrl: string, headers: Record<string, string> = {}, body: unknown = {}, cookies: Record<string, string> = {}, secure = false) =>
      ({ method: 'POST', originalUrl, headers, cookies, ip: '203.0.113.7', body, secure }) as Parameters<typeof chargesOf>[0];
    const address = { budget: 'api', key: 'ip:203.0.113.7', points: 1 };
    const bearer = { authorization: 'Bearer plx_abc' };
    const known = () => true;
    const unknown = () => false;

    it("spends a known token's publish budget in events on the publish routes, and one API request elsewhere", () => {
      const [publish, ...rest] = chargesOf(request('/internal/events/batch', bearer, { events: [{}, {}] }), known);
      expect(rest).toEqual([]);
      expect(publish).toMatchObject({ budget: 'publish', points: 2 });
      expect(publish.key).toMatch(/^tok:/);
      expect(chargesOf(request('/department/d/webhook/', bearer), known)).toEqual([{ budget: 'api', key: publish.key, points: 1 }]);
    });

    it('charges a token not known valid to its address first, then to its own budget (a spray stops at the address)', () => {
      const charges = chargesOf(request('/internal/events/batch', bearer, { events: [{}, {}] }), unknown);
      expect(charges).toEqual([address, { budget: 'publish', key: expect.stringMatching(/^tok:/), points: 2 }]);
      expect(chargesOf(request('/department/d/webhook/', bearer), unknown)).toEqual([address, { budget: 'api', key: charges[1].key, points: 1 }]);
    });

    it('asks about the credential by its key, never its secret', () => {
      const asked: string[] = [];
      chargesOf(request('/department/d/webhook/', bearer), (key) => asked.push(key) > 0);
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatch(/^tok:/);
      expect(asked[0]).not.toContain('plx_abc');
    });

    it('gives every random token a key of its own, and the same token the same key', () => {
      const key = (token: string) => chargesOf(request('/', { authorization: `Bearer ${token}` }), known)[0].key;
      expect(key('plx_a')).toBe(key('plx_a'));
      expect(key('plx_a')).not.toBe(key('plx_b'));
    });

    it('counts a session like a token, under the cookie name of the scheme', () => {
      const [session] = chargesOf(request('/internal/events', {}, {}, { pollarix_session: 's' }), known);
      expect(session).toMatchObject({ budget: 'publish', points: 1 });
      expect(session.key).toMatch(/^ses:/);
      expect(chargesOf(request('/internal/events', {}, {}, { '__Host-pollarix_session': 's' }, true), known)).toEqual([session]);
      // Over HTTPS only the __Host- name is a session; over HTTP only the plain one.
      expect(chargesOf(request('/internal/events', {}, {}, { pollarix_session: 's' }, true), known)).toEqual([address]);
      expect(chargesOf(request('/internal/events', {}, {}, { '__Host-pollarix_session': 's' }), known)).toEqual([address]);
    });

    it('counts a request without credentials per address, as one API request, even a publish request', () => {
      expect(chargesOf(request('/internal/events/batch', {}, { events: Array(500).fill({}) }), known)).toEqual([address]);
      expect(chargesOf(request('/department/d/webhook/', { authorization: 'Basic dXNlcjpwYXNz' }), known)).toEqual([address]);
      expect(chargesOf(request('/department/d/webhook/', { authorization: 'Bearer a b' }), known)).toEqual([address]);
    });
  });
});
