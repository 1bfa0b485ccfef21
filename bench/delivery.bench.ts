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
 * Settings (environment): BENCH_EVENTS (20000), WORKER_CONCURRENCY (100), BENCH_RATE (500 events/s),
 * BENCH_SECONDS (10), BENCH_WARMUP (1000 jobs/events before each measured run), BENCH_TIMEOUT_MS
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
import { loadConfig } from '@pollarix/config';
import { Database, dataSourceOptions } from '@pollarix/database';
import { generateSecret } from '@pollarix/delivery';
import { EventPublisher } from '@pollarix/events';
import { DEFAULT_JOB_OPTIONS, QUEUE_PREFIX, QueueName } from '@pollarix/queue';
import { Job, Queue, Worker } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { Agent, request } from 'undici';
import { Child, Infra, startChild, startInfra } from './support/bench-infra';
import { CpuProbe, machineCpuSeconds, startCpuWindow, treeCpuSeconds } from './support/proc-cpu';
import { Receiver, Sink, startBenchReceiver } from './support/receiver';

const int = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return value;
};

const EVENTS = Math.round(int('BENCH_EVENTS', 20_000));
const CONCURRENCY = Math.round(int('WORKER_CONCURRENCY', 100));
const RATE = int('BENCH_RATE', 500);
const SECONDS = int('BENCH_SECONDS', 10);
const WARMUP = Math.round(process.env.BENCH_WARMUP === '0' ? 0 : int('BENCH_WARMUP', 1_000));
const TIMEOUT_MS = int('BENCH_TIMEOUT_MS', 120_000);
const MAX_WAIT_MS = int('BENCH_MAX_WAIT_MS', 900_000);
/** The whole run, whatever happens: three long waits and some. */
const WATCHDOG_MS = 3 * MAX_WAIT_MS + 300_000;
const BARE_CONNECTIONS = Math.round(int('BENCH_BARE_CONNECTIONS', 50));
const PUBLISH_BATCH = 500;
const ADD_BULK_CHUNK = 500;
const WORKER_MAIN = resolve(__dirname, '..', 'dist', 'apps', 'worker', 'main.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

/** The `data` of every benchmark event (bare and pipeline alike), so that both bodies are the same size. */
function eventData(i: number, completedAt: string): Record<string, unknown> {
  return {
    surveyId: `srv_bench_${i % 97}`,
    responseId: `rsp_bench_${String(i).padStart(8, '0')}`,
    completedAt,
    score: 42,
    respondent: { externalId: `cust_${String(i).padStart(8, '0')}`, locale: 'en-GB' },
  };
}

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

const abort = new AbortController();

/** A bounded wait: fails after TIMEOUT_MS without progress, or after MAX_WAIT_MS in any case. */
function progressDeadline(): (progress: number) => string | null {
  const started = performance.now();
  let last = -1;
  let lastAt = started;
  return (progress) => {
    const now = performance.now();
    if (progress > last) {
      last = progress;
      lastAt = now;
    }
    if (now - lastAt > TIMEOUT_MS) return `no progress for ${TIMEOUT_MS} ms`;
    if (now - started > MAX_WAIT_MS) return `still not done after ${MAX_WAIT_MS} ms`;
    return null;
  };
}

/** Resolves once `sink` has seen `target` distinct webhook-ids; rejects on timeout, abort, or a dead worker. */
async function waitForSink(sink: Sink, what: string, worker: Child): Promise<void> {
  const expired = progressDeadline();
  while (sink.ids.size < sink.target) {
    if (abort.signal.aborted) throw new Error('interrupted');
    if (worker.exitCode() !== null) throw new Error(`${worker.name} exited (${worker.exitCode()}) during ${what}:\n${worker.tail()}`);
    const why = expired(sink.ids.size);
    if (why) throw new Error(`${what}: only ${sink.ids.size} of ${sink.target} deliveries arrived (${why})`);
    await sleep(5);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function cpuLine(label: string, window: ReturnType<ReturnType<typeof startCpuWindow>['finish']>): string {
  const parts = window.shares.map((s) => `${s.name} ${fmt(s.percentOfCore)}%`);
  let machine = '';
  if (window.machineBusyPercent !== null) {
    const ours = window.shares.reduce((sum, s) => sum + s.percentOfCore, 0);
    const others = Math.max(0, (window.machineBusyPercent * cpus().length) - ours);
    machine = `; machine busy ${fmt(window.machineBusyPercent)}% of ${cpus().length} cores (processes not started by this run ≈ ${fmt(others)}% of a core)`;
  }
  return `  CPU during ${label} (${fmt(window.wallSeconds, 1)} s, % of one core): ${parts.join(', ')}${machine}`;
}

interface Context {
  infra: Infra;
  receiver: Receiver;
  db: Database;
  dataSource: DataSource;
  secretsKey: string;
  /** Children to stop at the end, in reverse order. */
  children: Child[];
  failures: string[];
  report: string[];
  cpuNotes: string[];
}

function baseProbes(ctx: Context): CpuProbe[] {
  const probes: CpuProbe[] = [
    {
      name: 'bench (producer+receiver)',
      read: () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6;
      },
    },
  ];
  if (ctx.infra.postgresPid) probes.push({ name: 'postgresql', read: () => treeCpuSeconds(ctx.infra.postgresPid) });
  if (ctx.infra.redisPid) probes.push({ name: 'redis', read: () => treeCpuSeconds(ctx.infra.redisPid) });
  return probes;
}

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

async function runBare(ctx: Context): Promise<BareResult | null> {
  const queueName = `bench-bare-${process.pid}`;
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
      const warm = ctx.receiver.sink('/bare-warm', WARMUP);
      await addJobs('/bare-warm', WARMUP);
      await waitForSink(warm, 'bare warm-up', worker);
      await sleep(500);
    }
    const sink = ctx.receiver.sink('/bare', EVENTS);
    const cpu = startCpuWindow([...baseProbes(ctx), { name: 'bare worker', read: () => treeCpuSeconds(worker.pid) }]);
    const started = performance.now();
    await addJobs('/bare', EVENTS);
    const added = performance.now();
    await waitForSink(sink, 'bare baseline', worker);
    const window = cpu.finish();
    const seconds = (sink.doneAt! - started) / 1000;
    const result = { rate: EVENTS / seconds, seconds, duplicates: sink.requests - sink.ids.size };
    ctx.cpuNotes.push(cpuLine('bare', window));
    ctx.report.push(
      `bare BullMQ + undici POST         ${fmt(result.rate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(seconds, 2)} s; addBulk done after ${fmt((added - started) / 1000, 2)} s)   duplicates ${result.duplicates}`,
    );
    return result;
  } catch (error) {
    ctx.failures.push(`bare: ${(error as Error).message}`);
    return null;
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await worker.stop();
    ctx.children.splice(ctx.children.indexOf(worker), 1);
  }
}

