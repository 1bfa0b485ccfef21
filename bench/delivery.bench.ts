/**
 * npm run bench:delivery — delivery throughput and latency of the real pipeline against two baselines
 * on this machine, in one run:
 *
 *   1. bare:         BullMQ worker (same concurrency) in a child process whose job only POSTs ~300 B of
 *                    JSON with undici (keep-alive Agent) to a local receiver; jobs added with addBulk.
 *   2. bare durable: the smallest durable pipeline, its worker in a child process too. Publish: ONE
 *                    statement stores the events and their deliveries (tables of its own,
 *                    bench_durable_{events,deliveries,attempts}, in the pipeline's PostgreSQL; created
 *                    here, truncated before each run, dropped at the end; autocommit with the server's
 *                    synchronous_commit, on by default), then the jobs (addBulk; 500 per statement as
 *                    the pipeline's publishBatch, or one statement and queue.add per event at the fixed
 *                    rate). Its job: the same undici POST, then a group-committed write (one statement
 *                    inserts the attempts and updates their deliveries' status; attempts that finish
 *                    while a write is in flight join the next one) that the job awaits. Nothing else.
 *   3. pipeline:     EventPublisher.publishBatch (500 SURVEY_COMPLETED events per batch) → a spawned real
 *                    worker (dist/apps/worker/main.js) → the receiver; also until the delivery log holds
 *                    every delivery as `succeeded`.
 *   4. latency:      each arm in turn (bare, bare durable, pipeline) at the same fixed rate, single
 *                    publishes, after a settle and an unmeasured warm-up; the receiver records arrival −
 *                    data.sentAt; p50/p99 overall and for the events published in each second, and
 *                    what the run could have waited on (bench/support/wait-sources.ts): PostgreSQL's
 *                    checkpoints, autovacuum runs and WAL, and the real worker's GC and event-loop lag.
 *
 * Steps 1–3 alternate BENCH_ROUNDS times (3), the real worker idling through the bare runs (each bare
 * run is a new process, warmed up): the machine's speed drifts by tens of percent within minutes, so the
 * ratios reported are the medians of the rounds' ratios (to the receiver), each from runs back to back,
 * with the range beside them. The last lines: `ratio pipeline/bare-durable: <median> (<range>)`,
 * `latency ratio pipeline/bare-durable @ <rate>/s: p50 <x>, p99 <y> (…)`, and each arm's CPU
 * milliseconds per delivery of the worker, PostgreSQL, Redis and this process (producer and receiver).
 *
 * Settings (environment): BENCH_EVENTS (20000), BENCH_ROUNDS (3), WORKER_CONCURRENCY (100), BENCH_RATE (500 events/s),
 * BENCH_LATENCY_WARMUP (2 s at that rate per arm, not measured, once the machine has settled),
 * BENCH_SECONDS (10), BENCH_WARMUP (1000 jobs/events before every bare and bare durable run, each a new
 * process, and before the first pipeline run, whose worker stays up), BENCH_TIMEOUT_MS
 * (120000: a wait fails after this long without progress), BENCH_MAX_WAIT_MS (900000: and after this
 * long in any case), BENCH_BARE_CONNECTIONS (50, as the WebhookSender's pool; both bare workers), and
 * BENCH_WORKER_NODE_ARGS (node flags for the real worker only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof",
 * which NODE_OPTIONS does not allow).
 * BENCH_MODE=stats-index runs only the pipeline, with and without the console's stats index (see measureStatsIndex).
 * DATABASE_URL / REDIS_URL: used when set; otherwise a throw-away PostgreSQL and Redis are started.
 *
 * Exits non-zero only when something did not arrive or failed — not for missing a target.
 */
