import { isOperator, Principal } from '@pollarix/auth';
import { AppError } from '@pollarix/common';
import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { csrfFailure } from '../auth/csrf';

/**
 * The queue dashboard is an Express router, out of reach of Nest guards: this middleware authenticates
 * it with the same passport strategies as ApiAuthGuard (bearer token, then session cookie), applies the
 * same CSRF rule to cookie sessions, and admits only operator tokens (`admin` over every department,
 * `*`): the dashboard shows every department's jobs, so a department's own admin token gets 403.
 * Failures go to next(error), so the exception filter answers in the API's error format (401 carries
 * WWW-Authenticate).
 */
export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  const authenticate = passport.authenticate(['bearer', 'session'], { session: false }, (error: unknown, principal: Principal | false) => {
    if (error) return next(error);
    if (!principal) return next(AppError.unauthorized('Missing or invalid credentials'));
    const csrf = csrfFailure(req, principal);
    if (csrf) return next(csrf);
    if (!isOperator(principal)) return next(AppError.forbidden('The queue dashboard needs an admin token for every department (*)'));
    (req as Request & { user: Principal }).user = principal;
    next();
  }) as (req: Request, res: Response, next: NextFunction) => void;
  authenticate(req, res, next);
}
