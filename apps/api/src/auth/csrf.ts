import { Principal } from '@pollarix/auth';
import { AppError, ErrorCode } from '@pollarix/common';
import type { Request } from 'express';
import { sameSecret } from './credentials';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfError(): AppError {
  return new AppError(ErrorCode.CsrfFailed, 'Missing or invalid X-CSRF-Token header for a cookie session');
}

/**
 * The CSRF rule for cookie sessions (the API's guard and the queue dashboard's middleware): an unsafe
 * method needs the session's token in X-CSRF-Token. Returns the error to raise, or null.
 */
export function csrfFailure(req: Request, principal: Principal): AppError | null {
  if (principal.via !== 'session' || SAFE_METHODS.has(req.method)) return null;
  return sameSecret(req.headers['x-csrf-token'], principal.csrf) ? null : csrfError();
}
