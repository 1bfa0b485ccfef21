import type { FailureStreak, PendingJob, Repositories, SweepCursor } from '@pollarix/database';
import { sendResult } from '@pollarix/delivery';
import type { Queue } from 'bullmq';
import { DeliveryLifecycle, WebhookDisabled } from './delivery-lifecycle';
import { LifecycleRefusal } from './refusal';

/** Repositories and a queue that only record what the lifecycle asked of them. */
function fixture(
  webhook: { isActive: boolean; disabledReason: string | null } | null,
  options: { status?: string; streak?: FailureStreak; pages?: number; stale?: boolean; cancelledInFlight?: boolean } = {},
) {
  const calls: string[] = [];
  const queued: string[] = [];
  const disabled: WebhookDisabled[] = [];
  const job = (id: string): PendingJob => ({ id, nextAttempt: 2, nextAttemptAt: null, chain: 1, webhookId: 'wh_1', departmentId: 'dept_1' });
  const repos = {
    webhooks: {
      findInDepartment: async () => (webhook ? { id: 'wh_1', ...webhook } : null),
      recordFailedDelivery: async () => (calls.push('streak'), options.streak ?? null),
      disable: async (_id: string, reason: string) => (calls.push(`disable ${reason}`), webhook?.isActive ?? false),
    },
    deliveries: {
      findInWebhook: async (_w: string, id: string) => (options.status ? { id, status: options.status } : null),
      recordOutcomes: async (outcomes: { deliveryId: string; status: string }[]) => {
        calls.push('log');
        if (options.stale) return new Map();
        return new Map(outcomes.map((o) => [o.deliveryId, options.cancelledInFlight ? 'cancelled' : o.status]));
      },
      cancelForWebhook: async () => (calls.push('cancel'), 3),
      countRestartable: async () => (options.pages ?? 0) * 2,
      restartChains: async ({ after, statuses }: { after?: SweepCursor | null; statuses: readonly string[] }) => {
        const page = after ? Number(after.id) + 1 : 0;
        calls.push(`restart ${statuses.join(',')}`);
        if (page >= (options.pages ?? 1)) return { jobs: [], next: null };
        return { jobs: [job(`a${page}`), job(`b${page}`)], next: { at: 'x', id: String(page) } };
      },
    },
  } as unknown as Repositories;
  const queue = { addBulk: async (jobs: { opts: { jobId: string } }[]) => void queued.push(...jobs.map((j) => j.opts.jobId)) } as unknown as Queue;
  const lifecycle = new DeliveryLifecycle({
    repos,
    queue,
    policy: { retryScheduleMs: [1000], autoDisable: { minFailures: 2, afterMs: 0 } },
    onDisabled: async (event) => void disabled.push(event),
  });
  return { lifecycle, calls, queued, disabled };
}

const delivery = { id: 'msg_1', webhookId: 'wh_1', departmentId: 'dept_1', status: 'pending' as const, attempts: 0, chainStart: 0, chain: 0, createdAt: new Date(0) };
const active = { isActive: true, disabledReason: null };