async function createWebhook(ctx: Context, label: string, url: string): Promise<{ departmentId: string; webhookId: string }> {
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

async function publishAll(publisher: EventPublisher, departmentId: string, count: number): Promise<void> {
  for (let offset = 0; offset < count; offset += PUBLISH_BATCH) {
    if (abort.signal.aborted) throw new Error('interrupted');
    const completedAt = new Date().toISOString();
    const size = Math.min(PUBLISH_BATCH, count - offset);
    await publisher.publishBatch(
      Array.from({ length: size }, (_, k) => ({ type: 'SURVEY_COMPLETED', departmentId, data: eventData(offset + k, completedAt) })),
    );
  }
}

async function countSucceeded(ctx: Context, webhookId: string): Promise<number> {
  const rows: { n: number }[] = await ctx.dataSource.query(
    `SELECT count(*)::int AS n FROM deliveries WHERE webhook_id = $1 AND status = 'succeeded'`,
    [webhookId],
  );
  return rows[0].n;
}

const q = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));

/**
 * Where an event's time went, from the timestamps the pipeline itself stores (read after the run, so
 * it adds no load): stored (events.created_at), fanned out (events.fanned_out_at), attempt sent
 * (delivery_attempts.requested_at, after the delivery row's created_at), relative to the first publish.
 */
