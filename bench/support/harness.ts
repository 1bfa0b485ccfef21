import { loadConfig, WORKER_NODE_FLAGS } from '@pollarix/config';
import { Database, dataSourceOptions, runPendingMigrations } from '@pollarix/database';
import { EventPublisher } from '@pollarix/events';
import { DEFAULT_JOB_OPTIONS, QUEUE_PREFIX, QueueName } from '@pollarix/queue';
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { Child, Infra, startChild, startInfra } from './bench-infra';
import { fmt } from './format';
import { CpuProbe, startCpuWindow, treeCpuSeconds } from './proc-cpu';
import { Receiver, Sink, startBenchReceiver } from './receiver';
import { CONCURRENCY, MAX_WAIT_MS, TIMEOUT_MS } from './settings';

/**
 * What the pipeline benchmarks share around their measurements: a throw-away PostgreSQL (migrated) and
 * Redis, the receiver, the repositories, real worker processes, bounded waits, and an orderly stop of
 * everything the run started — on success, on failure, on a signal, or by the watchdog.
 */

export const WORKER_MAIN = resolve(__dirname, '..', '..', 'dist', 'apps', 'worker', 'main.js');

/** Aborted by the first SIGINT/SIGTERM/SIGHUP: the current step ends, then everything is stopped. */
export const abort = new AbortController();

/** Machine busy above this before a run: other load is running. */
export const OTHER_LOAD_PERCENT = 20;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Context {
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
  /** The producer's handle on a pipeline queue: opened on first use, closed at the end. */
  queue(name: QueueName): Queue;
  /** EventPublisher on the deliveries queue (opened on first use). */
  publisher(): EventPublisher;
}

