import type { AppConfig } from '@pollarix/config';
import type { AttemptOutcome, DeliveryStatus, PendingJob, Repositories, SweepCursor } from '@pollarix/database';
import type { AttemptErrorClass, SendResult } from '@pollarix/delivery';
import { addDeliverJobs, ScheduledAttempt } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { AttemptDelivery, AttemptJob, SettledAttempt, settleAttempt } from './attempt';
import { AutoDisablePolicy, shouldAutoDisable } from './failure-streak';
import { isRecoverWindow, LifecycleRefusal } from './refusal';
import { ATTEMPT_RECORDABLE_STATUSES, CANCELLABLE_STATUSES, RECOVERABLE_STATUSES, REDELIVERABLE_STATUSES } from './states';

/** Deliveries restarted per statement by `recover` (each page is queued before the next is taken). */
export const RECOVER_PAGE = 500;

export interface LifecyclePolicy {
  /** Delays between the attempts of a chain (DELIVERY_RETRY_SCHEDULE). */
  retryScheduleMs: readonly number[];
  autoDisable: AutoDisablePolicy;
}

export function lifecyclePolicy(config: AppConfig): LifecyclePolicy {
  return {
    retryScheduleMs: config.deliveryRetryScheduleMs,
    autoDisable: { minFailures: config.autoDisableMinFailures, afterMs: config.autoDisableAfterMs },
  };
}

/**
 * Writes an attempt's outcome to the delivery log (the worker's batched AttemptLog, or one statement);
 * resolves with the delivery's status after the write, or null when the attempt was stale and nothing changed.
 */
export interface AttemptRecorder {
  record(outcome: AttemptOutcome): Promise<DeliveryStatus | null>;
}

export interface WebhookDisabled {
  webhookId: string;
  departmentId: string;
  reason: string;
  /** Pending deliveries of it that were cancelled. */
  cancelled: number;
}

export interface DeliveryLifecycleDeps {
  repos: Repositories;
  /** The deliveries queue. */
  queue: Queue;
  policy: LifecyclePolicy;
  recorder?: AttemptRecorder;
  /** Told after this process disabled a webhook and cancelled its pending deliveries (the worker publishes WEBHOOK_DISABLED). */
  onDisabled?: (disabled: WebhookDisabled) => Promise<void>;
}

export interface RecoverRequest {
  departmentId: string;
  webhookId: string;
  since: Date;
  /** Deliveries created before this time; up to now when absent. */
  until?: Date;
}

/** Progress of a recover: `start` (when given) gets how many deliveries it will take, `update` the running count. */
export interface RecoverProgress {
  start?(total: number): void;
  update(done: number): void;
}

/**
 * A delivery's life after it is fanned out (SPEC §5, §7), one use case a method, for the worker, the
 * API and the CLI alike. The rules are the plain functions beside it; the repositories only run the
 * statements asked for here.
 */
export class DeliveryLifecycle {
  private readonly repos: Repositories;
  private readonly queue: Queue;
  private readonly recorder: AttemptRecorder;

  constructor(private readonly deps: DeliveryLifecycleDeps) {
    this.repos = deps.repos;
    this.queue = deps.queue;
    this.recorder = deps.recorder ?? {
      record: async (outcome) => (await deps.repos.deliveries.recordOutcomes([outcome], ATTEMPT_RECORDABLE_STATUSES)).get(outcome.deliveryId) ?? null,
    };
  }

  /** What a sent attempt means, on this lifecycle's retry schedule (pure: nothing is written). */
  settle(job: AttemptJob, delivery: AttemptDelivery, result: SendResult, errorOverride: AttemptErrorClass | null = null): SettledAttempt {
    return settleAttempt(job, delivery, result, this.deps.policy.retryScheduleMs, { errorOverride });
  }