async function stageReport(ctx: Context, departmentId: string, webhookId: string, startEpochMs: number, withSentAt: boolean): Promise<string> {
  const [e] = (await ctx.dataSource.query(
    `SELECT 1000 * extract(epoch FROM max(created_at)) AS last_stored,
            1000 * extract(epoch FROM max(fanned_out_at)) AS last_fanned,
            1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fanned_out_at - created_at)) AS fan_p50,
            1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fanned_out_at - created_at)) AS fan_p99
            ${withSentAt ? `, percentile_cont(0.5) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM created_at) - (data->>'sentAt')::float8) AS store_p50,
                             percentile_cont(0.99) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM created_at) - (data->>'sentAt')::float8) AS store_p99` : ''}
       FROM events WHERE department_id = $1`,
    [departmentId],
  )) as Record<string, unknown>[];
  const [d] = (await ctx.dataSource.query(
    `SELECT 1000 * extract(epoch FROM max(a.requested_at)) AS last_sent,
            1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.requested_at - d.created_at)) AS queue_p50,
            1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.requested_at - d.created_at)) AS queue_p99,
            avg(a.duration_ms) AS http_avg, max(a.duration_ms) AS http_max
       FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
      WHERE d.webhook_id = $1`,
    [webhookId],
  )) as Record<string, unknown>[];
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
  loggedRate: number | null;
  duplicates: number;
}

async function runPipeline(ctx: Context, worker: Child, publisher: EventPublisher): Promise<PipelineResult | null> {
  try {
    if (WARMUP > 0) {
      const warmHook = await createWebhook(ctx, 'warm', `${ctx.receiver.url}/pipe-warm`);
      const warm = ctx.receiver.sink('/pipe-warm', WARMUP);
      await publishAll(publisher, warmHook.departmentId, WARMUP);
      await waitForSink(warm, 'pipeline warm-up', worker);
      await sleep(1_000);
    }
    const { departmentId, webhookId } = await createWebhook(ctx, 'pipe', `${ctx.receiver.url}/pipe`);
    const sink = ctx.receiver.sink('/pipe', EVENTS);
    const cpu = startCpuWindow([...baseProbes(ctx), { name: 'worker', read: () => treeCpuSeconds(worker.pid) }]);
    const started = performance.now();
    await publishAll(publisher, departmentId, EVENTS);
    const published = performance.now();
    await waitForSink(sink, 'pipeline', worker);
    const receiverSeconds = (sink.doneAt! - started) / 1000;
    const receiverWindow = cpu.finish();

    // The log is written after each response: poll it only once the receiver has everything.
    let loggedSeconds: number | null = null;
    const expired = progressDeadline();
    for (;;) {
      const n = await countSucceeded(ctx, webhookId);
      if (n >= EVENTS) {
        loggedSeconds = (performance.now() - started) / 1000;
        break;
      }
      if (worker.exitCode() !== null) throw new Error(`worker exited (${worker.exitCode()}) before the log was complete:\n${worker.tail()}`);
      const why = expired(n);
      if (why) throw new Error(`pipeline: only ${n} of ${EVENTS} deliveries logged as succeeded (${why})`);
      await sleep(20);
    }
    const statuses: { status: string; n: number; attempts: number }[] = await ctx.dataSource.query(
      `SELECT status, count(*)::int AS n, sum(attempts)::int AS attempts FROM deliveries WHERE webhook_id = $1 GROUP BY status ORDER BY status`,
      [webhookId],
    );
    const result: PipelineResult = {
      receiverRate: EVENTS / receiverSeconds,
      loggedRate: EVENTS / loggedSeconds,
      duplicates: sink.requests - sink.ids.size,
    };
    ctx.cpuNotes.push(cpuLine('pipeline (publish → last delivery received)', receiverWindow));
    const stages = await stageReport(ctx, departmentId, webhookId, performance.timeOrigin + started, false);
    ctx.report.push(
      `pipeline → receiver               ${fmt(result.receiverRate).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(receiverSeconds, 2)} s; publishing took ${fmt((published - started) / 1000, 2)} s = ${fmt(EVENTS / ((published - started) / 1000))} events/s)   duplicates ${result.duplicates}`,
      `pipeline → all logged succeeded   ${fmt(result.loggedRate!).padStart(7)} deliveries/s   (${EVENTS} in ${fmt(loggedSeconds, 2)} s; log: ${statuses.map((s) => `${s.status} ${s.n} (${s.attempts} attempts)`).join(', ')})`,
      stages,
    );
    return result;
  } catch (error) {
    ctx.failures.push(`pipeline: ${(error as Error).message}`);
    return null;
  }
}