/** A bounded wait: fails after TIMEOUT_MS without progress, or after MAX_WAIT_MS in any case. */
export function progressDeadline(): (progress: number) => string | null {
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

/** The first of `workers` that has exited, if any. */
export const exitedWorker = (workers: readonly Child[]): Child | undefined => workers.find((w) => w.exitCode() !== null);

/** Resolves once `sink` has seen `target` distinct webhook-ids; rejects on timeout, abort, or a dead worker. */
export async function waitForSink(sink: Sink, what: string, workers: readonly Child[]): Promise<void> {
  const expired = progressDeadline();
  while (sink.ids.size < sink.target) {
    if (abort.signal.aborted) throw new Error('interrupted');
    const dead = exitedWorker(workers);
    if (dead) throw new Error(`${dead.name} exited (${dead.exitCode()}) during ${what}:\n${dead.tail()}`);
    const why = expired(sink.ids.size);
    if (why) throw new Error(`${what}: only ${sink.ids.size} of ${sink.target} deliveries arrived (${why})`);
    await sleep(5);
  }
}

/** CPU probes for this process (producer and receiver) and the servers this run started. */
export function baseProbes(ctx: Context): CpuProbe[] {
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

/** A CPU probe for a child process (and its descendants), under the child's name. */
export const childProbe = (child: Child): CpuProbe => ({ name: child.name, read: () => treeCpuSeconds(child.pid) });

/**
 * Spawns a real worker (dist/apps/worker/main.js) on loopback, with its own ephemeral HTTP port, and
 * adds it to the children stopped at the end, with the node flags it ships with (WORKER_NODE_FLAGS).
 * BENCH_WORKER_NODE_ARGS: more node flags for the worker only, after those (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof", which NODE_OPTIONS does not allow). BENCH_WORKER_LOG_LEVEL: the worker's
 * LOG_LEVEL (warn; at info it writes one line per attempt, read here through a pipe). `concurrency`:
 * its WORKER_CONCURRENCY, and its per-webhook and per-department in-flight limits (per process) set to
 * the same, so that they never throttle a benchmark's single webhook.
 */
export async function startWorker(ctx: Context, name: string, concurrency = CONCURRENCY): Promise<Child> {
  const workerNodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const worker = await startChild(
    name,
    process.execPath,
    [...WORKER_NODE_FLAGS, ...workerNodeArgs, WORKER_MAIN],
    {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: ctx.infra.databaseUrl,
      REDIS_URL: ctx.infra.redisUrl,
      SECRETS_ENCRYPTION_KEY: ctx.secretsKey,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? 'warn',
      HOST: '127.0.0.1',
      WORKER_HTTP_PORT: '0',
      WORKER_CONCURRENCY: String(concurrency),
      WEBHOOK_MAX_IN_FLIGHT: String(concurrency),
      DEPARTMENT_MAX_IN_FLIGHT: String(concurrency),
    },
    'worker ready',
    60_000,
  );
  ctx.children.push(worker);
  return worker;
}

/** SIGTERM to each (by its handle, together); resolves once all have exited and left ctx.children. */
export async function stopChildren(ctx: Context, children: readonly Child[]): Promise<void> {
  await Promise.all(children.map((child) => child.stop()));
  for (const child of children) {
    const index = ctx.children.indexOf(child);
    if (index >= 0) ctx.children.splice(index, 1);
  }
}

/** "2 cores, Node v…, PostgreSQL embedded, Redis local (no AOF)": the setting every figure depends on. */
export const setupLabel = (infra: Infra): string =>
  `${cpus().length} cores, Node ${process.version}, ` +
  `PostgreSQL ${infra.postgresPid ? 'embedded' : 'DATABASE_URL'}, Redis ${infra.redisPid ? 'local (no AOF)' : 'REDIS_URL'}`;

/** How busy the machine was (percent of all cores) over the next `ms`; null where /proc cannot say. */
async function machineBusyOver(ms: number): Promise<number | null> {
  const window = startCpuWindow([]);
  await sleep(ms);
  return window.finish().machineBusyPercent;
}

/**
 * Other load on the machine skews every figure: measure it for a second and say so up front. Returns
 * the busy percentage (null where /proc is not there).
 */
export async function printMachineBusy(): Promise<number | null> {
  const busy = await machineBusyOver(1_000);
  if (busy === null) return null;
  console.log(`machine busy ${fmt(busy)}% in the second before the run${busy > OTHER_LOAD_PERCENT ? ' — other load is running: figures will be low and noisy' : ''}`);
  return busy;
}

/**
 * Waits (at most `maxMs`) until the machine has been less than `busyPercent` busy over half a second:
 * what one measurement leaves behind (vacuum, queue clean-up, log writes) must not be billed to the next.
 */
export async function settle(maxMs: number, busyPercent: number): Promise<{ seconds: number; busy: number | null }> {
  const started = performance.now();
  let busy: number | null = null;
  while (performance.now() - started < maxMs) {
    busy = await machineBusyOver(500);
    if (busy === null || busy < busyPercent) break;
  }
  return { seconds: (performance.now() - started) / 1000, busy };
}

export interface BenchOptions {
  /** As in `npm run bench:<name>`; also names the scratch folder under .data/bench. */
  name: string;
  /** The whole run, whatever happens. */
  watchdogMs: number;
  /** The measurements: push failures to ctx.failures (the exit code says whether there were any). */
  run: (ctx: Context) => Promise<void>;
}

async function main({ name, watchdogMs, run }: BenchOptions): Promise<void> {
  if (!existsSync(WORKER_MAIN)) throw new Error(`${WORKER_MAIN} is missing: run through \`npm run bench:${name}\` (it builds)`);
  const scratch = resolve('.data', 'bench', `${name}-${process.pid}`);
  const children: Child[] = [];
  const queues = new Map<QueueName, Queue>();
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
    })().catch((error: unknown) => {
      console.error(`emergency stop failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (abort.signal.aborted) return emergencyStop(`${signal} again`);
      console.error(`\n${signal}: finishing the current step, then stopping everything this benchmark started…`);
      abort.abort();
    });
  }
  const watchdog = setTimeout(() => emergencyStop(`watchdog: still running after ${watchdogMs} ms`), watchdogMs);
  watchdog.unref();

  let receiver: Receiver | undefined;
  let dataSource: DataSource | undefined;
  try {
    infra = await startInfra(scratch);
    await runPendingMigrations(infra.databaseUrl, { logging: false });

    const secretsKey = process.env.SECRETS_ENCRYPTION_KEY ?? randomBytes(32).toString('hex');
    const config = loadConfig({ env: { DATABASE_URL: infra.databaseUrl, REDIS_URL: infra.redisUrl, SECRETS_ENCRYPTION_KEY: secretsKey } });
    dataSource = new DataSource(dataSourceOptions(infra.databaseUrl, { logging: ['error'] }));
    await dataSource.initialize();
    receiver = await startBenchReceiver();
    const redisUrl = infra.redisUrl;
    const queue = (queueName: QueueName): Queue => {
      let opened = queues.get(queueName);
      if (!opened) {
        opened = new Queue(queueName, { connection: { url: redisUrl }, prefix: QUEUE_PREFIX, defaultJobOptions: DEFAULT_JOB_OPTIONS });
        opened.on('error', (error) => console.error(`${queueName} queue error: ${error.message}`));
        queues.set(queueName, opened);
      }
      return opened;
    };
    const db = new Database(dataSource, config);
    let publisher: EventPublisher | undefined;
    const ctx: Context = {
      infra,
      receiver,
      db,
      dataSource,
      secretsKey,
      children,
      failures: [],
      report: [],
      cpuNotes: [],
      queue,
      publisher: () => (publisher ??= new EventPublisher(db, queue(QueueName.Deliveries))),
    };

    await run(ctx);
    if (ctx.failures.length > 0) {
      console.error(`FAILED:\n  ${ctx.failures.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    clearTimeout(watchdog);
    for (const child of [...children].reverse()) await child.stop().catch(() => undefined);
    for (const opened of queues.values()) await opened.close().catch(() => undefined);
    await dataSource?.destroy().catch(() => undefined);
    await receiver?.close();
    await infra?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs a benchmark to its end; exits non-zero when it failed (a target missed is not a failure). */
export function runBench(options: BenchOptions): void {
  main(options)
    .catch((error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    })
    // Everything was stopped by its handle; should a stray handle keep the loop alive, do not hang.
    .finally(() => setTimeout(() => process.exit(), 2_000).unref());
}
