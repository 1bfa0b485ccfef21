import { TokenService } from '@pollarix/auth';
import type { Database } from '@pollarix/database';
import type { RedisConnection } from '@pollarix/redis';
import { CachedTokenVerifier } from './token-verifier';

const principal = (tokenId: string) => ({ tokenId, departments: ['dept_a'], scopes: ['webhooks:read'] }) as never;

describe('CachedTokenVerifier', () => {
  let verify: jest.SpyInstance;
  let findActive: jest.SpyInstance;
  let subject: CachedTokenVerifier;

  beforeEach(() => {
    verify = jest.spyOn(TokenService.prototype, 'verify').mockImplementation(async (secret) => principal(`tok_${secret}`));
    findActive = jest.spyOn(TokenService.prototype, 'findActive').mockImplementation(async (id) => principal(id));
    subject = new CachedTokenVerifier({ repos: {} } as Database, {} as RedisConnection);
  });

  afterEach(() => jest.restoreAllMocks());

  it('verifies a secret once, then answers from its cache', async () => {
    await subject.verify('s1');
    expect(await subject.verify('s1')).toMatchObject({ tokenId: 'tok_s1' });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('does not cache a secret that did not verify', async () => {
    verify.mockResolvedValue(null);
    await subject.verify('bad');
    await subject.verify('bad');
    expect(verify).toHaveBeenCalledTimes(2);
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
});