async function runLatency(ctx: Context, worker: Child, publisher: EventPublisher): Promise<void> {
  const total = Math.round(RATE * SECONDS);
  const { departmentId, webhookId } = await createWebhook(ctx, 'latency', `${ctx.receiver.url}/latency`);
  const sink = ctx.receiver.sink('/latency', total, { latency: true });
  const errors: string[] = [];
  const pending: Promise<unknown>[] = [];
  await sleep(1_000); // let the throughput run's tail (log writes, removals) settle
  const cpu = startCpuWindow([...baseProbes(ctx), { name: 'worker', read: () => treeCpuSeconds(worker.pid) }]);
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
    const publishSeconds = (performance.now() - started) / 1000;
    await Promise.all(pending);
    if (errors.length > 0) throw new Error(`${errors.length} publish(es) failed, e.g. ${errors[0]}`);
    let timedOut: string | null = null;
    await waitForSink(sink, 'latency', worker).catch((error: Error) => (timedOut = error.message));
    const window = cpu.finish();
    const sorted = [...sink.latencies].sort((a, b) => a - b);
    const ms = (v: number) => `${fmt(v, 1)} ms`;
    ctx.report.push(
      `latency @ ${fmt(RATE)}/s × ${fmt(SECONDS)} s (offered ${fmt(total / publishSeconds)}/s): ${sink.ids.size}/${total} arrived   ` +
        `p50 ${ms(percentile(sorted, 50))}   p95 ${ms(percentile(sorted, 95))}   p99 ${ms(percentile(sorted, 99))}   max ${ms(sorted[sorted.length - 1] ?? NaN)}   ` +
        `(target p99 < 100 ms${percentile(sorted, 99) < 100 ? ': met' : ': MISSED'})   duplicates ${sink.requests - sink.ids.size}` +
        (sink.badBodies ? `   unparsable bodies ${sink.badBodies}` : ''),
    );
    ctx.cpuNotes.push(cpuLine('latency run', window));
    ctx.report.push(await stageReport(ctx, departmentId, webhookId, performance.timeOrigin + started, true));
    if (timedOut) throw new Error(timedOut);
    if (sink.badBodies > 0) throw new Error(`${sink.badBodies} bodies without a numeric data.sentAt`);
  } catch (error) {
    await Promise.allSettled(pending);
    ctx.failures.push(`latency: ${(error as Error).message}`);
  }
}

