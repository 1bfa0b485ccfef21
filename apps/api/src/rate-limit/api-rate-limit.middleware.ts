import { Injectable, NestMiddleware } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import type { Principal } from '@pollarix/auth';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import type { NextFunction, Request, Response } from 'express';
import { credentialKey } from '../auth/credentials';
import { RecentCredentials } from '../auth/recent-credentials';
import { isProbePath } from '../metrics/route-label';
import { LimitState, limitHeaders, WindowLimiter } from './limiter';

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

interface Charge {
  budget: 'api' | 'publish';
  key: string;
  points: number;
}

type LimitedRequest = Pick<Request, 'method' | 'originalUrl' | 'headers' | 'cookies' | 'ip' | 'body' | 'secure'>;

/**
 * What a request spends, in order (the first refused answers 429, before any database work):
 * - a credential (bearer token or session) that authenticated in this process lately: its own budget
 *   alone, the publish budget in events on the publish routes, else one from the API budget;
 * - any other credential, which must still be looked up: one from its client address's API budget
 *   first, then its own as above. A spray of random tokens thus stops at the address's limit, and a
 *   token's own count stays exact across API processes;
 * - no credential: one from the client address's API budget (a publish request too).
 * `key` is the request's credentialKey; `known` says whether a key authenticated lately (RecentCredentials, no I/O).
 */
export function chargesOf(req: LimitedRequest, key: string | null, known: (key: string) => boolean): Charge[] {
  const address: Charge = { budget: 'api', key: `ip:${req.ip ?? 'unknown'}`, points: 1 };
  if (key === null) return [address];
  const own: Charge = isPublishRequest(req) ? { budget: 'publish', key, points: publishedEvents(req.body) } : { budget: 'api', key, points: 1 };
  return known(key) ? [own] : [address, own];
}

/**
 * RATE_LIMIT_PER_MINUTE per credential (bearer token or session), else per client address (req.ip,
 * which honours TRUST_PROXY), across all API processes; credentials not yet known valid also spend
 * their address's budget (chargesOf). The publish routes count apart, in events:
 * RATE_LIMIT_PUBLISH_PER_MINUTE per credential, so that a producer is not limited like a customer (and
 * its publishing does not spend the customer API's budget of the same token). Every limited response
 * carries the RateLimit-* headers of the last budget charged (the credential's, when there is one);
 * over a limit → 429 with Retry-After.
 */
@Injectable()
export class ApiRateLimitMiddleware implements NestMiddleware {
  private readonly limiters: Record<Charge['budget'], WindowLimiter>;

  constructor(
    @InjectRedis() redis: RedisConnection,
    config: AppConfig,
    private readonly recent: RecentCredentials,
  ) {
    this.limiters = {
      api: new WindowLimiter(redis, { keyPrefix: 'pollarix:rl:api', points: config.rateLimitPerMinute, durationSeconds: 60 }),
      publish: new WindowLimiter(redis, {
        keyPrefix: 'pollarix:rl:publish',
        points: config.rateLimitPublishPerMinute,
        durationSeconds: 60,
        unit: 'events',
      }),
    };
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (isProbePath(req.originalUrl)) return next(); // health probes are never limited (scrapes go to API_METRICS_PORT)
    const key = credentialKey(req);
    if (key !== null) {
      // Authentication happens after this middleware, in the guard (or the dashboard's middleware),
      // which leaves the principal on the request: a credential that had one is known from now on.
      res.once('finish', () => {
        const principal = req.user as Principal | undefined;
        if (principal?.tokenId) this.recent.remember(key, principal.tokenId);
      });
    }
    this.charge(chargesOf(req, key, (known) => this.recent.has(known))).then(
      (state) => {
        for (const [name, value] of Object.entries(limitHeaders(state))) res.setHeader(name, value);
        next();
      },
      (error: unknown) => next(error),
    );
  }

  /** Spends each charge in turn; the state of the last, or the 429 of the first refused. */
  private async charge(charges: Charge[]): Promise<LimitState> {
    let state: LimitState | undefined;
    for (const { budget, key, points } of charges) state = await this.limiters[budget].consume(key, points);
    return state!;
  }
}
