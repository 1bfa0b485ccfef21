import { newId } from '@pollarix/common';
import { generateSecret } from '@pollarix/delivery';
import { EventPublisher } from '@pollarix/events';
import { randomBytes } from 'node:crypto';
import { Child } from './bench-infra';
import { abort, Context, exitedWorker, progressDeadline, sleep } from './harness';

/** Driving the real pipeline: webhooks straight through the repositories, events through EventPublisher, the log read back. */

export const PUBLISH_BATCH = 500;

/** The `data` of every benchmark event (bare and pipeline alike), so that both bodies are the same size. */
export function eventData(i: number, completedAt: string): Record<string, unknown> {
  return {
    surveyId: `srv_bench_${i % 97}`,
    responseId: `rsp_bench_${String(i).padStart(8, '0')}`,
    completedAt,
    score: 42,
    respondent: { externalId: `cust_${String(i).padStart(8, '0')}`, locale: 'en-GB' },
  };
}

/** An active SURVEY_COMPLETED webhook to `url`, alone in a department of its own (so its counts are its own). */
export async function createWebhook(ctx: Context, label: string, url: string): Promise<{ departmentId: string; webhookId: string }> {
  const departmentId = `dept_bench_${label}_${randomBytes(4).toString('hex')}`;
  const webhookId = newId('wh');
  await ctx.db.repos.webhooks.insert(
    webhookId,
    departmentId,
    { name: `bench ${label}`, url, events: ['SURVEY_COMPLETED'], headers: {}, isActive: true },
    generateSecret(),
  );
  return { departmentId, webhookId };
}

/** `count` SURVEY_COMPLETED events to `departmentId`, PUBLISH_BATCH per publishBatch call. */
export async function publishAll(publisher: EventPublisher, departmentId: string, count: number): Promise<void> {
  for (let offset = 0; offset < count; offset += PUBLISH_BATCH) {
    if (abort.signal.aborted) throw new Error('interrupted');
    const completedAt = new Date().toISOString();
    const size = Math.min(PUBLISH_BATCH, count - offset);
    await publisher.publishBatch(Array.from({ length: size }, (_, k) => ({ type: 'SURVEY_COMPLETED', departmentId, data: eventData(offset + k, completedAt) })));
  }
}

export async function countSucceeded(ctx: Context, webhookId: string): Promise<number> {
  const rows: { n: number }[] = await ctx.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE webhook_id = $1 AND status = 'succeeded'`, [webhookId]);
  return rows[0].n;
}

/**
 * Resolves with performance.now() once the delivery log holds `expected` succeeded deliveries for the
 * webhook; rejects on a bounded wait's timeout or a dead worker. The log is written after each
 * response: call it once the receiver has everything.
 */
export async function waitForLogged(ctx: Context, webhookId: string, expected: number, what: string, workers: readonly Child[]): Promise<number> {
  const expired = progressDeadline();
  for (;;) {
    const n = await countSucceeded(ctx, webhookId);
    if (n >= expected) return performance.now();
    const dead = exitedWorker(workers);
    if (dead) throw new Error(`${dead.name} exited (${dead.exitCode()}) before the log was complete:\n${dead.tail()}`);
    const why = expired(n);
    if (why) throw new Error(`${what}: only ${n} of ${expected} deliveries logged as succeeded (${why})`);
    await sleep(20);
  }
}

/** The webhook's deliveries by status, for the report ("succeeded 20000 (20000 attempts)"). */
export async function statusSummary(ctx: Context, webhookId: string): Promise<string> {
  const statuses: { status: string; n: number; attempts: number }[] = await ctx.dataSource.query(
    `SELECT status, count(*)::int AS n, sum(attempts)::int AS attempts FROM deliveries WHERE webhook_id = $1 GROUP BY status ORDER BY status`,
    [webhookId],
  );
  return statuses.map((s) => `${s.status} ${s.n} (${s.attempts} attempts)`).join(', ');
}
