/**
 * npm run bench:scale — delivery throughput with 1, 2 and 3 worker processes in one run, the scaling
 * ratios, and each worker's peak resident memory under that load (target: under 200 MB per process).
 *
 * A round per worker count N, on the same PostgreSQL and Redis: the queues obliterated and the log
 * tables vacuumed (no worker running), N real workers (dist/apps/worker/main.js) spawned, a warm-up of
 * BENCH_WARMUP events per worker (until received and logged), then BENCH_EVENTS SURVEY_COMPLETED events
 * published with EventPublisher.publishBatch to a webhook in a department of the round's own, timed
 * until the receiver has every delivery and the log holds every one as `succeeded`. Memory: VmRSS of
 * each worker sampled every 200 ms from ready to stop, and VmHWM (the kernel's peak) read just before
 * the worker is stopped (SIGTERM, awaited) — 1 MB = 10^6 bytes. The workers, PostgreSQL, Redis and this
 * process (producer and receiver) share the machine's cores: the ratios show what adding workers buys
 * on this machine, not on machines of their own.
 *
 * Settings (environment): BENCH_EVENTS (20000), WORKER_CONCURRENCY (100, per worker; and its
 * WEBHOOK_MAX_IN_FLIGHT), BENCH_WARMUP (1000 events per worker before each measured run; 0 for none),
 * BENCH_WORKERS ("1,2,3": the rounds' worker counts; ratios against the first), BENCH_TIMEOUT_MS
 * (120000: a wait fails after this long without progress), BENCH_MAX_WAIT_MS (900000: and after this
 * long in any case), BENCH_WORKER_NODE_ARGS (node flags for the workers).
 * DATABASE_URL / REDIS_URL: used when set; otherwise a throw-away PostgreSQL and Redis are started.
 *
 * Exits non-zero only when deliveries did not arrive or were not logged as succeeded — not for missing a target.
 */
import 'reflect-metadata';
import { QueueName } from '@pollarix/queue';
import { cpus } from 'node:os';
import { Child } from './support/bench-infra';
import { cpuLine, CpuWindow, fmt } from './support/format';
import {
  abort,
  baseProbes,
  childProbe,
  Context,
  OTHER_LOAD_PERCENT,
  printMachineBusy,
  runBench,
  setupLabel,
  startWorker,
  stopChildren,
  waitForSink,
} from './support/harness';
import { createWebhook, PUBLISH_BATCH, publishAll, statusSummary, waitForLogged } from './support/pipeline';
import { startCpuWindow } from './support/proc-cpu';
import { procStatusBytes, startRssSampler } from './support/proc-memory';
import { CONCURRENCY, EVENTS, MAX_WAIT_MS, WARMUP } from './support/settings';

