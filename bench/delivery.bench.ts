/**
 * npm run bench:delivery — delivery throughput and latency of the real pipeline against a bare
 * BullMQ + undici baseline, in one run on this machine.
 *
 *   1. bare:     BullMQ worker (same concurrency) in a child process whose job only POSTs ~300 B of
 *                JSON with undici (keep-alive Agent) to a local receiver; jobs added with addBulk.
 *   2. pipeline: EventPublisher.publishBatch (500 SURVEY_COMPLETED events per batch) → a spawned real
 *                worker (dist/apps/worker/main.js) → the receiver; also until the delivery log holds
 *                every delivery as `succeeded`.
 *   3. latency:  single `publish` calls at a fixed rate; the receiver records arrival − data.sentAt.
 *
 * Steps 1 and 2 alternate BENCH_ROUNDS times (3), the worker idling through the bare runs: the machine's
 * speed drifts by tens of percent within minutes, so the ratio reported is the median of the rounds'
 * ratios, each from a bare run and a pipeline run back to back, with the range beside it.
 *
 * Settings (environment): BENCH_EVENTS (20000), BENCH_ROUNDS (3), WORKER_CONCURRENCY (100), BENCH_RATE (500 events/s),
 * BENCH_LATENCY_WARMUP (2 s at that rate, not measured, once the machine has settled after the rounds),
 * BENCH_SECONDS (10), BENCH_WARMUP (1000 jobs/events before every bare run, each a new
 * process, and before the first pipeline run, whose worker stays up), BENCH_TIMEOUT_MS
 * (120000: a wait fails after this long without progress), BENCH_MAX_WAIT_MS (900000: and after this
 * long in any case), BENCH_BARE_CONNECTIONS (50, as the WebhookSender's pool), and
 * BENCH_WORKER_NODE_ARGS (node flags for the real worker only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof",
 * which NODE_OPTIONS does not allow).
 * DATABASE_URL / REDIS_URL: used when set; otherwise a throw-away PostgreSQL and Redis are started.
 *
 * Exits non-zero only when something did not arrive or failed — not for missing a target.
 */
import 'reflect-metadata';
import { newId } from '@pollarix/common';
import { EventPublisher } from '@pollarix/events';
import { DEFAULT_JOB_OPTIONS } from '@pollarix/queue';
import { Job, Queue, Worker } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { Child, startChild } from './support/bench-infra';
import { cpuLine, fmt, percentile } from './support/format';
import {
  abort,
  baseProbes,
  childProbe,
  Context,
  printMachineBusy,
  runBench,
  settle,
  setupLabel,
  sleep,
  startWorker,
  stopChildren,
  waitForSink,
} from './support/harness';
import { createWebhook, eventData, PUBLISH_BATCH, publishAll, statusSummary, waitForLogged } from './support/pipeline';
import { startCpuWindow } from './support/proc-cpu';
import { CONCURRENCY, EVENTS, int, MAX_WAIT_MS, WARMUP } from './support/settings';

const RATE = int('BENCH_RATE', 500);
const ROUNDS = Math.round(int('BENCH_ROUNDS', 3));
const LATENCY_WARMUP = process.env.BENCH_LATENCY_WARMUP === '0' ? 0 : int('BENCH_LATENCY_WARMUP', 2);
/** Before the latency run, wait (at most this long) for the machine to fall below this busy share. */
const SETTLE_MAX_MS = 30_000;
const SETTLED_BUSY_PERCENT = 15;
const SECONDS = int('BENCH_SECONDS', 10);
/** The whole run, whatever happens: two long waits per round, the latency warm-up's and run's, settling, and some. */
const WATCHDOG_MS = (2 * ROUNDS + 2) * MAX_WAIT_MS + 300_000;
const BARE_CONNECTIONS = Math.round(int('BENCH_BARE_CONNECTIONS', 50));
const ADD_BULK_CHUNK = 500;

/** The bare worker's body: an envelope of the same shape and size as the pipeline's. */
function bareBody(i: number, departmentId: string): string {
  const now = new Date().toISOString();
  return JSON.stringify({ id: newId('evt'), type: 'SURVEY_COMPLETED', timestamp: now, departmentId, data: eventData(i, now) });
}

// ───────────────────────────── the bare worker (child process) ─────────────────────────────

interface BareJob {
  path: string;
  i: number;
}