async function main(): Promise<void> {
  if (!existsSync(WORKER_MAIN)) throw new Error(`${WORKER_MAIN} is missing: run through \`npm run bench:delivery\` (it builds)`);
  const scratch = resolve('.data', 'bench', `delivery-${process.pid}`);
  const children: Child[] = [];
  let infra: Infra | undefined;

  // Last resort when the orderly path is stuck (a second signal, or the watchdog): stop what we started, by handle.
  let emergency = false;
  const emergencyStop = (reason: string) => {
    if (emergency) return;
    emergency = true;
    console.error(`${reason}: stopping everything this benchmark started`);
    abort.abort();
    void (async () => {
      for (const child of [...children].reverse()) await child.stop(2_000).catch(() => undefined);
      await infra?.stop().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
      process.exit(1);
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (abort.signal.aborted) return emergencyStop(`${signal} again`);
      console.error(`\n${signal}: finishing the current step, then stopping everything this benchmark started…`);
      abort.abort();
    });
  }
  const watchdog = setTimeout(() => emergencyStop(`watchdog: still running after ${WATCHDOG_MS} ms`), WATCHDOG_MS);
  watchdog.unref();

  let receiver: Receiver | undefined;
  let dataSource: DataSource | undefined;
  let eventsQueue: Queue | undefined;
  try {
    infra = await startInfra(scratch);
    const migrations = new DataSource(dataSourceOptions(infra.databaseUrl, { logging: false }));
    await migrations.initialize();
    try {
      await migrations.runMigrations({ transaction: 'each' });
    } finally {
      await migrations.destroy();
    }

    const secretsKey = process.env.SECRETS_ENCRYPTION_KEY ?? randomBytes(32).toString('hex');
    const config = loadConfig({ env: { DATABASE_URL: infra.databaseUrl, REDIS_URL: infra.redisUrl, SECRETS_ENCRYPTION_KEY: secretsKey } });
    dataSource = new DataSource(dataSourceOptions(infra.databaseUrl, { logging: ['error'] }));
    await dataSource.initialize();
    receiver = await startBenchReceiver();
    const ctx: Context = {
      infra,
      receiver,
      db: new Database(dataSource, config),
      dataSource,
      secretsKey,
      children,
      failures: [],
      report: [],
      cpuNotes: [],
    };

    console.log(
      `bench:delivery — N=${EVENTS}, concurrency ${CONCURRENCY} (WORKER_CONCURRENCY; WEBHOOK_MAX_IN_FLIGHT ${CONCURRENCY}), ` +
        `publishBatch ${PUBLISH_BATCH} / addBulk chunks ${ADD_BULK_CHUNK}, warm-up ${WARMUP}, latency ${RATE}/s × ${SECONDS} s, ` +
        `body ~${Buffer.byteLength(bareBody(EVENTS, `dept_bench_pipe_${'0'.repeat(8)}`))} B, bare pool ${BARE_CONNECTIONS} connections, ` +
        `${cpus().length} cores, Node ${process.version}, ` +
        `PostgreSQL ${infra.postgresPid ? 'embedded' : 'DATABASE_URL'}, Redis ${infra.redisPid ? 'local (no AOF)' : 'REDIS_URL'}`,
    );

    // Other load on the machine skews every figure: say so up front.
    const idleBefore = machineCpuSeconds();
    await sleep(1_000);
    const idleAfter = machineCpuSeconds();
    if (idleBefore && idleAfter && idleAfter.total > idleBefore.total) {
      const busy = (100 * (idleAfter.busy - idleBefore.busy)) / (idleAfter.total - idleBefore.total);
      console.log(`machine busy ${fmt(busy)}% in the second before the run${busy > 20 ? ' — other load is running: figures will be low and noisy' : ''}`);
    }

    // 1. Bare baseline.
    const bare = await runBare(ctx);
    if (abort.signal.aborted) throw new Error('interrupted');

    // 2 + 3. The real worker.
    eventsQueue = new Queue(QueueName.Events, {
      connection: { url: infra.redisUrl },
      prefix: QUEUE_PREFIX,
      defaultJobOptions: DEFAULT_JOB_OPTIONS,
    });
    eventsQueue.on('error', (error) => console.error(`events queue error: ${error.message}`));
    const publisher = new EventPublisher(ctx.db, eventsQueue);
    const workerNodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const worker = await startChild(
      'worker',
      process.execPath,
      [...workerNodeArgs, WORKER_MAIN],
      {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: infra.databaseUrl,
        REDIS_URL: infra.redisUrl,
        SECRETS_ENCRYPTION_KEY: secretsKey,
        DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        WORKER_HTTP_PORT: '0',
        WORKER_CONCURRENCY: String(CONCURRENCY),
        WEBHOOK_MAX_IN_FLIGHT: String(CONCURRENCY),
      },
      'worker ready',
      60_000,
    );
    children.push(worker);
    const pipeline = await runPipeline(ctx, worker, publisher);
    if (abort.signal.aborted) throw new Error('interrupted');
    await runLatency(ctx, worker, publisher);

    console.log(ctx.report.join('\n'));
    if (bare && pipeline) {
      const ratio = pipeline.receiverRate / bare.rate;
      console.log(
        `ratio pipeline/bare: ${ratio.toFixed(2)} to receiver, ${(pipeline.loggedRate! / bare.rate).toFixed(2)} to fully logged   ` +
          `(target ≥ 0.50${ratio >= 0.5 ? ': met' : ': MISSED'})`,
      );
    }
    console.log(ctx.cpuNotes.join('\n'));
    if (ctx.failures.length > 0) {
      console.error(`FAILED:\n  ${ctx.failures.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    clearTimeout(watchdog);
    for (const child of [...children].reverse()) await child.stop().catch(() => undefined);
    await eventsQueue?.close().catch(() => undefined);
    await dataSource?.destroy().catch(() => undefined);
    await receiver?.close();
    await infra?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'bare-worker') {
  bareWorker().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main()
    .catch((error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    })
    // Everything was stopped by its handle; should a stray handle keep the loop alive, do not hang.
    .finally(() => setTimeout(() => process.exit(), 2_000).unref());
}
