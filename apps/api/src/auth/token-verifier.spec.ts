import { TokenService } from '@pollarix/auth';
import type { Database } from '@pollarix/database';
import type { RedisConnection } from '@pollarix/redis';
import { RecentCredentials } from './recent-credentials';
import { CachedTokenVerifier, FAILED_LOOKUP_TTL_MS } from './token-verifier';

const principal = (tokenId: string) => ({ tokenId, departments: ['dept_a'], scopes: ['webhooks:read'] }) as never;

describe('CachedTokenVerifier', () => {
  let verify: jest.SpyInstance;
  let findActive: jest.SpyInstance;
  let subject: CachedTokenVerifier;
  let recent: RecentCredentials;

  beforeEach(() => {
    verify = jest.spyOn(TokenService.prototype, 'verify').mockImplementation(async (secret) => principal(`tok_${secret}`));
    findActive = jest.spyOn(TokenService.prototype, 'findActive').mockImplementation(async (id) => principal(id));
    recent = new RecentCredentials();
    subject = new CachedTokenVerifier({ repos: {} } as Database, {} as RedisConnection, recent);
  });

  afterEach(() => jest.restoreAllMocks());

  it('verifies a secret once, then answers from its cache', async () => {
    await subject.verify('s1');
    expect(await subject.verify('s1')).toMatchObject({ tokenId: 'tok_s1' });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('remembers a secret that did not verify for a while (FAILED_LOOKUP_TTL_MS): a repeated bad token costs one lookup', async () => {
    expect(FAILED_LOOKUP_TTL_MS).toBeGreaterThan(0);
    verify.mockResolvedValue(null);
    expect(await subject.verify('bad')).toBeNull();
    expect(await subject.verify('bad')).toBeNull();
    expect(verify).toHaveBeenCalledTimes(1);
    await subject.verify('other');
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('remembers a token id that was not active (a session of a revoked token)', async () => {
    findActive.mockResolvedValue(null);
    expect(await subject.findActive('tok_gone')).toBeNull();
    expect(await subject.findActive('tok_gone')).toBeNull();
    expect(findActive).toHaveBeenCalledTimes(1);
  });

  it('evicts a revoked token from both caches, and only that token', async () => {
    await subject.verify('s1');
    await subject.verify('s2');
    await subject.findActive('tok_s1');
    subject.evict('tok_s1');
    await subject.verify('s1');
    await subject.verify('s2');
    await subject.findActive('tok_s1');
    expect(verify).toHaveBeenCalledTimes(3); // s1 twice, s2 once
    expect(findActive).toHaveBeenCalledTimes(2);
  });

  it("forgets a revoked token's recent credentials, and only those", () => {
    recent.remember('tok:a', 'tok_1');
    recent.remember('ses:b', 'tok_1');
    recent.remember('tok:c', 'tok_2');
    subject.evict('tok_1');
    expect([recent.has('tok:a'), recent.has('ses:b'), recent.has('tok:c')]).toEqual([false, false, true]);
  });
});