async function bareWorker(): Promise<void> {
  const env = process.env;
  const agent = new Agent({ connections: Number(env.BENCH_BARE_CONNECTIONS), keepAliveTimeout: 30_000 });
  const target = env.BENCH_BARE_TARGET!;
  const departmentId = env.BENCH_BARE_DEPARTMENT!;
  let failures = 0;
  const worker = new Worker<BareJob>(
    env.BENCH_BARE_QUEUE!,
    async (job: Job<BareJob>) => {
      const { statusCode, body } = await request(`${target}${job.data.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Pollarix-Webhooks/bench', 'webhook-id': `msg_bare_${job.id}` },
        body: bareBody(job.data.i, departmentId),
        dispatcher: agent,
      });
      await body.dump();
      if (statusCode < 200 || statusCode > 299) throw new Error(`HTTP ${statusCode}`);
    },
    {
      connection: { url: env.BENCH_BARE_REDIS_URL!, maxRetriesPerRequest: null },
      prefix: env.BENCH_BARE_PREFIX!,
      concurrency: Number(env.BENCH_CONCURRENCY),
    },
  );
  worker.on('error', (error) => console.error(`bare worker error: ${error.message}`));
  worker.on('failed', (job, error) => {
    if (++failures <= 5) console.error(`bare job ${job?.id} failed: ${error.message}`);
  });
  await worker.waitUntilReady();
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await worker.close().catch(() => undefined);
    await agent.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  // The parent holds our stdin: when it dies, the pipe closes and we go too.
  process.stdin.on('end', () => void shutdown());
  process.stdin.resume();
  console.log('bare worker ready');
}

// ───────────────────────────── the benchmark (parent) ─────────────────────────────

function bareRedisUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return url;
  parsed.pathname = parsed.pathname === '/1' ? '/2' : '/1'; // a database index the pipeline does not use
  return parsed.toString();
}

interface BareResult {
  rate: number;
  seconds: number;
  duplicates: number;
}

async function runBare(ctx: Context, round: number): Promise<BareResult | null> {
  const queueName = `bench-bare-${process.pid}-${round}`;
  const prefix = '{pollarix-bench}';
  const redisUrl = bareRedisUrl(ctx.infra.redisUrl);
  const departmentId = `dept_bench_bare_${randomBytes(4).toString('hex')}`;
  const worker = await startChild(
    'bare worker',
    process.execPath,
    [...process.execArgv, __filename, 'bare-worker'],
    {
      ...process.env,
      BENCH_BARE_REDIS_URL: redisUrl,
      BENCH_BARE_QUEUE: queueName,
      BENCH_BARE_PREFIX: prefix,
      BENCH_BARE_TARGET: ctx.receiver.url,
      BENCH_BARE_DEPARTMENT: departmentId,
      BENCH_BARE_CONNECTIONS: String(BARE_CONNECTIONS),
      BENCH_CONCURRENCY: String(CONCURRENCY),
    },
    'bare worker ready',
    60_000,
  );
  ctx.children.push(worker);
  const queue = new Queue<BareJob>(queueName, { connection: { url: redisUrl }, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
  queue.on('error', (error) => console.error(`bare queue error: ${error.message}`));
  const addJobs = async (path: string, count: number) => {
    for (let offset = 0; offset < count; offset += ADD_BULK_CHUNK) {
      const size = Math.min(ADD_BULK_CHUNK, count - offset);
      await queue.addBulk(Array.from({ length: size }, (_, k) => ({ name: 'post', data: { path, i: offset + k } })));
    }
  };
  try {
    if (WARMUP > 0) {
      // Every round: each round's bare worker is a new process (the pipeline's worker warms once).
      const warm = ctx.receiver.sink(`/bare-warm-${round}`, WARMUP);
      await addJobs(`/bare-warm-${round}`, WARMUP);
      await waitForSink(warm, 'bare warm-up', [worker]);
      await settle(SETTLE_MAX_MS, SETTLED_BUSY_PERCENT); // the warm-up's tail (job removals) is not measured
    }
    const sink = ctx.receiver.sink(`/bare-${round}`, EVENTS);
    const cpu = startCpuWindow([...baseProbes(ctx), childProbe(worker)]);
    const started = performance.now();
    await addJobs(`/bare-${round}`, EVENTS);
    const added = performance.now();
    await waitForSink(sink, 'bare baseline', [worker]);
    const window = cpu.finish();
    const seconds = (sink.doneAt! - started) / 1000;
    const result = { rate: EVENTS / seconds, seconds, duplicates: sink.requests - sink.ids.size };
    ctx.cpuNotes.push(cpuLine(`bare, round ${round}`, window));
    ctx.report.push(
      `${round}. bare BullMQ + undici POST      ${fmt(result.rate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(seconds, 2)} s; addBulk done after ${fmt((added - started) / 1000, 2)} s)   duplicates ${result.duplicates}`,
    );
    return result;
  } catch (error) {
    ctx.failures.push(`bare (round ${round}): ${(error as Error).message}`);
    return null;
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await stopChildren(ctx, [worker]);
  }
}

const q = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));

/**
 * Where an event's time went, from the timestamps the pipeline itself stores (read after the run, so
 * it adds no load): stored (events.created_at), fanned out (events.fanned_out_at), attempt sent
 * (delivery_attempts.requested_at, after the delivery row's created_at), relative to the first publish.
 */
async function stageReport(ctx: Context, departmentId: string, webhookId: string, startEpochMs: number, withSentAt: boolean): Promise<string> {
  const [e] = await ctx.dataSource.query<Record<string, unknown>[]>(
    `SELECT 1000 * extract(epoch FROM max(created_at)) AS last_stored,
            1000 * extract(epoch FROM max(fanned_out_at)) AS last_fanned,
            1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fanned_out_at - created_at)) AS fan_p50,
            1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fanned_out_at - created_at)) AS fan_p99
            ${
              withSentAt
                ? `, percentile_cont(0.5) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM created_at) - (data->>'sentAt')::float8) AS store_p50,
                             percentile_cont(0.99) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM created_at) - (data->>'sentAt')::float8) AS store_p99`
                : ''
            }
       FROM events WHERE department_id = $1`,
    [departmentId],
  );
  const [d] = await ctx.dataSource.query<Record<string, unknown>[]>(
    `SELECT 1000 * extract(epoch FROM max(a.requested_at)) AS last_sent,
            1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.requested_at - d.created_at)) AS queue_p50,
            1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.requested_at - d.created_at)) AS queue_p99,
            avg(a.duration_ms) AS http_avg, max(a.duration_ms) AS http_max
       FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
      WHERE d.webhook_id = $1`,
    [webhookId],
  );
  const at = (v: unknown) => `+${fmt((q(v) - startEpochMs) / 1000, 2)} s`;
  const ms = (v: unknown) => `${fmt(q(v), 1)}`;
  return (
    `  stages: ${withSentAt ? `publish→stored p50/p99 ${ms(e.store_p50)}/${ms(e.store_p99)} ms, ` : `all stored ${at(e.last_stored)}, `}` +
    `stored→fanned out p50/p99 ${ms(e.fan_p50)}/${ms(e.fan_p99)} ms${withSentAt ? '' : ` (all by ${at(e.last_fanned)})`}, ` +
    `delivery row→POST sent p50/p99 ${ms(d.queue_p50)}/${ms(d.queue_p99)} ms${withSentAt ? '' : ` (last sent ${at(d.last_sent)})`}, ` +
    `POST avg/max ${ms(d.http_avg)}/${ms(d.http_max)} ms`
  );
}

interface PipelineResult {
  receiverRate: number;
  loggedRate: number;
  duplicates: number;
}

async function runPipeline(ctx: Context, worker: Child, publisher: EventPublisher, round: number): Promise<PipelineResult | null> {
  try {
    if (WARMUP > 0 && round === 1) {
      const warmHook = await createWebhook(ctx, 'warm', `${ctx.receiver.url}/pipe-warm`);
      const warm = ctx.receiver.sink('/pipe-warm', WARMUP);
      await publishAll(publisher, warmHook.departmentId, WARMUP);
      await waitForSink(warm, 'pipeline warm-up', [worker]);
      await settle(SETTLE_MAX_MS, SETTLED_BUSY_PERCENT); // nor its log writes
    }
    const { departmentId, webhookId } = await createWebhook(ctx, `pipe${round}`, `${ctx.receiver.url}/pipe-${round}`);
    const sink = ctx.receiver.sink(`/pipe-${round}`, EVENTS);
    const cpu = startCpuWindow([...baseProbes(ctx), childProbe(worker)]);
    const started = performance.now();
    await publishAll(publisher, departmentId, EVENTS);
    const published = performance.now();
    await waitForSink(sink, 'pipeline', [worker]);
    const receiverSeconds = (sink.doneAt! - started) / 1000;
    const receiverWindow = cpu.finish();

    // The log is written after each response: poll it only once the receiver has everything.
    const loggedSeconds = ((await waitForLogged(ctx, webhookId, EVENTS, 'pipeline', [worker])) - started) / 1000;
    const statuses = await statusSummary(ctx, webhookId);
    const result: PipelineResult = {
      receiverRate: EVENTS / receiverSeconds,
      loggedRate: EVENTS / loggedSeconds,
      duplicates: sink.requests - sink.ids.size,
    };
    ctx.cpuNotes.push(cpuLine(`pipeline, round ${round} (publish → last delivery received)`, receiverWindow));
    const stages = await stageReport(ctx, departmentId, webhookId, performance.timeOrigin + started, false);
    ctx.report.push(
      `${round}. pipeline → receiver            ${fmt(result.receiverRate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(receiverSeconds, 2)} s; publishing took ${fmt((published - started) / 1000, 2)} s = ${fmt(EVENTS / ((published - started) / 1000))} events/s)   duplicates ${result.duplicates}`,
      `${round}. pipeline → all logged succeeded${fmt(result.loggedRate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(loggedSeconds, 2)} s; log: ${statuses})`,
      stages,
    );
    return result;
  } catch (error) {
    ctx.failures.push(`pipeline (round ${round}): ${(error as Error).message}`);
    return null;
  }
}

/** Publishes `total` single events at RATE per second (each with data.sentAt); resolves once every publish has answered. */
async function publishAtRate(publisher: EventPublisher, departmentId: string, total: number): Promise<number> {
  const errors: string[] = [];
  const pending: Promise<unknown>[] = [];
  const started = performance.now();
  let sent = 0;
  try {
    while (sent < total) {
      if (abort.signal.aborted) throw new Error('interrupted');
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
      while (sent < due) {
        const i = sent++;
        const sentAt = performance.timeOrigin + performance.now();
        pending.push(
          publisher
            .publish({ type: 'SURVEY_COMPLETED', departmentId, data: { ...eventData(i, new Date().toISOString()), sentAt } })
            .catch((error: Error) => errors.push(error.message)),
        );
      }
      await sleep(1);
    }
  } finally {
    await Promise.allSettled(pending);
  }
  if (errors.length > 0) throw new Error(`${errors.length} publish(es) failed, e.g. ${errors[0]}`);
  return (performance.now() - started) / 1000;
}

async function runLatency(ctx: Context, worker: Child, publisher: EventPublisher): Promise<void> {
  const total = Math.round(RATE * SECONDS);
  try {
    // Steady state: once the throughput rounds' aftermath is done, and after LATENCY_WARMUP seconds at the
    // same rate (connections opened, code paths warm) that are not measured.
    const settled = await settle(SETTLE_MAX_MS, SETTLED_BUSY_PERCENT);
    ctx.report.push(
      `latency run: the machine settled to ${settled.busy === null ? '?' : fmt(settled.busy)}% busy after ${fmt(settled.seconds, 1)} s` +
        `${settled.busy !== null && settled.busy >= SETTLED_BUSY_PERCENT ? ' (gave up waiting: the figures include that load)' : ''}; ` +
        `warm-up ${fmt(LATENCY_WARMUP)} s at ${fmt(RATE)}/s, not measured`,
    );
    if (LATENCY_WARMUP > 0) {
      const warmHook = await createWebhook(ctx, 'latency-warm', `${ctx.receiver.url}/latency-warm`);
      const warmTotal = Math.round(RATE * LATENCY_WARMUP);
      const warm = ctx.receiver.sink('/latency-warm', warmTotal, { latency: true });
      await publishAtRate(publisher, warmHook.departmentId, warmTotal);
      await waitForSink(warm, 'latency warm-up', [worker]);
    }

    const { departmentId, webhookId } = await createWebhook(ctx, 'latency', `${ctx.receiver.url}/latency`);
    const sink = ctx.receiver.sink('/latency', total, { latency: true });
    const cpu = startCpuWindow([...baseProbes(ctx), childProbe(worker)]);
    const started = performance.now();
    const publishSeconds = await publishAtRate(publisher, departmentId, total);
    let timedOut: string | null = null;
    await waitForSink(sink, 'latency', [worker]).catch((error: Error) => (timedOut = error.message));
    const window = cpu.finish();
    const sorted = [...sink.latencies].sort((a, b) => a - b);
    const ms = (v: number) => `${fmt(v, 1)} ms`;
    // Per RATE arrivals (about a second each): whether the tail is spread or comes in bursts.
    const perSecond: string[] = [];
    for (let i = 0; i < sink.latencies.length; i += Math.max(1, Math.round(RATE))) {
      const second = sink.latencies.slice(i, i + Math.round(RATE)).sort((a, b) => a - b);
      perSecond.push(`${fmt(percentile(second, 50), 0)}/${fmt(percentile(second, 99), 0)}`);
    }
    ctx.report.push(
      `latency @ ${fmt(RATE)}/s × ${fmt(SECONDS)} s (offered ${fmt(total / publishSeconds)}/s): ${sink.ids.size}/${total} arrived   ` +
        `p50 ${ms(percentile(sorted, 50))}   p95 ${ms(percentile(sorted, 95))}   p99 ${ms(percentile(sorted, 99))}   max ${ms(sorted[sorted.length - 1] ?? NaN)}   ` +
        `(target p99 < 100 ms${percentile(sorted, 99) < 100 ? ': met' : ': MISSED'})   duplicates ${sink.requests - sink.ids.size}` +
        (sink.badBodies ? `   unparsable bodies ${sink.badBodies}` : ''),
      `  p50/p99 of each ${fmt(RATE)} arrivals (≈ 1 s), ms: ${perSecond.join('  ')}`,
    );
    ctx.cpuNotes.push(cpuLine('latency run', window));
    ctx.report.push(await stageReport(ctx, departmentId, webhookId, performance.timeOrigin + started, true));
    if (timedOut) throw new Error(timedOut);
    if (sink.badBodies > 0) throw new Error(`${sink.badBodies} bodies without a numeric data.sentAt`);
  } catch (error) {
    ctx.failures.push(`latency: ${(error as Error).message}`);
  }
}

async function run(ctx: Context): Promise<void> {
  console.log(
    `bench:delivery — N=${EVENTS}, concurrency ${CONCURRENCY} (WORKER_CONCURRENCY; WEBHOOK_MAX_IN_FLIGHT ${CONCURRENCY}), ` +
      `publishBatch ${PUBLISH_BATCH} / addBulk chunks ${ADD_BULK_CHUNK}, warm-up ${WARMUP}, latency ${RATE}/s × ${SECONDS} s, ` +
      `body ~${Buffer.byteLength(bareBody(EVENTS, `dept_bench_pipe_${'0'.repeat(8)}`))} B, bare pool ${BARE_CONNECTIONS} connections, ` +
      setupLabel(ctx.infra),
  );
  await printMachineBusy();

  // 1 + 2, ROUNDS times: the bare baseline, then the real worker (started once, idle during the bare runs).
  const publisher = ctx.publisher();
  const worker = await startWorker(ctx, 'worker');
  const ratios: { receiver: number; logged: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const bare = await runBare(ctx, round);
    if (abort.signal.aborted) throw new Error('interrupted');
    const pipeline = await runPipeline(ctx, worker, publisher, round);
    if (abort.signal.aborted) throw new Error('interrupted');
    if (bare && pipeline) ratios.push({ receiver: pipeline.receiverRate / bare.rate, logged: pipeline.loggedRate / bare.rate });
  }
  // 3. Latency, on the same worker.
  await runLatency(ctx, worker, publisher);

  console.log(ctx.report.join('\n'));
  if (ratios.length > 0) {
    const median = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      );
    const receiver = ratios.map((r) => r.receiver);
    const ratio = median(receiver);
    console.log(
      `ratio pipeline/bare: ${ratio.toFixed(2)} to receiver, ${median(ratios.map((r) => r.logged)).toFixed(2)} to fully logged ` +
        `(median of ${ratios.length} round(s); to receiver ${receiver.map((r) => r.toFixed(2)).join(', ')})   ` +
        `(target ≥ 0.50${ratio >= 0.5 ? ': met' : ': MISSED'})`,
    );
  }
  console.log(ctx.cpuNotes.join('\n'));
}

if (process.argv[2] === 'bare-worker') {
  bareWorker().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  runBench({ name: 'delivery', watchdogMs: WATCHDOG_MS, run });
}
