import { randomUUID } from 'node:crypto';
import express, { NextFunction, Request, Response } from 'express';
import { AppError, ErrorCode } from '../errors/app-error';

export const MAX_BODY_BYTES = 1024 * 1024;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Echoes a sane client X-Request-Id or makes one; every response carries it. It is also `req.id`,
 * the id pino-http logs the request under.
 */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  req.headers['x-request-id'] = id;
  (req as Request & { id?: unknown }).id = id;
  res.setHeader('X-Request-Id', id);
  next();
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A request that carries a body must say it is JSON (application/json or any +json type). */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (hasBody(req) && !req.is(['application/json', 'application/*+json'])) {
    next(new AppError(ErrorCode.UnsupportedMediaType, 'Request body must be application/json'));
    return;
  }
  next();
}

/** Strict JSON: only objects and arrays at the top level, at most 1 MiB. */
export const jsonBody = express.json({ limit: MAX_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'] });
