import { randomBytes } from 'node:crypto';
import { SessionStore } from '../../apps/api/src/auth/session.store';
import { call, JsonResponse, startApi, TestApi, uniqueAddress, uniqueDepartment } from '../support/api-harness';

/**
 * Issue 13, reproduction 2: a spray of random well-formed tokens from one address. Each failed token
 * used to open its own bucket and cost a PostgreSQL lookup (700 × 401, no 429). Requests whose
 * credentials are not known valid now spend their address's budget first, before any database work.
 */

const LIMIT = 30;
const SPRAY = 700;
const CONCURRENCY = 25;

const randomToken = () => `plx_${randomBytes(32).toString('base64url')}`;
const listPath = (dept: string) => `/department/${dept}/webhook/`;

describe('a spray of random tokens from one address', () => {
  let api: TestApi;
  let lookups: jest.SpyInstance;
  let sessionReads: jest.SpyInstance;

  beforeAll(async () => {
    api = await startApi({ TRUST_PROXY: 'true', RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(() => api.close());
  beforeEach(() => {
    // Every PostgreSQL token lookup by secret goes through this repository method.
    lookups = jest.spyOn(api.db.repos.tokens, 'findActiveByHash');
    // A session cookie never reaches a token lookup: SessionCookieStrategy reads its session in Redis first.
    sessionReads = jest.spyOn(api.app.get(SessionStore), 'find');
  });
  afterEach(() => {
    lookups.mockRestore();
    sessionReads.mockRestore();
  });

  const from = (address: string, token: string, path: string) => call(api.baseUrl, 'GET', path, { token, headers: { 'x-forwarded-for': address } });

  it(`is limited by address once RATE_LIMIT_PER_MINUTE is spent, with at most that many token lookups; another department's token from another address keeps working`, async () => {
    const spray = uniqueAddress();
    const dept = uniqueDepartment('victim');
    const other = { dept: uniqueDepartment('other'), address: uniqueAddress(), token: '' };
    other.token = await api.token([other.dept]);

    const statuses = new Map<number, number>();
    let limited: JsonResponse | undefined;
    const otherStatuses: number[] = [];
    for (let sent = 0, batch = 0; sent < SPRAY; sent += CONCURRENCY, batch++) {
      const responses = await Promise.all(Array.from({ length: Math.min(CONCURRENCY, SPRAY - sent) }, () => from(spray, randomToken(), listPath(dept))));
      for (const res of responses) {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 429) limited ??= res;
      }
      // Meanwhile the other department, from its own address: a few reads, within its own budget.
      if (batch % 4 === 0) otherStatuses.push((await from(other.address, other.token, listPath(other.dept))).status);
    }

    expect(Object.fromEntries(statuses)).toEqual({ 401: LIMIT, 429: SPRAY - LIMIT });
    expect(lookups).toHaveBeenCalledTimes(LIMIT + 1); // the spray's LIMIT, and the other token's first request
    expect(limited!.body).toEqual({ status: 429, detail: [{ msg: expect.stringContaining(`${LIMIT} requests per 60 s`), type: 'rate_limited' }] });
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited!.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(limited!.headers.get('ratelimit-remaining')).toBe('0');

    expect(otherStatuses.length).toBeGreaterThan(5);
    expect(otherStatuses.every((s) => s === 200)).toBe(true);
    const theirs = await from(other.address, other.token, listPath(other.dept));
    expect(theirs.status).toBe(200);
    // Its headers are its token's budget, untouched by the spray.
    expect(Number(theirs.headers.get('ratelimit-remaining'))).toBe(LIMIT - otherStatuses.length - 1);

    // From the spent address, a token this process already knows valid still works (its own budget);
    // one it would have to look up waits like the spray, without a lookup.
    expect((await from(spray, other.token, listPath(other.dept))).status).toBe(200);
    const fresh = await api.token([other.dept]);
    lookups.mockClear();
    expect((await from(spray, fresh, listPath(other.dept))).status).toBe(429);
    expect(lookups).not.toHaveBeenCalled();
  });

  it('looks a repeated bad token up once', async () => {
    const address = uniqueAddress();
    const dept = uniqueDepartment();
    const bad = randomToken();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await from(address, bad, listPath(dept))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(lookups).toHaveBeenCalledTimes(1);

    // Beside it, another department's valid token is looked up once and then served from the cache.
    const other = uniqueDepartment('other');
    const good = await api.token([other]);
    for (let i = 0; i < 3; i++) expect((await from(uniqueAddress(), good, listPath(other))).status).toBe(200);
    expect(lookups).toHaveBeenCalledTimes(2);
  });

  it('cannot be spread over addresses by forging X-Forwarded-For: the proxy in front appends the address that counts', async () => {
    const address = uniqueAddress();
    const dept = uniqueDepartment('victim');
    const other = { dept: uniqueDepartment('other'), token: '' };
    other.token = await api.token([other.dept]);
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) {
      // What the client forged, then what the TLS-terminating proxy appended.
      statuses.push((await from(`${uniqueAddress()}, ${address}`, randomToken(), listPath(dept))).status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect((await from(uniqueAddress(), other.token, listPath(other.dept))).status).toBe(200);
  });

  // Each row with the work its requests cause past the limiter: a session read in Redis, a token lookup in PostgreSQL.
  it.each([
    [
      'random session cookies',
      (path: string) => ({ method: 'GET', path, headers: { cookie: `pollarix_session=${randomBytes(32).toString('base64url')}` } }),
      () => sessionReads,
    ],
    ['logins with random tokens', () => ({ method: 'POST', path: '/auth/session', body: { token: randomToken() } }), () => lookups],
  ])('%s are limited by address too', async (_label, request, work) => {
    const address = uniqueAddress();
    const dept = uniqueDepartment('victim');
    const other = uniqueDepartment('other');
    const otherToken = await api.token([other]);
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) {
      const { method, path, headers, body } = { headers: {}, body: undefined, ...request(listPath(dept)) };
      statuses.push((await call(api.baseUrl, method, path, { body, headers: { ...headers, 'x-forwarded-for': address } })).status);
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(5).fill(429)]);
    // The spy sees the requests' work (it is not another path's), and no more than the limiter let through.
    expect(work().mock.calls.length).toBeGreaterThan(0);
    expect(work().mock.calls.length).toBeLessThanOrEqual(LIMIT);
    expect((await from(uniqueAddress(), otherToken, listPath(other))).status).toBe(200);
  });

  it('answers requests without credentials per address, and probes never', async () => {
    const address = uniqueAddress();
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await call(api.baseUrl, 'GET', '/events/types', { headers: { 'x-forwarded-for': address } })).status);
    expect(statuses.slice(0, LIMIT).every((s) => s === 200)).toBe(true);
    expect(statuses[LIMIT]).toBe(429);
    expect((await call(api.baseUrl, 'GET', '/health/live', { headers: { 'x-forwarded-for': address } })).status).toBe(200);
    // Another address is not affected.
    expect((await call(api.baseUrl, 'GET', '/events/types', { headers: { 'x-forwarded-for': uniqueAddress() } })).status).toBe(200);
  });
});

describe('TRUST_PROXY as a number of hops (a CDN, then a load balancer)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi({ TRUST_PROXY: '2', RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(() => api.close());

  // The load balancer (the TCP peer, trusted) appended the CDN's address; the CDN (trusted) appended the client's.
  const through = (forged: string, client: string, cdn: string) =>
    call(api.baseUrl, 'GET', '/events/types', { headers: { 'x-forwarded-for': `${forged}, ${client}, ${cdn}` } });

  it("counts the address the outer trusted proxy appended: the client's, not the CDN's nor a forged one", async () => {
    const client = uniqueAddress();
    const cdn = uniqueAddress();
    const statuses: number[] = [];
    // A new forged entry on every request does not give the client a new budget.
    for (let i = 0; i <= LIMIT; i++) statuses.push((await through(uniqueAddress(), client, cdn)).status);
    expect(statuses.slice(0, LIMIT).every((s) => s === 200)).toBe(true);
    expect(statuses[LIMIT]).toBe(429);
    // Another client behind the same CDN edge keeps its own budget.
    expect((await through(uniqueAddress(), uniqueAddress(), cdn)).status).toBe(200);
  });
});
