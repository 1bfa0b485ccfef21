import { Injectable, NestMiddleware } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import type { NextFunction, Request, Response } from 'express';
import { credentialKey } from '../auth/credentials';
import { isProbePath } from '../metrics/route-label';
import { limitHeaders, WindowLimiter } from './limiter';

/** The publish routes (Express routes ignore case and a trailing slash, and so does this). */
const PUBLISH_PATHS = new Set(['/internal/events', '/internal/events/batch']);

export function isPublishRequest(req: Pick<Request, 'method' | 'originalUrl'>): boolean {
  const path = req.originalUrl.split('?')[0].replace(/\/+$/, '').toLowerCase();
  return req.method === 'POST' && PUBLISH_PATHS.has(path);
}

/** Events a publish request carries (a batch's length; 1 for a single event or a body that is neither). */
export function publishedEvents(body: unknown): number {
  const events = (body as { events?: unknown } | undefined)?.events;
  return Array.isArray(events) ? Math.max(1, events.length) : 1;
}

const IP_KEY = 'ip:';

/** Whose budget a request spends: its bearer token's, else its session's (credentialKey), else its address's. */
function clientKey(req: Pick<Request, 'headers' | 'cookies' | 'ip' | 'secure'>): string {
  return credentialKey(req) ?? `${IP_KEY}${req.ip ?? 'unknown'}`;
}

/**
 * What a request spends: a publish request with credentials, its events from the publish budget; any
 * other request, one from the API budget. A publish request without credentials counts per address like
 * every other request, so a refused spray never gets a producer's allowance.
 */
export function budgetOf(req: Pick<Request, 'method' | 'originalUrl' | 'headers' | 'cookies' | 'ip' | 'body' | 'secure'>): {
  budget: 'api' | 'publish';
  key: string;
  points: number;
} {
  const key = clientKey(req);
  if (isPublishRequest(req) && !key.startsWith(IP_KEY)) return { budget: 'publish', key, points: publishedEvents(req.body) };
  return { budget: 'api', key, points: 1 };
}

/**
 * RATE_LIMIT_PER_MINUTE per credential (bearer token or session), else per client IP, across all API
 * processes. The publish routes count apart, in events: RATE_LIMIT_PUBLISH_PER_MINUTE per credential
 * (a request without credentials counts per IP under RATE_LIMIT_PER_MINUTE, as any other),
 * so that a producer is not limited like a customer (and its publishing does not spend the customer
 * API's budget of the same token). Every limited response carries RateLimit-* headers; over a limit →
 * 429 with Retry-After.
 */
@Injectable()
export class ApiRateLimitMiddleware implements NestMiddleware {
  private readonly limiter: WindowLimiter;
  private readonly publishLimiter: WindowLimiter;

  constructor(@InjectRedis() redis: RedisConnection, config: AppConfig) {
    this.limiter = new WindowLimiter(redis, { keyPrefix: 'pollarix:rl:api', points: config.rateLimitPerMinute, durationSeconds: 60 });
    this.publishLimiter = new WindowLimiter(redis, {
      keyPrefix: 'pollarix:rl:publish',
      points: config.rateLimitPublishPerMinute,
      durationSeconds: 60,
      unit: 'events',
    });
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (isProbePath(req.originalUrl)) return next(); // probes and scrapes are never limited
    const { budget, key, points } = budgetOf(req);
    (budget === 'publish' ? this.publishLimiter : this.limiter).consume(key, points).then(
      (state) => {
        for (const [name, value] of Object.entries(limitHeaders(state))) res.setHeader(name, value);
        next();
      },
      (error: unknown) => next(error),
    );
  }
}
