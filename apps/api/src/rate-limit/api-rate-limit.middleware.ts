import { Injectable, NestMiddleware } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import type { NextFunction, Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { SESSION_COOKIE } from '../auth/strategies';
import { isProbePath } from '../metrics/route-label';
import { limitHeaders, WindowLimiter } from './limiter';

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 32);
}

/**
 * RATE_LIMIT_PER_MINUTE per credential (bearer token or session), else per client IP, across all API
 * processes. Every limited response carries RateLimit-* headers; over the limit → 429 with Retry-After.
 */
@Injectable()
export class ApiRateLimitMiddleware implements NestMiddleware {
  private readonly limiter: WindowLimiter;

  constructor(@InjectRedis() redis: RedisConnection, config: AppConfig) {
    this.limiter = new WindowLimiter(redis, { keyPrefix: 'pollarix:rl:api', points: config.rateLimitPerMinute, durationSeconds: 60 });
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (isProbePath(req.originalUrl)) return next(); // probes and scrapes are never limited
    this.limiter.consume(clientKey(req)).then(
      (state) => {
        for (const [name, value] of Object.entries(limitHeaders(state))) res.setHeader(name, value);
        next();
      },
      (error: unknown) => next(error),
    );
  }
}

function clientKey(req: Request): string {
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return `tok:${digest(authorization.slice(7).trim())}`;
  const session: unknown = req.cookies?.[SESSION_COOKIE];
  if (typeof session === 'string') return `ses:${digest(session)}`;
  return `ip:${req.ip ?? 'unknown'}`;
}
