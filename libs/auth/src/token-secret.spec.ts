import { generateTokenSecret, hashTokenSecret, looksLikeTokenSecret } from './token-secret';

describe('token secrets', () => {
  it('are prefixed, 32 random bytes, and distinct', () => {
    const a = generateTokenSecret();
    const b = generateTokenSecret();
    expect(a).toMatch(/^plx_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(looksLikeTokenSecret(a)).toBe(true);
  });

  it('hash deterministically to hex SHA-256', () => {
    const secret = generateTokenSecret();
    expect(hashTokenSecret(secret)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashTokenSecret(secret)).toBe(hashTokenSecret(secret));
    expect(hashTokenSecret(secret)).not.toBe(hashTokenSecret(generateTokenSecret()));
  });

  it.each(['', 'plx_', 'Bearer x', 'plx_' + 'a'.repeat(42), 'abc_' + 'a'.repeat(43)])('rejects %p', (value) => {
    expect(looksLikeTokenSecret(value)).toBe(false);
  });
});
