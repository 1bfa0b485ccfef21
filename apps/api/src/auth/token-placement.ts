import { AppError } from '@pollarix/common';
import type { NextFunction, Request, Response } from 'express';

/** The parameter passport-http-bearer reads from the query string and the body besides the header. */
const TOKEN_PARAMETER = 'access_token';

/** Whether a request carries a token where it does not belong: in its query string or its JSON body. */
export function tokenOutsideHeader(req: Pick<Request, 'query' | 'body'>): boolean {
  const query: unknown = req.query;
  const body: unknown = req.body;
  const has = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, TOKEN_PARAMETER);
  return has(query) || has(body);
}

/**
 * Tokens come from the Authorization header only (SPEC §4): one in the URL ends up in proxy and server
 * logs, browser history and Referer headers. Every route refuses such a request with a 401 before any
 * strategy runs, whether the token is valid or not, and whatever shape the parameter has.
 */
export function refuseTokenOutsideHeader(req: Request, _res: Response, next: NextFunction): void {
  if (tokenOutsideHeader(req)) {
    next(
      AppError.unauthorized(
        `Tokens are accepted in the Authorization header only ("Authorization: Bearer plx_…"), never in the query string or the body (${TOKEN_PARAMETER})`,
      ),
    );
    return;
  }
  next();
}
