import { createHash } from 'node:crypto';
import type { DefaultJobOptions, Queue } from 'bullmq';

/**
 * Queue names are a stored contract: jobs already in Redis carry them. Never rename a value.
 */
export enum QueueName {
  /** Fan-out jobs, each carrying up to FAN_OUT_JOB_EVENTS published events for the subscribed webhooks. */
  Events = 'events',
  /** One job per delivery attempt. */
  Deliveries = 'deliveries',
}

export enum JobName {
  FanOut = 'fan-out',
  Deliver = 'deliver',
}

export interface FanOutJob {
  /** Events to fan out together (from one publish call, or the sweeper). */
  eventIds: string[];
}

/** The payload of fan-out jobs queued before they carried several events; still accepted. */
export interface LegacyFanOutJob {
  eventId: string;
}

/** Events per fan-out job: a publish batch of 500 becomes a few jobs that workers take in parallel. */
export const FAN_OUT_JOB_EVENTS = 100;

export interface DeliverJob {
  deliveryId: string;
  /** The attempt this job makes (1-based, over the delivery's whole life, redeliveries included). */
  attempt: number;
  /**
   * The delivery's attempt chain (0, then one more at every redeliver/recover). A job of an earlier
   * chain is stale; absent on jobs queued before chains were counted (read as 0).
   */
  chain?: number;
  /** Whose slots the attempt takes, known before anything is loaded; absent on older jobs. */
  webhookId?: string;
  departmentId?: string;
  /**
   * What the attempt would otherwise read from PostgreSQL, carried by the jobs the publisher and the
   * worker queue for a small event; absent on older jobs, recovered and swept ones, and large events.
   */
  carried?: CarriedDelivery;
}

/** A delivery's immutable facts, as a deliver job carries them (JSON: dates as ISO text). */
export interface CarriedDelivery {
  /** Attempts made before the job's chain began (the retry schedule counts from there). */
  chainStart: number;
  /**
   * When the delivery was created, by PostgreSQL's clock (a webhook's failing streak starts at its earliest
   * failed delivery; a webhook written since then may have cancelled it).
   */
  createdAt: string;
  event: CarriedEvent;
}

export interface CarriedEvent {
  id: string;
  type: string;
  /** The event's occurredAt (the envelope's timestamp). */
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * Largest event data (as JSON text) a deliver job carries: every subscribed webhook's job holds a copy in
 * Redis, so larger events are read from PostgreSQL by the attempt, within the worker's byte budget.
 */
export const CARRIED_EVENT_BYTES = 8 * 1024;

/** Job payloads as a discriminated union: every job name has exactly one payload type. */
export type QueueJob = { name: JobName.FanOut; data: FanOutJob | LegacyFanOutJob } | { name: JobName.Deliver; data: DeliverJob };

/**
 * Hash-tagged prefix: every key of every queue lands in one Redis Cluster slot, which BullMQ's
 * multi-key scripts need.
 */
export const QUEUE_PREFIX = '{pollarix}';

/** Deterministic job ids make re-adding after a crash or by the sweeper a no-op when the job exists. */
export const fanOutJobId = (eventIds: string[]): string =>
  eventIds.length === 1 ? `fan-${eventIds[0]}` : `fan-${eventIds.length}-${createHash('sha256').update(eventIds.join('\n')).digest('hex').slice(0, 32)}`;

/** Fan-out jobs for these events, FAN_OUT_JOB_EVENTS at most per job, under deterministic ids. */
export function fanOutJobs(eventIds: string[]): { name: JobName.FanOut; data: FanOutJob; opts: { jobId: string } }[] {
  const jobs = [];
  for (let i = 0; i < eventIds.length; i += FAN_OUT_JOB_EVENTS) {
    const chunk = eventIds.slice(i, i + FAN_OUT_JOB_EVENTS);
    jobs.push({ name: JobName.FanOut as const, data: { eventIds: chunk }, opts: { jobId: fanOutJobId(chunk) } });
  }
  return jobs;
}
/**
 * A restarted chain's jobs have ids of their own: the cancelled chain's delayed job may still hold
 * `<id>-<attempt>`, and adding under an id that exists is a no-op in BullMQ. Chain 0 keeps the first form.
 */
export const deliverJobId = (deliveryId: string, attempt: number, chain = 0): string =>
  chain === 0 ? `${deliveryId}-${attempt}` : `${deliveryId}-${attempt}-c${chain}`;

export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  // Retries are ours (retry policy + delivery log), not BullMQ's: a job is one attempt.
  attempts: 1,
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 24 * 3600, count: 10_000 },
};

/** A delivery's next attempt, as the delivery repository returns it (PendingJob has this shape). */
export interface ScheduledAttempt {
  /** The delivery's id. */
  id: string;
  /** The attempt the job makes. */
  nextAttempt: number;
  /** When it is due; now when absent or past. */
  nextAttemptAt?: Date | null;
  /** The delivery's attempt chain. */
  chain: number;
  webhookId: string;
  departmentId: string;
  /** The delivery's facts, when the caller has them at hand (see DeliverJob.carried). */
  carried?: CarriedDelivery;
}

/** The deliver job of an attempt, under its deterministic id and with its delay. */
export function deliverJob(scheduled: ScheduledAttempt, now = Date.now()): { name: JobName.Deliver; data: DeliverJob; opts: { jobId: string; delay: number } } {
  return {
    name: JobName.Deliver,
    data: {
      deliveryId: scheduled.id,
      attempt: scheduled.nextAttempt,
      chain: scheduled.chain,
      webhookId: scheduled.webhookId,
      departmentId: scheduled.departmentId,
      ...(scheduled.carried ? { carried: scheduled.carried } : {}),
    },
    opts: { jobId: deliverJobId(scheduled.id, scheduled.nextAttempt, scheduled.chain), delay: Math.max(0, (scheduled.nextAttemptAt?.getTime() ?? now) - now) },
  };
}

/** Queues delivery attempts under their deterministic ids (an id already queued is left as it is). */
export async function addDeliverJobs(queue: Queue, attempts: ScheduledAttempt[]): Promise<void> {
  if (attempts.length === 0) return;
  const now = Date.now();
  await queue.addBulk(attempts.map((a) => deliverJob(a, now)));
}
