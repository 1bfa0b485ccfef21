import { Injectable } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { Database, DeliveryEntity, DeliveryTarget, EventEntity } from '@pollarix/database';
import { signingHeaders, WebhookSender } from '@pollarix/delivery';
import { toEnvelope } from '@pollarix/events';
import type { DeliverJob } from '@pollarix/queue';
import { WorkerMetrics } from '../ops/worker-metrics';
import { AttemptLog } from './attempt-log';
import { InFlightLimiter } from './in-flight';
import { MicroBatcher } from './micro-batcher';
import { decide } from './outcome';
import { WebhookDisabler } from './webhook-disabler';

export type AttemptResult =
  /** The job no longer matches the delivery (done, cancelled, or a duplicate of an attempt already made). */
  | { kind: 'stale' }
  /** The webhook is gone or inactive: the delivery is now cancelled. */
  | { kind: 'cancelled' }
  /** This webhook already has its share of in-flight attempts here: try again shortly, no attempt counted. */
  | { kind: 'throttled' }
  | { kind: 'attempted'; next: { attempt: number; delayMs: number } | null };

const EVENT_CACHE_SIZE = 5_000;

interface Loaded {
  delivery?: DeliveryEntity;
  target?: DeliveryTarget;
  event?: EventEntity;
}

/** One delivery attempt, from the delivery's current state to its logged outcome (SPEC §7). */
@Injectable()
export class DeliveryService {
  private readonly inFlight: InFlightLimiter;
  // Events are immutable: fanned-out deliveries of one event share one read.
  private readonly events = new Map<string, EventEntity>();
  /** Attempts that start together read their deliveries and webhooks together: two queries per batch. */
  private readonly loader = new MicroBatcher((ids: string[]) => this.load(ids), { maxWaitMs: 2, maxBatch: 200 });

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly sender: WebhookSender,
    private readonly log: AttemptLog,
    private readonly disabler: WebhookDisabler,
    private readonly metrics: WorkerMetrics,
  ) {
    this.inFlight = new InFlightLimiter(config.webhookMaxInFlight);
  }

  async attempt(job: DeliverJob): Promise<AttemptResult> {
    const { delivery, target, event } = await this.loader.add(job.deliveryId);
    if (!delivery || delivery.status !== 'pending' || delivery.attempts + 1 !== job.attempt) return { kind: 'stale' };
    if (!target || !target.webhook.isActive) {
      await this.db.repos.deliveries.cancel(delivery.id);
      this.metrics.deliveries.inc({ status: 'cancelled' });
      return { kind: 'cancelled' };
    }
    const { webhook, secrets } = target;
    if (!this.inFlight.tryAcquire(webhook.id)) return { kind: 'throttled' };

    let outcome;
    const requestedAt = new Date();
    try {
      if (!event) throw new Error(`Event ${delivery.eventId} of a pending delivery is missing`);
      const body = JSON.stringify(toEnvelope(event));
      const result = await this.sender.send({
        url: webhook.url,
        body,
        headers: { ...webhook.headers, ...signingHeaders(secrets, delivery.id, body, requestedAt) },
        timeoutMs: this.config.deliveryTimeoutMs,
      });
      outcome = { result, decision: decide(result, job.attempt - delivery.chainStart, this.config.deliveryRetryScheduleMs) };
    } finally {
      this.inFlight.release(webhook.id);
    }

    const { result, decision } = outcome;
    this.metrics.recordAttempt({
      deliveryId: delivery.id,
      webhookId: webhook.id,
      departmentId: webhook.departmentId,
      attempt: job.attempt,
      statusCode: result.statusCode,
      durationMs: result.durationMs,
      outcome: decision.gone ? 'gone' : decision.status === 'succeeded' ? 'success' : decision.status === 'failed' ? 'failed' : 'retry',
      error: result.error ?? (result.ok ? null : 'http_status'),
      deliveryStatus: decision.status,
    });
    await this.log.record({
      deliveryId: delivery.id,
      webhookId: webhook.id,
      attempt: job.attempt,
      requestedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      responseBody: result.responseBody,
      responseBodyTruncated: result.responseBodyTruncated,
      error: result.error ?? (result.ok ? null : 'http_status'),
      errorMessage: result.errorMessage,
      status: decision.status,
      nextAttemptAt: decision.retryInMs === null ? null : new Date(Date.now() + decision.retryInMs),
    });

    if (decision.gone) {
      await this.disabler.disable(webhook.id, webhook.departmentId, 'gone');
    } else if (decision.status === 'failed') {
      const disabled = await this.db.repos.webhooks.recordFailedDelivery(
        webhook.id,
        delivery.createdAt,
        this.config.autoDisableMinFailures,
        this.config.autoDisableAfterMs,
      );
      if (disabled) await this.disabler.disabled(webhook.id, webhook.departmentId, 'failing');
    }
    return { kind: 'attempted', next: decision.retryInMs === null ? null : { attempt: job.attempt + 1, delayMs: decision.retryInMs } };
  }

  /** Deliveries, their webhooks as they are now (URL, headers, secrets) and their events, for a batch. */
  private async load(deliveryIds: string[]): Promise<Loaded[]> {
    const deliveries = new Map((await this.db.repos.deliveries.findByIds(deliveryIds)).map((d) => [d.id, d]));
    const wanted = [...deliveries.values()];
    const [targets, events] = await Promise.all([
      this.db.repos.webhooks.findForDeliveries(wanted.map((d) => d.webhookId)),
      this.db.repos.events.findByIds([...new Set(wanted.map((d) => d.eventId).filter((id) => !this.events.has(id)))]),
    ]);
    for (const event of events) this.remember(event);
    return deliveryIds.map((id) => {
      const delivery = deliveries.get(id);
      return { delivery, target: delivery && targets.get(delivery.webhookId), event: delivery && this.events.get(delivery.eventId) };
    });
  }

  private remember(event: EventEntity): void {
    if (this.events.size >= EVENT_CACHE_SIZE) this.events.delete(this.events.keys().next().value!);
    this.events.set(event.id, event);
  }
}
