import { Injectable } from '@nestjs/common';
import { MicroBatcher } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { AttemptSubject, Database, DeliveryTarget, deliveryTargetAt, PendingJob } from '@pollarix/database';
import { AttemptErrorClass, SendResult, sendResult, signingHeaders, WebhookSender } from '@pollarix/delivery';
import { toEnvelope } from '@pollarix/events';
import { DeliveryLifecycle, isStale } from '@pollarix/lifecycle';
import { CARRIED_EVENT_BYTES, CarriedDelivery, DeliverJob } from '@pollarix/queue';
import { WorkerMetrics } from '../ops/worker-metrics';
import { AttemptSlots, ByteBudget, ThrottleReason } from './in-flight';
import { CachedTarget, WebhookTargets } from './webhook-targets';

export type AttemptResult =
  /** The job no longer matches the delivery (done, cancelled, restarted, or a duplicate of an attempt already made). */
  | { kind: 'stale' }
  /** The webhook is gone or inactive: the delivery is now cancelled. */
  | { kind: 'cancelled' }
  /** No slot for its webhook or department here, or no room for its body: try again later, no attempt counted. */
  | { kind: 'throttled'; reason: ThrottleReason }
  /** Sent and logged; `next` is the attempt that was queued after it, if any. */
  | { kind: 'attempted'; next: PendingJob | null };

/** Request bodies in flight per worker: with WORKER_NODE_FLAGS' heap, room for them and everything else. */
const BODY_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** The envelope around an event's data (id, type, timestamp, department), counted with it. */
const ENVELOPE_BYTES = 512;

/** What a retry's job carries, from a delivery read from PostgreSQL (when its event is small enough). */
function carriedFacts(delivery: AttemptSubject): CarriedDelivery | undefined {
  const { event } = delivery;
  if (event.data === null || event.dataBytes > CARRIED_EVENT_BYTES) return undefined;
  return {
    chainStart: delivery.chainStart,
    createdAt: delivery.createdAt.toISOString(),
    event: { id: event.id, type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data },
  };
}

/**
 * The delivery as its job describes it, with no read of PostgreSQL: taken to be where the job says (the
 * log write moves it only if it is, see recordOutcomes). Undefined when the delivery row must be read: a
 * job without the facts (older, swept, recovered, a large event), a webhook deleted or inactive (the
 * attempt then cancels the delivery), or one written since the delivery was created (a deactivate and
 * re-activate cancelled what was pending then). Both times are PostgreSQL's, so no clock skew between
 * hosts enters the comparison.
 */
function fromJob(job: DeliverJob, webhook: CachedTarget | null | undefined): AttemptSubject | undefined {
  const { carried, webhookId, departmentId } = job;
  if (carried === undefined || webhookId === undefined || departmentId === undefined) return undefined;
  const createdAt = new Date(carried.createdAt);
  if (!webhook || !webhook.isActive || webhook.updatedAt >= createdAt) return undefined;
  return {
    id: job.deliveryId,
    webhookId,
    departmentId,
    status: 'pending',
    attempts: job.attempt - 1,
    chainStart: carried.chainStart,
    chain: job.chain ?? 0,
    createdAt,
    // dataBytes is read only for data left in PostgreSQL; this data is at hand.
    event: { ...carried.event, departmentId, occurredAt: new Date(carried.event.timestamp), dataBytes: 0 },
  };
}

/** The slot an attempt holds while its request is in flight. */
interface Slot {
  departmentId: string;
  webhookId: string;
}