import 'reflect-metadata';
import { newId } from '@pollarix/common';
import { MIGRATIONS } from '@pollarix/database';
import { EventPublisher } from '@pollarix/events';
import { DEFAULT_JOB_OPTIONS } from '@pollarix/queue';
import { Job, Queue, Worker } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { Client } from 'pg';
import { Agent, request } from 'undici';
import { Child, startChild } from './support/bench-infra';
import { cpuLine, CpuPerDelivery, cpuPerDelivery, cpuPerDeliveryText, fmt, percentile } from './support/format';
import {
  abort,
  baseProbes,
  childProbe,
  Context,
  printMachineBusy,
  progressDeadline,
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
import { describeWaits, readWaitSources, workerMetricsUrl } from './support/wait-sources';
import { CONCURRENCY, EVENTS, int, MAX_WAIT_MS, WARMUP } from './support/settings';

const RATE = int('BENCH_RATE', 500);
const ROUNDS = Math.round(int('BENCH_ROUNDS', 3));
const LATENCY_WARMUP = process.env.BENCH_LATENCY_WARMUP === '0' ? 0 : int('BENCH_LATENCY_WARMUP', 2);
/** Before the latency run, wait (at most this long) for the machine to fall below this busy share. */
const SETTLE_MAX_MS = 30_000;
const SETTLED_BUSY_PERCENT = 15;
const SECONDS = int('BENCH_SECONDS', 10);
/** The whole run, whatever happens: a long wait per arm and round, the latency runs' (warm-up and run, per arm), settling, and some. */
const WATCHDOG_MS = (3 * ROUNDS + 6) * MAX_WAIT_MS + 600_000;
const BARE_CONNECTIONS = Math.round(int('BENCH_BARE_CONNECTIONS', 50));
const ADD_BULK_CHUNK = 500;
const STATS_INDEX_MODE = process.env.BENCH_MODE === 'stats-index';

/** The bare workers' body: an envelope of the same shape and size as the pipeline's (with data.sentAt in latency runs). */
function bareBody(i: number, departmentId: string, eventId?: string, sentAt?: number): string {
  const now = new Date().toISOString();
  const data = eventData(i, now);
  return JSON.stringify({
    id: eventId ?? newId('evt'),
    type: 'SURVEY_COMPLETED',
    timestamp: now,
    departmentId,
    data: sentAt === undefined ? data : { ...data, sentAt },
  });
}

// ───────────────────────────── the bare workers (child processes) ─────────────────────────────

interface BareJob {
  path: string;
  i: number;
  /** Latency runs: epoch ms of the publish, carried into the body's data.sentAt. */
  sentAt?: number;
  /** bare durable: the stored event and delivery. */
  eventId?: string;
  deliveryId?: string;
}

/** bare durable's tables, in the pipeline's PostgreSQL: primary keys only, nothing else. */
const DURABLE_TABLES = ['bench_durable_events', 'bench_durable_deliveries', 'bench_durable_attempts'];
const CREATE_DURABLE_TABLES = `
  CREATE TABLE IF NOT EXISTS bench_durable_events (
    id text PRIMARY KEY, department_id text NOT NULL, type text NOT NULL, data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS bench_durable_deliveries (
    id text PRIMARY KEY, event_id text NOT NULL, status text NOT NULL DEFAULT 'pending', attempts int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz);
  CREATE TABLE IF NOT EXISTS bench_durable_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, delivery_id text NOT NULL, status_code int NOT NULL,
    duration_ms int NOT NULL, requested_at timestamptz NOT NULL)`;

/** bare durable's publish: one statement stores the events and their deliveries (autocommit, synchronous_commit as configured). */
const DURABLE_PUBLISH = `
  WITH stored AS (
    INSERT INTO bench_durable_events (id, department_id, type, data)
    SELECT id, $3, 'SURVEY_COMPLETED', data FROM unnest($1::text[], $2::jsonb[]) AS e(id, data))
  INSERT INTO bench_durable_deliveries (id, event_id) SELECT * FROM unnest($4::text[], $1::text[])`;

/** bare durable's log write: the attempts and their deliveries' status, one statement for every attempt that joined. */
const DURABLE_LOG = `
  WITH logged AS (
    INSERT INTO bench_durable_attempts (delivery_id, status_code, duration_ms, requested_at)
    SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[]))
  UPDATE bench_durable_deliveries d SET status = u.status, attempts = d.attempts + 1, updated_at = now()
    FROM unnest($1::text[], $5::text[]) AS u(id, status) WHERE d.id = u.id`;

interface Attempt {
  deliveryId: string;
  statusCode: number;
  durationMs: number;
  requestedAt: string;
  done(error?: Error): void;
}

/** Group commit: one write in flight at a time; attempts that finish meanwhile join the next one. */
class AttemptLog {
  private waiting: Attempt[] = [];
  private writing = false;

  constructor(private readonly client: Client) {}

  record(attempt: Omit<Attempt, 'done'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ ...attempt, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      try {
        await this.client.query(DURABLE_LOG, [
          batch.map((a) => a.deliveryId),
          batch.map((a) => a.statusCode),
          batch.map((a) => a.durationMs),
          batch.map((a) => a.requestedAt),
          batch.map((a) => (a.statusCode >= 200 && a.statusCode <= 299 ? 'succeeded' : 'failed')),
        ]);
        for (const a of batch) a.done();
      } catch (error) {
        for (const a of batch) a.done(error as Error);
      }
    }
    this.writing = false;
  }
}

