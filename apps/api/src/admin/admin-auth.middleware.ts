import { Principal } from '@pollarix/auth';
import { AppError, ErrorCode } from '@pollarix/common';
import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { timingSafeEqual } from 'node:crypto';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The queue dashboard is an Express router, out of reach of Nest guards: this middleware authenticates
 * it with the same passport strategies as ApiAuthGuard (bearer token, then session cookie), applies the
 * same CSRF rule to cookie sessions, and admits only tokens with the `admin` scope. Failures go to
 * next(error), so the exception filter answers in the API's error format (401 carries WWW-Authenticate).
 */
export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  const authenticate = passport.authenticate(['bearer', 'session'], { session: false }, (error: unknown, principal: Principal | false) => {
    if (error) return next(error);
    if (!principal) return next(AppError.unauthorized('Missing or invalid credentials'));
    if (principal.via === 'session' && !SAFE_METHODS.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !principal.csrf || !sameSecret(sent, principal.csrf)) {
        return next(new AppError(ErrorCode.CsrfFailed, 'Missing or invalid X-CSRF-Token header for a cookie session'));
      }
    }
    if (!principal.scopes.includes('admin')) return next(AppError.forbidden('This token lacks the admin scope'));
    (req as Request & { user: Principal }).user = principal;
    next();
  });
  (authenticate as (req: Request, res: Response, next: NextFunction) => void)(req, res, next);
}