  /**
   * After a send: logs the outcome (and waits for it), then what it means for the webhook (410 Gone
   * disables it; a failed delivery lengthens its failing streak, which may disable it), then queues
   * the next attempt when one is due and the delivery is still pending (one cancelled while the attempt
   * was in flight counts it, and stops there). An outcome that moved nothing (the job was stale: its
   * attempt was made or its chain restarted meanwhile) does nothing more; returns false then.
   */
  async recordAttempt(settled: SettledAttempt, delivery: AttemptDelivery): Promise<boolean> {
    const status = await this.recorder.record(settled.outcome);
    if (status === null) return false;
    if (settled.decision.gone) {
      await this.disable(delivery.webhookId, delivery.departmentId, 'gone');
    } else if (settled.decision.status === 'failed') {
      const streak = await this.repos.webhooks.recordFailedDelivery(delivery.webhookId, delivery.createdAt);
      if (streak !== null && shouldAutoDisable(streak, this.deps.policy.autoDisable)) {
        await this.disable(delivery.webhookId, delivery.departmentId, 'failing');
      }
    }
    if (settled.next !== null && status === 'pending') await this.enqueue([settled.next]);
    return true;
  }

  /** Sets an active webhook inactive with `reason` and cancels what is pending; false when it was not active. */
  async disable(webhookId: string, departmentId: string, reason: string): Promise<boolean> {
    if (!(await this.repos.webhooks.disable(webhookId, reason))) return false;
    const cancelled = await this.cancelForWebhook(webhookId);
    await this.deps.onDisabled?.({ webhookId, departmentId, reason, cancelled });
    return true;
  }

  /** A webhook deleted, deactivated or disabled: its pending deliveries become cancelled (`repos`: a transaction's). */
  cancelForWebhook(webhookId: string, repos: Repositories = this.repos): Promise<number> {
    return repos.deliveries.cancelForWebhook(webhookId, CANCELLABLE_STATUSES);
  }

  /** One delivery whose webhook an attempt found deleted or inactive becomes cancelled (if still pending). */
  cancel(deliveryId: string): Promise<void> {
    return this.repos.deliveries.cancel(deliveryId, CANCELLABLE_STATUSES);
  }

  /** A new attempt chain for one delivery that is done, sent at once. */
  async redeliver(departmentId: string, webhookId: string, deliveryId: string): Promise<void> {
    const webhook = await this.repos.webhooks.findInDepartment(departmentId, webhookId);
    if (!webhook) throw new LifecycleRefusal('webhook_not_found', webhookId);
    const delivery = await this.repos.deliveries.findInWebhook(webhookId, deliveryId);
    if (!delivery) throw new LifecycleRefusal('delivery_not_found', webhookId, { deliveryId });
    if (!REDELIVERABLE_STATUSES.includes(delivery.status)) throw new LifecycleRefusal('delivery_pending', webhookId, { deliveryId });
    if (!webhook.isActive) throw new LifecycleRefusal('webhook_inactive', webhookId, { disabledReason: webhook.disabledReason });
    await this.enqueue((await this.repos.deliveries.restartChains({ webhookId, ids: [deliveryId], statuses: REDELIVERABLE_STATUSES }, 1)).jobs);
  }

  /**
   * Starts again the webhook's failed and cancelled deliveries created in [since, until), page after
   * page, each page queued before the next is taken; returns how many were restarted.
   */
  async recover({ departmentId, webhookId, since, until }: RecoverRequest, progress?: RecoverProgress): Promise<number> {
    const webhook = await this.repos.webhooks.findInDepartment(departmentId, webhookId);
    if (!webhook) throw new LifecycleRefusal('webhook_not_found', webhookId);
    if (!webhook.isActive) throw new LifecycleRefusal('webhook_inactive', webhookId, { disabledReason: webhook.disabledReason });
    if (!isRecoverWindow(since, until)) throw new LifecycleRefusal('empty_window', webhookId);
    const filter = { webhookId, statuses: RECOVERABLE_STATUSES, since, until };
    if (progress?.start) {
      const total = await this.repos.deliveries.countRestartable(filter);
      progress.start(total);
      if (total === 0) return 0;
    }
    let done = 0;
    let after: SweepCursor | null = null;
    do {
      const page: { jobs: PendingJob[]; next: SweepCursor | null } = await this.repos.deliveries.restartChains({ ...filter, after }, RECOVER_PAGE);
      await this.enqueue(page.jobs);
      done += page.jobs.length;
      if (page.jobs.length > 0) progress?.update(done);
      after = page.next;
    } while (after !== null);
    return done;
  }

  private enqueue(jobs: ScheduledAttempt[]): Promise<void> {
    return addDeliverJobs(this.queue, jobs);
  }
}
