import { call, openSession as open, startApi, TestApi, uniqueDepartment } from '../support/api-harness';

/** Issue 14: GET /auth/session tells a front end what its credential reaches (the console's department switcher, read-only mode). */
describe('GET /auth/session', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  /** A session cookie for a token, as the console opens one. */
  const openSession = async (token: string) => (await open(api.baseUrl, token)).cookie;

  it('answers the departments and scopes of a bearer token', async () => {
    const [a, b] = [uniqueDepartment(), uniqueDepartment()];
    const token = await api.token([a, b], ['webhooks:read']);
    const res = await call(api.baseUrl, 'GET', '/auth/session', { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ departments: [a, b], scopes: ['webhooks:read'], via: 'bearer' });
  });

  it("answers a session's, from the cookie alone (a GET needs no CSRF header)", async () => {
    const dept = uniqueDepartment();
    const cookie = await openSession(await api.token([dept]));
    const res = await call(api.baseUrl, 'GET', '/auth/session', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ departments: [dept], scopes: ['webhooks:read', 'webhooks:write'], via: 'session' });
  });

  it('refuses no credential, a bad token and an ended session with 401 in the error format', async () => {
    const dept = uniqueDepartment();
    const token = await api.token([dept]);
    const cookie = await openSession(token);
    const csrf = /pollarix_csrf=([^;]+)/.exec(cookie)![1];
    expect((await call(api.baseUrl, 'DELETE', '/auth/session', { headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(204);
    for (const options of [{}, { token: 'plx_not_a_token' }, { headers: { cookie } }]) {
      const res = await call(api.baseUrl, 'GET', '/auth/session', options);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ status: 401, detail: [{ msg: expect.any(String), type: 'unauthorized' }] });
    }
    // The token itself still works: ending the session changed nothing else.
    expect((await call(api.baseUrl, 'GET', '/auth/session', { token })).body.departments).toEqual([dept]);
  });

  it('is in the OpenAPI document', async () => {
    const res = await call(api.baseUrl, 'GET', '/docs-json');
    expect(Object.keys(res.body.paths['/auth/session'])).toEqual(expect.arrayContaining(['get', 'post', 'delete']));
  });
});