/** One delivery attempt, from the delivery's current state to its logged outcome (SPEC §7). */
@Injectable()
export class DeliveryService {
  private readonly slots: AttemptSlots;
  private readonly bodies = new ByteBudget(BODY_BYTES_IN_FLIGHT);
  /**
   * Attempts that must read their deliveries (see fromJob) read them, with their events, together: one
   * query per batch, one batch at a time (as the attempt log); their webhooks come from the cache. A batch that fails is read again id by id, so a
   * row that breaks the query fails its own attempt only.
   */
  private readonly loader = new MicroBatcher((ids: string[]) => this.load(ids), {
    maxBatch: 200,
    maxInFlight: 1,
    onItemFailure: (id, error) => this.metrics.recordItemFailure('load', `Could not load delivery ${id} for its attempt`, error),
  });

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly sender: WebhookSender,
    private readonly lifecycle: DeliveryLifecycle,
    private readonly metrics: WorkerMetrics,
    private readonly targets: WebhookTargets,
  ) {
    this.slots = new AttemptSlots({ perWebhook: config.webhookMaxInFlight, perDepartment: config.departmentMaxInFlight });
  }

  async attempt(job: DeliverJob): Promise<AttemptResult> {
    // The slot first, from what the job says: a throttled job reads nothing from the database.
    let slot: Slot | undefined;
    if (job.webhookId !== undefined && job.departmentId !== undefined) {
      const refused = this.slots.tryAcquire(job.departmentId, job.webhookId);
      if (refused !== null) return this.throttled(refused);
      slot = { departmentId: job.departmentId, webhookId: job.webhookId };
    }
    let result: SendResult;
    let delivery: AttemptSubject | undefined;
    let errorOverride: AttemptErrorClass | null = null;
    try {
      let webhook = job.webhookId === undefined ? undefined : await this.webhook(job.webhookId);
      delivery = fromJob(job, webhook);
      this.metrics.attemptSources.inc({ source: delivery ? 'job' : 'database' });
      if (delivery === undefined) {
        delivery = await this.loader.add(job.deliveryId);
        if (delivery === undefined || isStale(job, delivery)) return { kind: 'stale' };
        if (slot === undefined) {
          // A job queued before jobs named their webhook: its slot once the delivery says whose it is.
          const refused = this.slots.tryAcquire(delivery.departmentId, delivery.webhookId);
          if (refused !== null) return this.throttled(refused);
          slot = { departmentId: delivery.departmentId, webhookId: delivery.webhookId };
        }
      }
      // A job that did not name its webhook: the cache, once the delivery says whose it is.
      webhook ??= await this.webhook(delivery.webhookId);
      // An inactive webhook's deliveries are cancelled, whether or not its secrets can be opened.
      if (webhook === null || !webhook.isActive) {
        await this.lifecycle.cancel(delivery.id);
        this.metrics.deliveries.inc({ status: 'cancelled' });
        return { kind: 'cancelled' };
      }
      if (webhook.target === null) {
        this.metrics.recordItemFailure('decrypt', `Delivery ${delivery.id}: webhook ${delivery.webhookId}'s secrets or headers cannot be decrypted`, webhook.error);
        result = sendResult({ errorMessage: "The webhook's signing secret or headers cannot be decrypted with the configured keys" });
        errorOverride = 'undecryptable';
      } else {
        const sent = await this.send(delivery, deliveryTargetAt(webhook.target, new Date()));
        if (sent === 'memory') return this.throttled('memory');
        if (sent === 'gone') return { kind: 'stale' };
        result = sent;
      }
    } finally {
      if (slot !== undefined) this.slots.release(slot.departmentId, slot.webhookId);
    }
    return this.finish(job, delivery, result, errorOverride);
  }

  /** The webhook as attempts send with it (the worker's cache), or null once deleted. */
  private async webhook(id: string): Promise<CachedTarget | null> {
    return (await this.targets.get([id])).get(id) ?? null;
  }

  /**
   * Builds the body within the worker's byte budget (a large event's data is read only once there is
   * room for it) and sends it. 'memory' when there is no room now; 'gone' when the event was purged.
   */
  private async send(delivery: AttemptSubject, target: DeliveryTarget): Promise<SendResult | 'memory' | 'gone'> {
    const inline = delivery.event.data === null ? null : JSON.stringify(toEnvelope({ ...delivery.event, data: delivery.event.data }));
    const bytes = inline?.length ?? delivery.event.dataBytes + ENVELOPE_BYTES;
    if (!this.bodies.tryAcquire(bytes)) return 'memory';
    try {
      let body = inline;
      if (body === null) {
        const data = await this.db.repos.events.findData(delivery.event.id);
        if (data === null) return 'gone';
        body = JSON.stringify(toEnvelope({ ...delivery.event, data }));
      }
      const { webhook, secrets } = target;
      return await this.sender.send({
        url: webhook.url,
        body,
        headers: { ...webhook.headers, ...signingHeaders(secrets, delivery.id, body, new Date()) },
        timeoutMs: this.config.deliveryTimeoutMs,
      });
    } finally {
      this.bodies.release(bytes);
    }
  }

  /**
   * The attempt's outcome counted, then the lifecycle logs it (and waits for it), acts on the webhook and
   * queues what follows, carrying the delivery's facts on. 'stale' when the log write found the delivery
   * elsewhere (a job that took no read of it).
   */
  private async finish(job: DeliverJob, delivery: AttemptSubject, result: SendResult, errorOverride: AttemptErrorClass | null): Promise<AttemptResult> {
    const settled = this.lifecycle.settle({ ...job, carried: job.carried ?? carriedFacts(delivery) }, delivery, result, errorOverride);
    const { outcome, decision } = settled;
    this.metrics.recordAttempt({
      ...outcome,
      departmentId: delivery.departmentId,
      outcome: decision.gone ? 'gone' : decision.status === 'succeeded' ? 'success' : decision.status === 'failed' ? 'failed' : 'retry',
      blockedAddress: result.blockedAddress,
      blockedReason: result.blockedReason,
    });
    if (result.droppedHeaders !== undefined) this.metrics.noticeDroppedHeaders(delivery.departmentId, delivery.webhookId, result.droppedHeaders);
    if (!(await this.lifecycle.recordAttempt(settled, delivery))) return { kind: 'stale' };
    return { kind: 'attempted', next: settled.next };
  }

  private throttled(reason: ThrottleReason): AttemptResult {
    this.metrics.throttled.inc({ reason });
    return { kind: 'throttled', reason };
  }

  /** Deliveries with their events, for a batch. */
  private async load(deliveryIds: string[]): Promise<(AttemptSubject | undefined)[]> {
    const loaded = new Map((await this.db.repos.deliveries.findForAttempts(deliveryIds)).map((d) => [d.id, d]));
    return deliveryIds.map((id) => loaded.get(id));
  }
}
