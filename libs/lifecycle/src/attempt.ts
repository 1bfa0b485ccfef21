import type { AttemptOutcome, DeliveryStatus, PendingJob } from '@pollarix/database';
import { applyRetryAfter, AttemptErrorClass, nextAttemptDelay, SendResult } from '@pollarix/delivery';
import type { CarriedDelivery } from '@pollarix/queue';

/** What a deliver job says it is: which delivery, which attempt over its whole life, in which chain. */
export interface AttemptJob {
  deliveryId: string;
  /** 1-based, over the delivery's whole life (every chain). */
  attempt: number;
  /** The delivery's attempt chain; absent on jobs queued before chains were counted (read as 0). */
  chain?: number;
  /** The delivery's facts the job carries (DeliverJob.carried); the next attempt's job carries them on. */
  carried?: CarriedDelivery;
}

/** Where a delivery stands in its attempts, as the attempt reads it. */
export interface ChainPosition {
  status: DeliveryStatus;
  /** Attempts made so far, over every chain. */
  attempts: number;
  /** `attempts` when the current chain began: the retry schedule restarts there. */
  chainStart: number;
  chain: number;
}

/** The delivery an attempt is about: its position and whose it is. */
export interface AttemptDelivery extends ChainPosition {
  id: string;
  webhookId: string;
  departmentId: string;
  createdAt: Date;
}

/**
 * A job sends only when it makes the delivery's next attempt in its current chain while the delivery is
 * pending; otherwise it is stale (done, cancelled, restarted since, or a duplicate of an attempt made).
 */
export function isStale(job: AttemptJob, delivery: ChainPosition): boolean {
  return delivery.status !== 'pending' || delivery.attempts + 1 !== job.attempt || delivery.chain !== (job.chain ?? 0);
}

/** The job's attempt counted within its chain (1 for the first attempt after a redeliver or recover). */
export function chainAttempt(job: AttemptJob, delivery: ChainPosition): number {
  return job.attempt - delivery.chainStart;
}

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

/** An attempt made, decided: what the log records, what it means, and the attempt that follows, if any. */
export interface SettledAttempt {
  outcome: AttemptOutcome;
  decision: Decision;
  next: NextAttempt | null;
}

/** The attempt queued after a retryable one: the same delivery and chain, carrying what its job carried. */
export type NextAttempt = PendingJob & { carried?: CarriedDelivery };

export interface SettleOptions {
  /** An error class the send itself cannot know (the webhook could not be decrypted). */
  errorOverride?: AttemptErrorClass | null;
  now?: number;
  random?: () => number;
}

/** Settles a sent attempt: the decision on the chain's schedule, the log entry, and the next job when retrying. */
export function settleAttempt(
  job: AttemptJob,
  delivery: AttemptDelivery,
  result: SendResult,
  schedule: readonly number[],
  { errorOverride = null, now = Date.now(), random = Math.random }: SettleOptions = {},
): SettledAttempt {
  const decision = decide(result, chainAttempt(job, delivery), schedule, random);
  const nextAttemptAt = decision.retryInMs === null ? null : new Date(now + decision.retryInMs);
  const outcome: AttemptOutcome = {
    deliveryId: delivery.id,
    webhookId: delivery.webhookId,
    attempt: job.attempt,
    requestedAt: new Date(now - result.durationMs),
    durationMs: result.durationMs,
    statusCode: result.statusCode,
    responseBody: result.responseBody,
    responseBodyTruncated: result.responseBodyTruncated,
    responseContentType: result.responseContentType,
    chain: delivery.chain,
    error: errorOverride ?? result.error ?? (result.ok ? null : ('http_status' satisfies AttemptErrorClass)),
    errorMessage: result.errorMessage,
    status: decision.status,
    nextAttemptAt,
  };
  const next: NextAttempt | null =
    nextAttemptAt === null
      ? null
      : {
          id: delivery.id,
          nextAttempt: job.attempt + 1,
          nextAttemptAt,
          chain: delivery.chain,
          webhookId: delivery.webhookId,
          departmentId: delivery.departmentId,
          ...(job.carried ? { carried: job.carried } : {}),
        };
  return { outcome, decision, next };
}