describe('DeliveryLifecycle.recordAttempt', () => {
  it('logs, then queues the retry', async () => {
    const { lifecycle, calls, queued } = fixture(active);
    expect(await lifecycle.recordAttempt(lifecycle.settle({ deliveryId: 'msg_1', attempt: 1 }, delivery, sendResult({ statusCode: 500 })), delivery)).toBe(true);
    expect(calls).toEqual(['log']);
    expect(queued).toEqual(['msg_1-2']);
  });

  it('a delivery cancelled while its attempt was in flight counts the attempt and queues no retry', async () => {
    const { lifecycle, calls, queued } = fixture(active, { cancelledInFlight: true });
    expect(await lifecycle.recordAttempt(lifecycle.settle({ deliveryId: 'msg_1', attempt: 1 }, delivery, sendResult({ statusCode: 500 })), delivery)).toBe(true);
    expect(calls).toEqual(['log']);
    expect(queued).toEqual([]);
  });

  it('a stale outcome (the log write moved nothing) queues nothing, counts no streak and disables nothing', async () => {
    const exhausted = { ...delivery, attempts: 1 };
    for (const [attempt, subject, statusCode] of [
      [1, delivery, 500],
      [1, delivery, 410],
      [2, exhausted, 500],
    ] as const) {
      const { lifecycle, calls, queued, disabled } = fixture(active, { stale: true, streak: { failures: 9, failingSince: new Date(0) } });
      expect(await lifecycle.recordAttempt(lifecycle.settle({ deliveryId: 'msg_1', attempt }, subject, sendResult({ statusCode })), subject)).toBe(false);
      expect(calls).toEqual(['log']);
      expect(queued).toEqual([]);
      expect(disabled).toEqual([]);
    }
  });

  it('410 disables the webhook, cancels what is pending and tells the listener', async () => {
    const { lifecycle, calls, queued, disabled } = fixture(active);
    await lifecycle.recordAttempt(lifecycle.settle({ deliveryId: 'msg_1', attempt: 1 }, delivery, sendResult({ statusCode: 410 })), delivery);
    expect(calls).toEqual(['log', 'disable gone', 'cancel']);
    expect(disabled).toEqual([{ webhookId: 'wh_1', departmentId: 'dept_1', reason: 'gone', cancelled: 3 }]);
    expect(queued).toEqual([]);
  });

  it('an exhausted delivery counts into the streak, which disables the webhook once the policy says so', async () => {
    const exhausted = { ...delivery, attempts: 1 };
    const short = fixture(active, { streak: { failures: 1, failingSince: new Date(0) } });
    await short.lifecycle.recordAttempt(short.lifecycle.settle({ deliveryId: 'msg_1', attempt: 2 }, exhausted, sendResult({ statusCode: 500 })), exhausted);
    expect(short.calls).toEqual(['log', 'streak']);
    const long = fixture(active, { streak: { failures: 2, failingSince: new Date(0) } });
    await long.lifecycle.recordAttempt(long.lifecycle.settle({ deliveryId: 'msg_1', attempt: 2 }, exhausted, sendResult({ statusCode: 500 })), exhausted);
    expect(long.calls).toEqual(['log', 'streak', 'disable failing', 'cancel']);
    expect(long.disabled.map((d) => d.reason)).toEqual(['failing']);
  });
});

describe('DeliveryLifecycle.redeliver', () => {
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: LifecycleRefusal) => error.reason,
    );

  it('refuses, in order: no webhook, no delivery, a pending delivery, an inactive webhook', async () => {
    expect(await refusal(fixture(null).lifecycle.redeliver('dept_1', 'wh_1', 'msg_1'))).toBe('webhook_not_found');
    expect(await refusal(fixture(active).lifecycle.redeliver('dept_1', 'wh_1', 'msg_1'))).toBe('delivery_not_found');
    const inactive = { isActive: false, disabledReason: 'gone' };
    expect(await refusal(fixture(inactive, { status: 'pending' }).lifecycle.redeliver('dept_1', 'wh_1', 'msg_1'))).toBe('delivery_pending');
    expect(await refusal(fixture(inactive, { status: 'failed' }).lifecycle.redeliver('dept_1', 'wh_1', 'msg_1'))).toBe('webhook_inactive');
  });

  it('restarts a done delivery and queues its new chain', async () => {
    const { lifecycle, calls, queued } = fixture(active, { status: 'succeeded' });
    await lifecycle.redeliver('dept_1', 'wh_1', 'msg_1');
    expect(calls).toEqual(['restart succeeded,failed,cancelled']);
    expect(queued).toEqual(['a0-2-c1', 'b0-2-c1']);
  });
});

describe('DeliveryLifecycle.recover', () => {
  const window = { departmentId: 'dept_1', webhookId: 'wh_1', since: new Date(1000) };

  it('restarts failed and cancelled deliveries page by page, reporting the total first and the running count', async () => {
    const { lifecycle, calls, queued } = fixture(active, { pages: 3 });
    const seen: string[] = [];
    const requeued = await lifecycle.recover(window, { start: (total) => seen.push(`of ${total}`), update: (done) => seen.push(String(done)) });
    expect(requeued).toBe(6);
    expect(seen).toEqual(['of 6', '2', '4', '6']);
    expect(calls).toEqual(Array(4).fill('restart failed,cancelled'));
    expect(queued).toHaveLength(6);
  });

  it('refuses an inactive webhook and an empty window before restarting anything', async () => {
    const inactive = fixture({ isActive: false, disabledReason: 'failing' }, { pages: 1 });
    await expect(inactive.lifecycle.recover(window)).rejects.toMatchObject({ reason: 'webhook_inactive', details: { disabledReason: 'failing' } });
    const active1 = fixture(active, { pages: 1 });
    await expect(active1.lifecycle.recover({ ...window, until: window.since })).rejects.toMatchObject({ reason: 'empty_window' });
    expect([...inactive.calls, ...active1.calls]).toEqual([]);
  });
});
