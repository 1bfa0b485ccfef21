import { Principal } from '@pollarix/auth';
import { AppError, ErrorCode } from '@pollarix/common';
import type { Request } from 'express';
import { timingSafeEqual } from 'node:crypto';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The CSRF rule for cookie sessions (the API's guard and the queue dashboard's middleware): an unsafe
 * method needs the session's token in X-CSRF-Token. Returns the error to raise, or null.
 */
export function csrfFailure(req: Request, principal: Principal): AppError | null {
  if (principal.via !== 'session' || SAFE_METHODS.has(req.method)) return null;
  const sent = req.headers['x-csrf-token'];
  if (typeof sent === 'string' && principal.csrf && sameSecret(sent, principal.csrf)) return null;
  return new AppError(ErrorCode.CsrfFailed, 'Missing or invalid X-CSRF-Token header for a cookie session');
}