/** The bare worker (BENCH_BARE_DATABASE_URL unset) or the bare durable one (set): BullMQ, an undici POST, and for durable the group-committed log write. */
async function bareWorker(): Promise<void> {
  const env = process.env;
  const agent = new Agent({ connections: Number(env.BENCH_BARE_CONNECTIONS), keepAliveTimeout: 30_000 });
  const target = env.BENCH_BARE_TARGET!;
  const departmentId = env.BENCH_BARE_DEPARTMENT!;
  let client: Client | undefined;
  let log: AttemptLog | undefined;
  if (env.BENCH_BARE_DATABASE_URL) {
    client = new Client({ connectionString: env.BENCH_BARE_DATABASE_URL });
    client.on('error', (error) => console.error(`bare durable database error: ${error.message}`));
    await client.connect();
    log = new AttemptLog(client);
  }
  let failures = 0;
  const worker = new Worker<BareJob>(
    env.BENCH_BARE_QUEUE!,
    async (job: Job<BareJob>) => {
      const { path, i, sentAt, eventId, deliveryId } = job.data;
      const requestedAt = new Date();
      const started = performance.now();
      const { statusCode, body } = await request(`${target}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Pollarix-Webhooks/bench', 'webhook-id': `msg_${deliveryId ?? `bare_${job.id}`}` },
        body: bareBody(i, departmentId, eventId, sentAt),
        dispatcher: agent,
      });
      await body.dump();
      if (log && deliveryId) {
        await log.record({ deliveryId, statusCode, durationMs: Math.round(performance.now() - started), requestedAt: requestedAt.toISOString() });
      }
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
    await client?.end().catch(() => undefined);
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

type BareArm = 'bare' | 'bare-durable';
type Arm = BareArm | 'pipeline';
const ARMS: Arm[] = ['bare', 'bare-durable', 'pipeline'];

/** A bare worker process of either kind, its queue, and how to publish to it. */
interface BareSetup {
  worker: Child;
  /** Publishes these events (addBulk in chunks; bare durable: one statement per chunk first). */
  publish(path: string, first: number, count: number): Promise<void>;
  /** One event, as a latency run publishes (bare durable: its statement, then queue.add). */
  publishOne(path: string, i: number, sentAt: number): Promise<void>;
  close(): Promise<void>;
}

async function startBare(ctx: Context, arm: BareArm, label: string): Promise<BareSetup> {
  const durable = arm === 'bare-durable';
  const queueName = `bench-${arm}-${process.pid}-${label}`;
  const prefix = '{pollarix-bench}';
  const redisUrl = bareRedisUrl(ctx.infra.redisUrl);
  const departmentId = `dept_bench_bare_${randomBytes(4).toString('hex')}`;
  const worker = await startChild(
    `${arm} worker`,
    process.execPath,
    [...process.execArgv, __filename, 'bare-worker'],
    {
      ...process.env,
      BENCH_BARE_REDIS_URL: redisUrl,
      BENCH_BARE_DATABASE_URL: durable ? ctx.infra.databaseUrl : '',
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
  queue.on('error', (error) => console.error(`${arm} queue error: ${error.message}`));
  const store = async (jobs: BareJob[]) => {
    if (!durable) return;
    for (const job of jobs) {
      job.eventId = newId('evt');
      job.deliveryId = newId('dlv');
    }
    const completedAt = new Date().toISOString();
    await ctx.dataSource.query(DURABLE_PUBLISH, [
      jobs.map((j) => j.eventId),
      jobs.map((j) => JSON.stringify(j.sentAt === undefined ? eventData(j.i, completedAt) : { ...eventData(j.i, completedAt), sentAt: j.sentAt })),
      departmentId,
      jobs.map((j) => j.deliveryId),
    ]);
  };
  return {
    worker,
    async publish(path, first, count) {
      for (let offset = 0; offset < count; offset += ADD_BULK_CHUNK) {
        if (abort.signal.aborted) throw new Error('interrupted');
        const jobs: BareJob[] = Array.from({ length: Math.min(ADD_BULK_CHUNK, count - offset) }, (_, k) => ({ path, i: first + offset + k }));
        await store(jobs);
        await queue.addBulk(jobs.map((data) => ({ name: 'post', data })));
      }
    },
    async publishOne(path, i, sentAt) {
      const job: BareJob = { path, i, sentAt };
      await store([job]);
      await queue.add('post', job);
    },
    async close() {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close().catch(() => undefined);
      await stopChildren(ctx, [worker]);
    },
  };
}

/** bare durable: the deliveries logged as succeeded. */
async function durableSucceeded(ctx: Context): Promise<number> {
  const rows: { n: number }[] = await ctx.dataSource.query(`SELECT count(*)::int AS n FROM bench_durable_deliveries WHERE status = 'succeeded'`);
  return rows[0].n;
}

/** bare durable: resolves with performance.now() once `expected` deliveries are logged as succeeded (bounded like every wait). */
async function waitForDurableLogged(ctx: Context, expected: number, what: string, worker: Child): Promise<number> {
  const expired = progressDeadline();
  for (;;) {
    const n = await durableSucceeded(ctx);
    if (n >= expected) return performance.now();
    if (worker.exitCode() !== null) throw new Error(`${worker.name} exited (${worker.exitCode()}) before the log was complete:\n${worker.tail()}`);
    const why = expired(n);
    if (why) throw new Error(`${what}: only ${n} of ${expected} deliveries logged as succeeded (${why})`);
    await sleep(20);
  }
}

const truncateDurable = (ctx: Context) => ctx.dataSource.query(`TRUNCATE ${DURABLE_TABLES.join(', ')}`);

interface ArmResult {
  /** Deliveries per second to the receiver (first publish → last distinct arrival). */
  rate: number;
  /** …until all were logged as succeeded (bare durable and pipeline). */
  loggedRate: number | null;
  /** CPU from the first publish to the last arrival. */
  cpu: CpuPerDelivery;
}

async function runBare(ctx: Context, arm: BareArm, round: number): Promise<ArmResult | null> {
  const durable = arm === 'bare-durable';
  let setup: BareSetup | undefined;
  try {
    if (durable) await truncateDurable(ctx);
    setup = await startBare(ctx, arm, String(round));
    const { worker } = setup;
    if (WARMUP > 0) {
      // Every round: each round's bare worker is a new process (the pipeline's worker warms once).
      const warm = ctx.receiver.sink(`/${arm}-warm-${round}`, WARMUP);
      await setup.publish(`/${arm}-warm-${round}`, 0, WARMUP);
      await waitForSink(warm, `${arm} warm-up`, [worker]);
      if (durable) {
        await waitForDurableLogged(ctx, WARMUP, `${arm} warm-up`, worker);
        await truncateDurable(ctx);
      }
      await settle(SETTLE_MAX_MS, SETTLED_BUSY_PERCENT); // the warm-up's tail (job removals) is not measured
    }
    const sink = ctx.receiver.sink(`/${arm}-${round}`, EVENTS);
    const cpu = startCpuWindow([...baseProbes(ctx), childProbe(worker)]);
    const started = performance.now();
    await setup.publish(`/${arm}-${round}`, 0, EVENTS);
    const published = performance.now();
    await waitForSink(sink, arm, [worker]);
    const window = cpu.finish();
    const seconds = (sink.doneAt! - started) / 1000;
    const loggedSeconds = durable ? ((await waitForDurableLogged(ctx, EVENTS, arm, worker)) - started) / 1000 : null;
    const result: ArmResult = { rate: EVENTS / seconds, loggedRate: loggedSeconds === null ? null : EVENTS / loggedSeconds, cpu: cpuPerDelivery(window, EVENTS) };
    const duplicates = sink.requests - sink.ids.size;
    ctx.cpuNotes.push(cpuLine(`${arm}, round ${round}`, window));
    ctx.report.push(
      durable
        ? `${round}. bare durable → receiver        ${fmt(result.rate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(seconds, 2)} s; publishing took ${fmt((published - started) / 1000, 2)} s)   duplicates ${duplicates}\n` +
            `${round}. bare durable → all logged      ${fmt(result.loggedRate!).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(loggedSeconds!, 2)} s)`
        : `${round}. bare BullMQ + undici POST      ${fmt(result.rate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(seconds, 2)} s; addBulk done after ${fmt((published - started) / 1000, 2)} s)   duplicates ${duplicates}`,
    );
    return result;
  } catch (error) {
    ctx.failures.push(`${arm} (round ${round}): ${(error as Error).message}`);
    return null;
  } finally {
    await setup?.close();
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

async function runPipeline(ctx: Context, worker: Child, publisher: EventPublisher, round: number): Promise<ArmResult | null> {
  try {
    if (WARMUP > 0 && round === 1) {
      const warmHook = await createWebhook(ctx, 'warm', `${ctx.receiver.url}/pipe-warm`);
      const warm = ctx.receiver.sink('/pipe-warm', WARMUP);
      await publishAll(publisher, warmHook.departmentId, WARMUP);
      await waitForSink(warm, 'pipeline warm-up', [worker]);
    }
    await settle(SETTLE_MAX_MS, SETTLED_BUSY_PERCENT); // nor its log writes, nor the bare runs' aftermath
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
    const result: ArmResult = { rate: EVENTS / receiverSeconds, loggedRate: EVENTS / loggedSeconds, cpu: cpuPerDelivery(receiverWindow, EVENTS) };
    ctx.cpuNotes.push(cpuLine(`pipeline, round ${round} (publish → last delivery received)`, receiverWindow));
    const stages = await stageReport(ctx, departmentId, webhookId, performance.timeOrigin + started, false);
    ctx.report.push(
      `${round}. pipeline → receiver            ${fmt(result.rate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(receiverSeconds, 2)} s; publishing took ${fmt((published - started) / 1000, 2)} s = ${fmt(EVENTS / ((published - started) / 1000))} events/s)   duplicates ${sink.requests - sink.ids.size}`,
      `${round}. pipeline → all logged succeeded${fmt(result.loggedRate!).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(loggedSeconds, 2)} s; log: ${statuses})`,
      stages,
    );
    return result;
  } catch (error) {
    ctx.failures.push(`pipeline (round ${round}): ${(error as Error).message}`);
    return null;
  }
}

/** Publishes `total` single events at RATE per second (each with its sentAt, epoch ms); resolves once every publish has answered. */
async function publishAtRate(total: number, publishOne: (i: number, sentAt: number) => Promise<unknown>): Promise<number> {
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
        pending.push(publishOne(i, performance.timeOrigin + performance.now()).catch((error: Error) => errors.push(error.message)));
      }
      await sleep(1);
    }
  } finally {
    await Promise.allSettled(pending);
  }
  if (errors.length > 0) throw new Error(`${errors.length} publish(es) failed, e.g. ${errors[0]}`);
  return (performance.now() - started) / 1000;
}

interface LatencyResult {
  p50: number;
  p99: number;
  /** p50/p99 of the events published in each second of the run ("12/85"), by second. */
  perSecond: string[];
  busy: number | null;
  cpu: CpuPerDelivery;
}

/** One arm's latency run: how it publishes one event, and the stage report afterwards (pipeline). */
interface LatencyArm {
  arm: Arm;
  worker: Child;
  publishOne(path: string, i: number, sentAt: number): Promise<unknown>;
  /** Before the measured run, after the warm-up (bare durable empties its tables). */
  afterWarmUp?(): Promise<void>;
  stages?(started: number): Promise<string>;
}

async function runLatency(ctx: Context, arm: LatencyArm): Promise<LatencyResult | null> {
  const total = Math.round(RATE * SECONDS);
  const { worker } = arm;
  try {
    // Steady state: once the previous measurement's aftermath is done, and after LATENCY_WARMUP seconds at the
    // same rate (connections opened, code paths warm) that are not measured.
    const settled = await settle(SETTLE_MAX_MS, SETTLED_BUSY_PERCENT);
    ctx.report.push(
      `latency, ${arm.arm}: the machine settled to ${settled.busy === null ? '?' : fmt(settled.busy)}% busy after ${fmt(settled.seconds, 1)} s` +
        `${settled.busy !== null && settled.busy >= SETTLED_BUSY_PERCENT ? ' (gave up waiting: the figures include that load)' : ''}; ` +
        `warm-up ${fmt(LATENCY_WARMUP)} s at ${fmt(RATE)}/s, not measured`,
    );
    if (LATENCY_WARMUP > 0) {
      const warmTotal = Math.round(RATE * LATENCY_WARMUP);
      const warm = ctx.receiver.sink(`/latency-warm-${arm.arm}`, warmTotal, { latency: true });
      await publishAtRate(warmTotal, (i, sentAt) => arm.publishOne(`/latency-warm-${arm.arm}`, i, sentAt));
      await waitForSink(warm, `${arm.arm} latency warm-up`, [worker]);
    }
    await arm.afterWarmUp?.();

    const path = `/latency-${arm.arm}`;
    const sink = ctx.receiver.sink(path, total, { latency: true });
    const metricsUrl = workerMetricsUrl(worker);
    const waitsBefore = await readWaitSources(ctx, metricsUrl);
    const cpu = startCpuWindow([...baseProbes(ctx), childProbe(worker)]);
    const started = performance.now();
    const startedEpoch = performance.timeOrigin + started;
    const publishSeconds = await publishAtRate(total, (i, sentAt) => arm.publishOne(path, i, sentAt));
    let timedOut: string | null = null;
    await waitForSink(sink, `${arm.arm} latency`, [worker]).catch((error: Error) => (timedOut = error.message));
    const window = cpu.finish();
    const waits = describeWaits(waitsBefore, await readWaitSources(ctx, metricsUrl));
    const sorted = [...sink.latencies].sort((a, b) => a - b);
    const ms = (v: number) => `${fmt(v, 1)} ms`;
    // By the second each event was published in: where in the run the tail is.
    const seconds: number[][] = [];
    sink.latencies.forEach((latency, k) => {
      const second = Math.max(0, Math.floor((sink.sentAts[k] - startedEpoch) / 1000));
      (seconds[second] ??= []).push(latency);
    });
    const perSecond = Array.from(seconds, (values) => {
      const second = (values ?? []).sort((a, b) => a - b);
      return second.length === 0 ? '-' : `${fmt(percentile(second, 50), 0)}/${fmt(percentile(second, 99), 0)}`;
    });
    const result: LatencyResult = {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      perSecond,
      busy: window.machineBusyPercent,
      cpu: cpuPerDelivery(window, total),
    };
    ctx.report.push(
      `latency, ${arm.arm} @ ${fmt(RATE)}/s × ${fmt(SECONDS)} s (offered ${fmt(total / publishSeconds)}/s): ${sink.ids.size}/${total} arrived   ` +
        `p50 ${ms(result.p50)}   p95 ${ms(percentile(sorted, 95))}   p99 ${ms(result.p99)}   max ${ms(sorted[sorted.length - 1] ?? NaN)}` +
        (arm.arm === 'pipeline' ? `   (target p99 < 100 ms${result.p99 < 100 ? ': met' : ': MISSED'})` : '') +
        `   duplicates ${sink.requests - sink.ids.size}` +
        (sink.badBodies ? `   unparsable bodies ${sink.badBodies}` : ''),
    );
    ctx.report.push(`  waits during the run: ${waits}`);
    ctx.cpuNotes.push(cpuLine(`latency run, ${arm.arm}`, window));
    if (arm.stages) ctx.report.push(await arm.stages(started));
    if (timedOut) throw new Error(timedOut);
    if (sink.badBodies > 0) throw new Error(`${sink.badBodies} bodies without a numeric data.sentAt`);
    return result;
  } catch (error) {
    ctx.failures.push(`latency, ${arm.arm}: ${(error as Error).message}`);
    return null;
  }
}

/** A bare arm's latency run, in a worker process of its own (stopped afterwards). */
async function runBareLatency(ctx: Context, arm: BareArm): Promise<LatencyResult | null> {
  let setup: BareSetup | undefined;
  try {
    if (arm === 'bare-durable') await truncateDurable(ctx);
    setup = await startBare(ctx, arm, 'latency');
    const bare = setup;
    return await runLatency(ctx, {
      arm,
      worker: bare.worker,
      publishOne: (path, i, sentAt) => bare.publishOne(path, i, sentAt),
      afterWarmUp:
        arm === 'bare-durable'
          ? async () => {
              await waitForDurableLogged(ctx, Math.round(RATE * LATENCY_WARMUP), `${arm} latency warm-up`, bare.worker);
              await truncateDurable(ctx);
            }
          : undefined,
    });
  } catch (error) {
    ctx.failures.push(`latency, ${arm}: ${(error as Error).message}`);
    return null;
  } finally {
    await setup?.close();
  }
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
/** Each process's median over runs. */
const medianCpu = (runs: CpuPerDelivery[]): CpuPerDelivery => ({
  worker: median(runs.map((c) => c.worker)),
  postgresql: median(runs.map((c) => c.postgresql)),
  redis: median(runs.map((c) => c.redis)),
  producer: median(runs.map((c) => c.producer)),
});
const range = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

async function run(ctx: Context): Promise<void> {
  console.log(
    `bench:delivery — N=${EVENTS}, concurrency ${CONCURRENCY} (WORKER_CONCURRENCY; WEBHOOK_MAX_IN_FLIGHT ${CONCURRENCY}), ` +
      `publishBatch ${PUBLISH_BATCH} / addBulk chunks ${ADD_BULK_CHUNK}, warm-up ${WARMUP}, ` +
      (STATS_INDEX_MODE
        ? `${ROUNDS} round(s) of the pipeline with and without the stats index (ABBA), `
        : `${ROUNDS} round(s) of ${ARMS.join(', ')}, latency ${RATE}/s × ${SECONDS} s per arm, `) +
      `body ~${Buffer.byteLength(bareBody(EVENTS, `dept_bench_pipe_${'0'.repeat(8)}`))} B, bare pool ${BARE_CONNECTIONS} connections, ` +
      setupLabel(ctx.infra),
  );
  await printMachineBusy();
  await ctx.dataSource.query(CREATE_DURABLE_TABLES);
  try {
    await measure(ctx);
  } finally {
    await ctx.dataSource.query(`DROP TABLE IF EXISTS ${DURABLE_TABLES.join(', ')}`).catch(() => undefined);
  }
}

/** The console's stats index: its own migration creates and drops it, so the bench measures exactly what ships. */
async function setStatsIndex(ctx: Context, present: boolean): Promise<void> {
  const runner = ctx.dataSource.createQueryRunner();
  try {
    const Migration = MIGRATIONS.find((m) => m.name === 'WebhookAttemptedIndex1764270000000')!;
    const migration = new Migration();
    await (present ? migration.up(runner) : migration.down(runner));
  } finally {
    await runner.release();
  }
}

/**
 * BENCH_MODE=stats-index: what the stats index (IDX_deliveries_webhook_attempted, for GET …/stats)
 * costs the pipeline. Each round runs the pipeline with and without it, the order alternating between
 * rounds (with first in odd rounds, without first in even ones: AB, BA, AB…; the log grows through the
 * run, and each variant sees both earlier and later tables); the ratio is the median of the rounds'
 * with/without, with the range, and CPU ms per delivery per process.
 */
async function measureStatsIndex(ctx: Context): Promise<void> {
  const publisher = ctx.publisher();
  const worker = await startWorker(ctx, 'worker');
  const variants = ['with index', 'without index'] as const;
  const results: Record<(typeof variants)[number], ArmResult[]> = { 'with index': [], 'without index': [] };
  // WAL written per delivery: an index's cost on disk and on replicas, which CPU alone does not show.
  const walBytes: Record<(typeof variants)[number], number[]> = { 'with index': [], 'without index': [] };
  const walPosition = async () => (await ctx.dataSource.query<{ lsn: string }[]>(`SELECT pg_current_wal_lsn()::text AS lsn`))[0].lsn;
  const ratios: number[] = [];
  let run = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? variants : ([...variants].reverse() as unknown as typeof variants);
      const pair = new Map<string, ArmResult>();
      for (const variant of order) {
        await setStatsIndex(ctx, variant === 'with index');
        ctx.report.push(`round ${round}, ${variant}:`);
        const walBefore = await walPosition();
        const result = await runPipeline(ctx, worker, publisher, ++run);
        if (abort.signal.aborted) throw new Error('interrupted');
        if (!result) continue;
        const [{ bytes }] = await ctx.dataSource.query<{ bytes: number }[]>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 AS bytes`, [walBefore]);
        walBytes[variant].push(bytes / EVENTS);
        ctx.report.push(`  WAL ${fmt(bytes / EVENTS)} B per delivery (publish, deliveries, log)`);
        pair.set(variant, result);
        results[variant].push(result);
      }
      const [withIndex, without] = [pair.get('with index'), pair.get('without index')];
      if (withIndex && without) ratios.push(withIndex.rate / without.rate);
    }
  } finally {
    await setStatsIndex(ctx, true);
  }
  console.log(ctx.report.join('\n'));
  console.log(ctx.cpuNotes.join('\n'));
  if (ratios.length > 0) {
    console.log(`ratio pipeline with/without stats index: ${median(ratios).toFixed(2)} (${range(ratios)}; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
  }
  for (const variant of variants) {
    const cpu = results[variant].map((r) => r.cpu);
    if (cpu.length === 0) continue;
    console.log(
      `CPU ms per delivery, pipeline ${variant.padEnd(13)} (median of ${cpu.length} run(s)): ${cpuPerDeliveryText(medianCpu(cpu))}; ` +
        `WAL ${fmt(median(walBytes[variant]))} B per delivery (${walBytes[variant].map((b) => fmt(b)).join(', ')})`,
    );
  }
}

async function measure(ctx: Context): Promise<void> {
  if (STATS_INDEX_MODE) return measureStatsIndex(ctx);
  // 1–3, ROUNDS times: bare, bare durable (each a new process per round), then the real worker (started once, idle meanwhile).
  const publisher = ctx.publisher();
  const worker = await startWorker(ctx, 'worker');
  const rounds: Record<Arm, ArmResult | null>[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const bare = await runBare(ctx, 'bare', round);
    if (abort.signal.aborted) throw new Error('interrupted');
    const durable = await runBare(ctx, 'bare-durable', round);
    if (abort.signal.aborted) throw new Error('interrupted');
    const pipeline = await runPipeline(ctx, worker, publisher, round);
    if (abort.signal.aborted) throw new Error('interrupted');
    rounds.push({ bare, 'bare-durable': durable, pipeline });
  }

  // 4. Latency at the same fixed rate, one arm after the other.
  const latency: Record<Arm, LatencyResult | null> = { bare: null, 'bare-durable': null, pipeline: null };
  latency.bare = await runBareLatency(ctx, 'bare');
  if (abort.signal.aborted) throw new Error('interrupted');
  latency['bare-durable'] = await runBareLatency(ctx, 'bare-durable');
  if (abort.signal.aborted) throw new Error('interrupted');
  // One webhook per path (warm-up, measured run), each alone in its department, created beforehand.
  const latencyHooks = new Map<string, { departmentId: string; webhookId: string }>();
  for (const path of ['/latency-warm-pipeline', '/latency-pipeline']) {
    latencyHooks.set(path, await createWebhook(ctx, path.slice(1), `${ctx.receiver.url}${path}`));
  }
  latency.pipeline = await runLatency(ctx, {
    arm: 'pipeline',
    worker,
    publishOne: (path, i, sentAt) =>
      publisher.publish({ type: 'SURVEY_COMPLETED', departmentId: latencyHooks.get(path)!.departmentId, data: { ...eventData(i, new Date().toISOString()), sentAt } }),
    stages: (started) => {
      const { departmentId, webhookId } = latencyHooks.get('/latency-pipeline')!;
      return stageReport(ctx, departmentId, webhookId, performance.timeOrigin + started, true);
    },
  });

  console.log(ctx.report.join('\n'));
  console.log(ctx.cpuNotes.join('\n'));

  // The per-second table: one line per second of the latency runs, each arm's p50/p99 (ms) of the events published in it.
  const lengths = ARMS.map((arm) => latency[arm]?.perSecond.length ?? 0);
  if (Math.max(...lengths) > 0) {
    const label = 'latency by publish second (p50/p99 ms)';
    console.log(`${label}   ${ARMS.map((arm) => arm.padEnd(14)).join('')}`);
    for (let second = 0; second < Math.max(...lengths); second++) {
      console.log(`${`  second ${second + 1}`.padEnd(label.length)}   ${ARMS.map((arm) => (latency[arm]?.perSecond[second] ?? '-').padEnd(14)).join('')}`);
    }
    console.log(
      `machine busy during the latency runs (all ${cpus().length} cores): ` +
        ARMS.map((arm) => `${arm} ${latency[arm]?.busy == null ? 'n/a' : `${fmt(latency[arm].busy)}%`}`).join(', '),
    );
  }

  const pairs = (num: Arm, den: Arm, logged: boolean) =>
    rounds.flatMap((r) => {
      const a = r[num];
      const b = r[den];
      if (!a || !b) return [];
      const top = logged ? a.loggedRate : a.rate;
      const bottom = logged && b.loggedRate !== null ? b.loggedRate : b.rate;
      return top === null ? [] : [top / bottom];
    });
  const bareRatios = pairs('pipeline', 'bare', false);
  if (bareRatios.length > 0) {
    const ratio = median(bareRatios);
    console.log(
      `ratio pipeline/bare: ${ratio.toFixed(2)} to receiver, ${median(pairs('pipeline', 'bare', true)).toFixed(2)} to fully logged ` +
        `(median of ${bareRatios.length} round(s); to receiver ${bareRatios.map((r) => r.toFixed(2)).join(', ')})   ` +
        `(target ≥ 0.50${ratio >= 0.5 ? ': met' : ': MISSED'})`,
    );
  }
  const durableRatios = pairs('pipeline', 'bare-durable', false);
  if (durableRatios.length > 0) {
    const logged = pairs('pipeline', 'bare-durable', true);
    console.log(
      `rounds' ratios pipeline/bare-durable: to receiver ${durableRatios.map((r) => r.toFixed(2)).join(', ')}; ` +
        `both fully logged ${logged.map((r) => r.toFixed(2)).join(', ')} (median ${median(logged).toFixed(2)})`,
    );
    console.log(`ratio pipeline/bare-durable: ${median(durableRatios).toFixed(2)} (${range(durableRatios)})`);
  }
  const pipe = latency.pipeline;
  const durable = latency['bare-durable'];
  if (pipe && durable) {
    const abs = (name: string, l: LatencyResult) => `${name} p50 ${fmt(l.p50, 1)} ms, p99 ${fmt(l.p99, 1)} ms`;
    console.log(
      `latency ratio pipeline/bare-durable @ ${fmt(RATE)}/s: p50 ${(pipe.p50 / durable.p50).toFixed(2)}, p99 ${(pipe.p99 / durable.p99).toFixed(2)} ` +
        `(${abs('pipeline', pipe)}; ${abs('bare-durable', durable)}${latency.bare ? `; ${abs('bare', latency.bare)}` : ''})`,
    );
  }
  for (const arm of ARMS) {
    const results = rounds.flatMap((r) => (r[arm] ? [r[arm].cpu] : []));
    if (results.length === 0) continue;
    console.log(`CPU ms per delivery, ${arm.padEnd(12)} throughput (median of ${results.length} round(s)): ${cpuPerDeliveryText(medianCpu(results))}`);
  }
  for (const arm of ARMS) {
    const l = latency[arm];
    if (l) console.log(`CPU ms per delivery, ${arm.padEnd(12)} @ ${fmt(RATE)}/s: ${cpuPerDeliveryText(l.cpu)}`);
  }
}

if (process.argv[2] === 'bare-worker') {
  bareWorker().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  runBench({ name: 'delivery', watchdogMs: WATCHDOG_MS, run });
}
