import type { DeliveryStatus } from '@pollarix/database';
import { applyRetryAfter, nextAttemptDelay, SendResult } from '@pollarix/delivery';

export interface Decision {
  status: DeliveryStatus;
  /** Delay before the next attempt when status stays pending. */
  retryInMs: number | null;
  /** 410 Gone: the receiver asks us to stop for good. */
  gone: boolean;
}

/**
 * What an attempt's result means for its delivery (SPEC §7): 2xx succeeds; 410 fails it and disables
 * the webhook; anything else retries on the schedule (Retry-After stretching the wait) until exhausted.
 * `chainAttempt` counts the attempts of the current chain, this one included.
 */
export function decide(result: SendResult, chainAttempt: number, schedule: readonly number[], random: () => number = Math.random): Decision {
  if (result.ok) return { status: 'succeeded', retryInMs: null, gone: false };
  if (result.statusCode === 410) return { status: 'failed', retryInMs: null, gone: true };
  const delay = nextAttemptDelay(schedule, chainAttempt, random);
  if (delay === null) return { status: 'failed', retryInMs: null, gone: false };
  return { status: 'pending', retryInMs: applyRetryAfter(delay, result.retryAfterMs), gone: false };
}