/** The rounds: worker processes in each (BENCH_WORKERS, e.g. "1,2,3"); ratios are against the first. */
const WORKER_COUNTS = (process.env.BENCH_WORKERS?.trim() || '1,2,3').split(',').map((raw) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_WORKERS must list positive whole numbers, e.g. "1,2,3" (got "${process.env.BENCH_WORKERS}")`);
  return n;
});
const RSS_SAMPLE_MS = 200;
const RSS_TARGET_BYTES = 200e6;
/** The whole run, whatever happens: a long wait per round and some. */
const WATCHDOG_MS = WORKER_COUNTS.length * MAX_WAIT_MS + 300_000;

const mb = (bytes: number | null) => (bytes === null ? 'n/a' : `${fmt(bytes / 1e6, 1)} MB`);
const plural = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;

interface WorkerMemory {
  name: string;
  /** VmHWM just before the stop: the process's peak resident set. */
  peak: number | null;
  /** The largest VmRSS sample, and the first one (at ready). */
  sampledMax: number | null;
  atReady: number | null;
  /** Its exit code or signal, and whether it had exited before the stop. */
  exit: number | string | null;
  diedEarly: boolean;
}

interface Round {
  workers: number;
  receiverRate: number | null;
  loggedRate: number | null;
  memory: WorkerMemory[];
}

/** Fresh queue state for a round: nothing left in Redis by the previous one, the log tables' statistics current. */
async function resetBetweenRounds(ctx: Context): Promise<void> {
  for (const name of [QueueName.Events, QueueName.Deliveries]) await ctx.queue(name).obliterate({ force: true });
  await ctx.dataSource.query(`VACUUM (ANALYZE) events, deliveries, delivery_attempts`);
}

/** Starts `n` workers together; should any fail to start, the others are stopped and the error thrown. */
async function startWorkers(ctx: Context, n: number): Promise<Child[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => startWorker(ctx, `worker ${i + 1}/${n}`)));
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stopChildren(ctx, workers);
    throw failed.reason;
  }
  return workers;
}

async function runRound(ctx: Context, n: number): Promise<Round> {
  const round: Round = { workers: n, receiverRate: null, loggedRate: null, memory: [] };
  const what = plural(n);
  let workers: Child[] = [];
  let sampler: ReturnType<typeof startRssSampler> | undefined;
  const atReady = new Map<number, number | null>();
  let cpuWindow: CpuWindow | undefined;
  try {
    await resetBetweenRounds(ctx);
    workers = await startWorkers(ctx, n);
    sampler = startRssSampler(
      workers.map((w) => w.pid),
      RSS_SAMPLE_MS,
    );
    for (const w of workers) atReady.set(w.pid, procStatusBytes(w.pid, 'VmRSS'));
    const publisher = ctx.publisher();

    if (WARMUP > 0) {
      const warmCount = WARMUP * n;
      const warmHook = await createWebhook(ctx, `warm${n}`, `${ctx.receiver.url}/warm-${n}`);
      const warm = ctx.receiver.sink(`/warm-${n}`, warmCount);
      await publishAll(publisher, warmHook.departmentId, warmCount);
      await waitForSink(warm, `${what} warm-up`, workers);
      await waitForLogged(ctx, warmHook.webhookId, warmCount, `${what} warm-up`, workers);
    }

    const { departmentId, webhookId } = await createWebhook(ctx, `scale${n}`, `${ctx.receiver.url}/scale-${n}`);
    const sink = ctx.receiver.sink(`/scale-${n}`, EVENTS);
    const cpu = startCpuWindow([...baseProbes(ctx), ...workers.map(childProbe)]);
    const started = performance.now();
    await publishAll(publisher, departmentId, EVENTS);
    const published = performance.now();
    await waitForSink(sink, what, workers);
    const receiverSeconds = (sink.doneAt! - started) / 1000;
    const loggedSeconds = ((await waitForLogged(ctx, webhookId, EVENTS, what, workers)) - started) / 1000;
    cpuWindow = cpu.finish();
    round.receiverRate = EVENTS / receiverSeconds;
    round.loggedRate = EVENTS / loggedSeconds;
    console.log(
      `${what}: ${fmt(round.loggedRate).padStart(6)} deliveries/s all logged succeeded (${EVENTS} in ${fmt(loggedSeconds, 2)} s), ` +
        `${fmt(round.receiverRate)}/s to the receiver (${fmt(receiverSeconds, 2)} s); publishing took ${fmt((published - started) / 1000, 2)} s; ` +
        `log: ${await statusSummary(ctx, webhookId)}; duplicates ${sink.requests - sink.ids.size}`,
    );
    return round;
  } catch (error) {
    ctx.failures.push(`${what}: ${(error as Error).message}`);
    console.log(`${what}: FAILED (${(error as Error).message.split('\n')[0]})`);
    return round;
  } finally {
    // Memory is read before the stop (VmHWM goes with the process), whatever became of the round.
    const sampled = sampler?.stop();
    round.memory = workers.map((w) => ({
      name: w.name,
      peak: procStatusBytes(w.pid, 'VmHWM'),
      sampledMax: sampled?.get(w.pid) ?? null,
      atReady: atReady.get(w.pid) ?? null,
      exit: null,
      diedEarly: w.exitCode() !== null,
    }));
    await stopChildren(ctx, workers);
    workers.forEach((w, i) => (round.memory[i].exit = w.exitCode()));
    for (const m of round.memory) {
      console.log(
        `  ${m.name}: peak RSS (VmHWM) ${mb(m.peak)}, largest VmRSS sample ${mb(m.sampledMax)}, at ready ${mb(m.atReady)}; ` +
          (m.diedEarly ? `had exited (${m.exit}) before the stop` : `stopped with SIGTERM, exit ${m.exit === 0 ? '0' : `${m.exit} (not a clean shutdown)`}`),
      );
    }
    if (cpuWindow) console.log(cpuLine(`the ${what} run (publish → all logged)`, cpuWindow));
  }
}

async function run(ctx: Context): Promise<void> {
  console.log(
    `bench:scale — N=${EVENTS} events per round, ${WORKER_COUNTS.join('/')} worker processes, concurrency ${CONCURRENCY} per worker ` +
      `(WORKER_CONCURRENCY; WEBHOOK_MAX_IN_FLIGHT ${CONCURRENCY}), publishBatch ${PUBLISH_BATCH}, warm-up ${WARMUP} events per worker, ` +
      `VmRSS sampled every ${RSS_SAMPLE_MS} ms, ${setupLabel(ctx.infra)}`,
  );
  const busyBefore = await printMachineBusy();

  const rounds: Round[] = [];
  for (const n of WORKER_COUNTS) {
    if (abort.signal.aborted) throw new Error('interrupted');
    rounds.push(await runRound(ctx, n));
  }

  const base = rounds[0];
  const ratio = (rate: number | null, of: number | null) => (rate !== null && of !== null ? (rate / of).toFixed(2) : 'n/a');
  console.log('');
  console.log(`workers   deliveries/s (all logged / to receiver)   ${`ratio vs ${plural(base.workers)} (logged / receiver)`.padEnd(37)}   peak RSS per worker (VmHWM)`);
  for (const r of rounds) {
    const rates = `${r.loggedRate === null ? 'n/a' : fmt(r.loggedRate)} / ${r.receiverRate === null ? 'n/a' : fmt(r.receiverRate)}`;
    const ratios = r === base ? '-' : `${ratio(r.loggedRate, base.loggedRate)} / ${ratio(r.receiverRate, base.receiverRate)}`;
    console.log(`${String(r.workers).padStart(7)}   ${rates.padEnd(40)}   ${ratios.padEnd(37)}   ${r.memory.map((m) => mb(m.peak)).join(', ')}`);
  }

  const peaks = rounds.flatMap((r) => r.memory.map((m) => ({ ...m, round: r.workers })));
  const known = peaks.filter((p): p is typeof p & { peak: number } => p.peak !== null);
  const largest = known.reduce<(typeof known)[number] | undefined>((max, p) => (max === undefined || p.peak > max.peak ? p : max), undefined);
  // Memory under load is only judged when every round delivered its load.
  const complete = rounds.every((r) => r.loggedRate !== null);
  const met = largest !== undefined && known.length === peaks.length && largest.peak < RSS_TARGET_BYTES;
  console.log(
    `target: peak RSS per worker process < ${mb(RSS_TARGET_BYTES)}: ${!complete ? 'not judged (a round did not complete)' : met ? 'met' : 'MISSED'}` +
      (largest ? ` (largest ${mb(largest.peak)}, ${largest.name} in the ${plural(largest.round)} round)` : ' (no reading)') +
      (known.length < peaks.length ? `; ${peaks.length - known.length} worker(s) without a reading` : ''),
  );
  console.log(
    `note: the workers, PostgreSQL, Redis and this process (producer and receiver) share this machine's ${cpus().length} cores: ` +
      `throughput cannot scale linearly here; the ratios show what adding workers buys on this machine, not on machines of their own.`,
  );
  if (busyBefore !== null && busyBefore > OTHER_LOAD_PERCENT) {
    console.log(
      `note: other load was running (machine busy ${fmt(busyBefore)}% before the run): the scheduler shares the cores per process, so ` +
        `more worker processes also take CPU from that load, which flatters the ratios — compare "processes not started by this run" across the rounds.`,
    );
  }
}

runBench({ name: 'scale', watchdogMs: WATCHDOG_MS, run });
