import { bearerSecret, cookieNames, credentialKey, sameSecret, sessionCookie } from './credentials';

describe('credentials', () => {
  describe('cookieNames', () => {
    it('are SPEC §4 names over HTTP and __Host- names over HTTPS', () => {
      expect(cookieNames({ secure: false })).toEqual({ session: 'pollarix_session', csrf: 'pollarix_csrf' });
      expect(cookieNames({ secure: true })).toEqual({ session: '__Host-pollarix_session', csrf: '__Host-pollarix_csrf' });
    });

    it('accept only the name of the scheme, and only a string value', () => {
      const cookies = { pollarix_session: 'plain', '__Host-pollarix_session': 'host' };
      expect(sessionCookie({ secure: false, cookies })).toBe('plain');
      expect(sessionCookie({ secure: true, cookies })).toBe('host');
      expect(sessionCookie({ secure: true, cookies: { pollarix_session: 'plain' } })).toBeUndefined();
      expect(sessionCookie({ secure: false, cookies: { pollarix_session: { a: 1 } } })).toBeUndefined();
      expect(sessionCookie({ secure: false, cookies: {} })).toBeUndefined();
    });
  });

  describe('bearerSecret', () => {
    it.each<[string | undefined, string | undefined]>([
      ['Bearer plx_a', 'plx_a'],
      ['bearer plx_a', 'plx_a'],
      ['Bearer  plx_a', undefined],
      ['Bearer plx_a extra', undefined],
      ['Bearer ', undefined],
      ['Basic dXNlcjpwYXNz', undefined],
      [undefined, undefined],
    ])('%p → %p (as passport-http-bearer reads it)', (authorization, expected) => {
      expect(bearerSecret({ headers: { authorization } })).toBe(expected);
    });
  });

  describe('credentialKey', () => {
    const req = (authorization: string | undefined, cookies: Record<string, string> = {}) => ({ headers: { authorization }, cookies, secure: false });

    it('names a bearer token, else a session, never by the secret itself', () => {
      expect(credentialKey(req('Bearer plx_secret'))).toMatch(/^tok:[\w-]{32}$/);
      expect(credentialKey(req('Bearer plx_secret'))).not.toContain('secret');
      expect(credentialKey(req(undefined, { pollarix_session: 'sid' }))).toMatch(/^ses:[\w-]{32}$/);
      expect(credentialKey(req(undefined))).toBeNull();
    });

    it('ignores the cookie when an Authorization header of another scheme is present (the strategies refuse it too)', () => {
      expect(credentialKey(req('Basic dXNlcjpwYXNz', { pollarix_session: 'sid' }))).toBeNull();
    });
  });

  describe('sameSecret', () => {
    it('is true only for the same string', () => {
      expect(sameSecret('abc', 'abc')).toBe(true);
      expect(sameSecret('abd', 'abc')).toBe(false);
      expect(sameSecret('abcd', 'abc')).toBe(false);
      expect(sameSecret('', 'abc')).toBe(false);
    });

    it('is false for anything that is not a string, and when there is no secret', () => {
      expect(sameSecret(['abc'], 'abc')).toBe(false);
      expect(sameSecret(undefined, 'abc')).toBe(false);
      expect(sameSecret('', '')).toBe(false);
      expect(sameSecret('abc', undefined)).toBe(false);
    });
  });
});
