import { AppError, ErrorCode } from '@pollarix/common';
import type { RedisConnection } from '@pollarix/redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface WindowLimiterOptions {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
  /** What a point is, for the 429's message ('requests' by default). */
  unit?: string;
}

export interface LimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/**
 * A fixed-window limit shared by every API process through Redis; should Redis fail, an in-process
 * limiter of the same size takes over (per process) rather than letting the API go unlimited or down.
 */
export class WindowLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(
    redis: RedisConnection,
    private readonly options: WindowLimiterOptions,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: options.keyPrefix,
      points: options.points,
      duration: options.durationSeconds,
      insuranceLimiter: new RateLimiterMemory({ points: options.points, duration: options.durationSeconds }),
    });
  }

  /** Counts `points` (one request by default); the state to report, or an AppError(rate_limited) when the limit is spent. */
  async consume(key: string, points = 1): Promise<LimitState> {
    try {
      return this.state(await this.limiter.consume(key, points));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const state = this.state(rejection);
      throw new AppError(
        ErrorCode.RateLimited,
        `Rate limit of ${this.options.points} ${this.options.unit ?? 'requests'} per ${this.options.durationSeconds} s exceeded; retry in ${state.resetSeconds} s`,
        {
          ...limitHeaders(state),
          'Retry-After': String(state.resetSeconds),
        },
      );
    }
  }

  private state(res: RateLimiterRes): LimitState {
    return {
      limit: this.options.points,
      remaining: Math.max(0, res.remainingPoints),
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    };
  }
}

export function limitHeaders(state: LimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
  };
}
