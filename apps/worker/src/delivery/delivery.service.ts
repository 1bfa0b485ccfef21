import { Injectable } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { AttemptLoad, AttemptOutcome, Database } from '@pollarix/database';
import { signingHeaders, WebhookSender } from '@pollarix/delivery';
import { toEnvelope } from '@pollarix/events';
import type { DeliverJob } from '@pollarix/queue';
import { WorkerMetrics } from '../ops/worker-metrics';
import { AttemptLog } from './attempt-log';
import { ByteBudget, InFlightLimiter } from './in-flight';
import { MicroBatcher } from './micro-batcher';
import { decide } from './outcome';
import { WebhookDisabler } from './webhook-disabler';

export type AttemptResult =
  /** The job no longer matches the delivery (done, cancelled, or a duplicate of an attempt already made). */
  | { kind: 'stale' }
  /** The webhook is gone or inactive: the delivery is now cancelled. */
  | { kind: 'cancelled' }
  /** This webhook already has its share of in-flight attempts here, or the worker its share of body bytes: try again shortly, no attempt counted. */
  | { kind: 'throttled' }
  | { kind: 'attempted'; next: { attempt: number; delayMs: number } | null };

/** Request bodies in flight per worker: with WORKER_NODE_FLAGS' heap, room for them and everything else. */
const BODY_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

/** One delivery attempt, from the delivery's current state to its logged outcome (SPEC §7). */
@Injectable()
export class DeliveryService {
  private readonly inFlight: InFlightLimiter;
  private readonly bodies = new ByteBudget(BODY_BYTES_IN_FLIGHT);
  /** Attempts that start together read their deliveries, events and webhooks together: one query per batch, one batch at a time (as the attempt log). */
  private readonly loader = new MicroBatcher((ids: string[]) => this.load(ids), { maxBatch: 200, maxInFlight: 1 });

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
    const loaded = await this.loader.add(job.deliveryId);
    const delivery = loaded?.delivery;
    const target = loaded?.target;
    if (!delivery || delivery.status !== 'pending' || delivery.attempts + 1 !== job.attempt) return { kind: 'stale' };
    if (!target || !target.webhook.isActive) {
      await this.db.repos.deliveries.cancel(delivery.id);
      this.metrics.deliveries.inc({ status: 'cancelled' });
      return { kind: 'cancelled' };
    }
    const { webhook, secrets } = target;
    // The slot first: a throttled job (retried shortly) does not build a body of up to 1 MiB for nothing.
    if (!this.inFlight.tryAcquire(webhook.id)) return { kind: 'throttled' };
    const body = JSON.stringify(toEnvelope(delivery.event));
    if (!this.bodies.tryAcquire(body.length)) {
      this.inFlight.release(webhook.id);
      return { kind: 'throttled' };
    }

    let outcome;
    const requestedAt = new Date();
    try {
      const result = await this.sender.send({
        url: webhook.url,
        body,
        headers: { ...webhook.headers, ...signingHeaders(secrets, delivery.id, body, requestedAt) },
        timeoutMs: this.config.deliveryTimeoutMs,
      });
      outcome = { result, decision: decide(result, job.attempt - delivery.chainStart, this.config.deliveryRetryScheduleMs) };
    } finally {
      this.inFlight.release(webhook.id);
      this.bodies.release(body.length);
    }

    const { result, decision } = outcome;
    const attempt: AttemptOutcome = {
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
    };
    this.metrics.recordAttempt({
      ...attempt,
      departmentId: webhook.departmentId,
      outcome: decision.gone ? 'gone' : decision.status === 'succeeded' ? 'success' : decision.status === 'failed' ? 'failed' : 'retry',
    });
    await this.log.record(attempt);

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

  /** Deliveries with their events, and their webhooks as they are now (URL, headers, secrets), for a batch. */
  private async load(deliveryIds: string[]): Promise<(AttemptLoad | undefined)[]> {
    const loaded = new Map((await this.db.repos.deliveries.findForAttempts(deliveryIds)).map((l) => [l.delivery.id, l]));
    return deliveryIds.map((id) => loaded.get(id));
  }
}
