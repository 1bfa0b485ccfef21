import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Where a request's credentials are, decided once for the strategies, the session routes and the rate
 * limiter: the bearer token in the Authorization header (parsed as passport-http-bearer parses it), the
 * session in the cookie named for the request's scheme.
 */

export interface CookieNames {
  session: string;
  csrf: string;
}

/** Over plain HTTP, SPEC §4's names. */
const HTTP_COOKIES: CookieNames = { session: 'pollarix_session', csrf: 'pollarix_csrf' };
/**
 * Over HTTPS, the `__Host-` prefix: browsers accept such a cookie only with Secure, Path=/ and no Domain,
 * so neither a sibling subdomain nor a plain-HTTP page can plant or overwrite it.
 */
const HTTPS_COOKIES: CookieNames = { session: `__Host-${HTTP_COOKIES.session}`, csrf: `__Host-${HTTP_COOKIES.csrf}` };

/** The cookie names for this request: req.secure honours TRUST_PROXY and X-Forwarded-Proto. */
export function cookieNames(req: Pick<Request, 'secure'>): CookieNames {
  return req.secure ? HTTPS_COOKIES : HTTP_COOKIES;
}

/** The session cookie's value under the one name this request's scheme accepts. */
export function sessionCookie(req: Pick<Request, 'secure' | 'cookies'>): string | undefined {
  const value: unknown = (req.cookies as Record<string, unknown> | undefined)?.[cookieNames(req).session];
  return typeof value === 'string' ? value : undefined;
}

/** `Authorization: Bearer <token>` (scheme in any case, one space), as passport-http-bearer reads it. */
export function bearerSecret(req: Pick<Request, 'headers'>): string | undefined {
  const parts = req.headers.authorization?.split(' ');
  return parts?.length === 2 && /^Bearer$/i.test(parts[0]) && parts[1] ? parts[1] : undefined;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 32);
}

/** A credential's name for budgets and caches: never the secret itself. */
const bearerKey = (secret: string): string => `tok:${digest(secret)}`;
export const sessionKey = (sessionId: string): string => `ses:${digest(sessionId)}`;

/** The key of the credential a request presents (its bearer token, else its session), or null. */
export function credentialKey(req: Pick<Request, 'headers' | 'secure' | 'cookies'>): string | null {
  const secret = bearerSecret(req);
  if (secret !== undefined) return bearerKey(secret);
  // An Authorization header of another form is no credential, and the session strategy then refuses the cookie.
  if (req.headers.authorization !== undefined) return null;
  const session = sessionCookie(req);
  return session === undefined ? null : sessionKey(session);
}

/** Every comparison with a secret (CSRF tokens, session ids…): constant time, whatever the input. */
export function sameSecret(given: unknown, secret: string | undefined): boolean {
  if (typeof given !== 'string' || !secret) return false;
  // Comparing digests keeps the time independent of where the strings differ and of their lengths.
  const left = createHash('sha256').update(given).digest();
  const right = createHash('sha256').update(secret).digest();
  return timingSafeEqual(left, right);
}
