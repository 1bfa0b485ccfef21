/**
 * npm run bench:scale — delivery throughput with 1, 2 and 3 worker processes in one run, the scaling
 * ratios, and each worker's peak resident memory under that load (target: under 200 MB per process).
 * Two modes (BENCH_MODE: cpu, capacity, or both, the default: capacity first, then cpu):
 *
 *   capacity: a receiver that answers each request 50 ms after it arrived (BENCH_RECEIVER_DELAY_MS; a
 *             setTimeout, no CPU) and WORKER_CONCURRENCY 10 per worker (BENCH_CAPACITY_CONCURRENCY; its
 *             WEBHOOK_MAX_IN_FLIGHT and DEPARTMENT_MAX_IN_FLIGHT, per process, set to the same so that
 *             they never throttle): a worker can have at most 10 requests waiting, so the limit is the
 *             receiver's wait (10 / 50 ms = 200 deliveries/s per worker), not the CPU, and 3 workers
 *             should deliver ~3× as fast as 1. BENCH_CAPACITY_EVENTS (4000) per round after a warm-up of
 *             BENCH_CAPACITY_WARMUP (200) events per worker. Prints `ratio 3 workers/1 worker, 50 ms
 *             receiver: <x>` (to the receiver) and the 2-worker ratio.
 *   cpu:      the receiver answers at once and WORKER_CONCURRENCY (100) per worker: the machine's CPU is
 *             the limit, and the ratios show what adding processes costs or buys on it.
 *
 * A round per worker count N, on the same PostgreSQL and Redis: the queues obliterated and the log
 * tables vacuumed (no worker running), N real workers (dist/apps/worker/main.js) spawned, a warm-up of
 * BENCH_WARMUP events per worker (until received and logged), then BENCH_EVENTS SURVEY_COMPLETED events
 * published with EventPublisher.publishBatch to a webhook in a department of the round's own, timed
 * until the receiver has every delivery and the log holds every one as `succeeded`. Memory: VmRSS of
 * each worker sampled every 200 ms from ready to stop, and VmHWM (the kernel's peak) read just before
 * the worker is stopped (SIGTERM, awaited) — 1 MB = 10^6 bytes. The workers, PostgreSQL, Redis and this
 * process (producer and receiver) share the machine's cores: the cpu mode's ratios show what adding
 * workers buys on this machine, not on machines of their own.
 *
 * Settings (environment): BENCH_MODE (both), BENCH_EVENTS (20000, cpu mode), WORKER_CONCURRENCY (100,
 * per worker in cpu mode; and its in-flight limits), BENCH_WARMUP (1000 events per worker before each
 * measured cpu run; 0 for none), BENCH_CAPACITY_EVENTS (4000), BENCH_CAPACITY_WARMUP (200 per worker;
 * BENCH_WARMUP=0 turns it off too), BENCH_CAPACITY_CONCURRENCY (10), BENCH_RECEIVER_DELAY_MS (50),
 * BENCH_WORKERS ("1,2,3": the rounds' worker counts, in both modes; ratios against the first),
 * BENCH_TIMEOUT_MS (120000: a wait fails after this long without progress), BENCH_MAX_WAIT_MS (900000:
 * and after this long in any case), BENCH_WORKER_NODE_ARGS (node flags for the workers).
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
import { CONCURRENCY, EVENTS, int, MAX_WAIT_MS, WARMUP } from './support/settings';

/** The rounds: worker processes in each (BENCH_WORKERS, e.g. "1,2,3"); ratios are against the first. */
const WORKER_COUNTS = (process.env.BENCH_WORKERS?.trim() || '1,2,3').split(',').map((raw) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_WORKERS must list positive whole numbers, e.g. "1,2,3" (got "${process.env.BENCH_WORKERS}")`);
  return n;
});
const MODES = { cpu: ['cpu'], capacity: ['capacity'], both: ['capacity', 'cpu'] } as const;
const MODE_NAME = process.env.BENCH_MODE?.trim() || 'both';
if (!(MODE_NAME in MODES)) throw new Error(`BENCH_MODE must be cpu, capacity or both (got "${MODE_NAME}")`);
const RUN_MODES = MODES[MODE_NAME as keyof typeof MODES];
type Mode = (typeof RUN_MODES)[number];

/** What a round of each mode runs with. */
interface ModeSettings {
  events: number;
  /** Events per worker before the measured run. */
  warmup: number;
  /** WORKER_CONCURRENCY of each worker (and its in-flight limits). */
  concurrency: number;
  /** The receiver answers this long after each request arrived. */
  delayMs: number;
}
const SETTINGS: Record<Mode, ModeSettings> = {
  cpu: { events: EVENTS, warmup: WARMUP, concurrency: CONCURRENCY, delayMs: 0 },
  capacity: {
    events: Math.round(int('BENCH_CAPACITY_EVENTS', 4_000)),
    warmup: WARMUP === 0 ? 0 : Math.round(int('BENCH_CAPACITY_WARMUP', 200)),
    concurrency: Math.round(int('BENCH_CAPACITY_CONCURRENCY', 10)),
    delayMs: int('BENCH_RECEIVER_DELAY_MS', 50),
  },
};
const RSS_SAMPLE_MS = 200;
const RSS_TARGET_BYTES = 200e6;
/** The whole run, whatever happens: a long wait per round and some. */
const WATCHDOG_MS = RUN_MODES.length * WORKER_COUNTS.length * MAX_WAIT_MS + 300_000;

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
async function startWorkers(ctx: Context, n: number, concurrency: number): Promise<Child[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => startWorker(ctx, `worker ${i + 1}/${n}`, concurrency)));
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stopChildren(ctx, workers);
    throw failed.reason;
  }
  return workers;
}

async function runRound(ctx: Context, mode: Mode, n: number): Promise<Round> {
  const { events, warmup, concurrency, delayMs } = SETTINGS[mode];
  const round: Round = { workers: n, receiverRate: null, loggedRate: null, memory: [] };
  const what = `${mode}, ${plural(n)}`;
  const tag = `${mode}-${n}`;
  let workers: Child[] = [];
  let sampler: ReturnType<typeof startRssSampler> | undefined;
  const atReady = new Map<number, number | null>();
  let cpuWindow: CpuWindow | undefined;
  try {
    await resetBetweenRounds(ctx);
    workers = await startWorkers(ctx, n, concurrency);
    sampler = startRssSampler(
      workers.map((w) => w.pid),
      RSS_SAMPLE_MS,
    );
    for (const w of workers) atReady.set(w.pid, procStatusBytes(w.pid, 'VmRSS'));
    const publisher = ctx.publisher();

    if (warmup > 0) {
      const warmCount = warmup * n;
      const warmHook = await createWebhook(ctx, `warm${tag}`, `${ctx.receiver.url}/warm-${tag}`);
      const warm = ctx.receiver.sink(`/warm-${tag}`, warmCount, { delayMs });
      await publishAll(publisher, warmHook.departmentId, warmCount);
      await waitForSink(warm, `${what} warm-up`, workers);
      await waitForLogged(ctx, warmHook.webhookId, warmCount, `${what} warm-up`, workers);
    }

    const { departmentId, webhookId } = await createWebhook(ctx, `scale${tag}`, `${ctx.receiver.url}/scale-${tag}`);
    const sink = ctx.receiver.sink(`/scale-${tag}`, events, { delayMs });
    const cpu = startCpuWindow([...baseProbes(ctx), ...workers.map(childProbe)]);
    const started = performance.now();
    await publishAll(publisher, departmentId, events);
    const published = performance.now();
    await waitForSink(sink, what, workers);
    const receiverSeconds = (sink.doneAt! - started) / 1000;
    const loggedSeconds = ((await waitForLogged(ctx, webhookId, events, what, workers)) - started) / 1000;
    cpuWindow = cpu.finish();
    round.receiverRate = events / receiverSeconds;
    round.loggedRate = events / loggedSeconds;
    console.log(
      `${what}: ${fmt(round.loggedRate).padStart(6)} deliveries/s all logged succeeded (${events} in ${fmt(loggedSeconds, 2)} s), ` +
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
  const describe = (mode: Mode) => {
    const m = SETTINGS[mode];
    return (
      `${mode}: N=${m.events} events per round, concurrency ${m.concurrency} per worker (WORKER_CONCURRENCY; WEBHOOK_MAX_IN_FLIGHT and ` +
      `DEPARTMENT_MAX_IN_FLIGHT ${m.concurrency}), receiver answers ${m.delayMs > 0 ? `after ${fmt(m.delayMs)} ms` : 'at once'}, warm-up ${m.warmup} events per worker`
    );
  };
  console.log(
    `bench:scale — ${WORKER_COUNTS.join('/')} worker processes; ${RUN_MODES.map(describe).join('; ')}; publishBatch ${PUBLISH_BATCH}, ` +
      `VmRSS sampled every ${RSS_SAMPLE_MS} ms, ${setupLabel(ctx.infra)}`,
  );
  const busyBefore = await printMachineBusy();

  const results = new Map<Mode, Round[]>();
  for (const mode of RUN_MODES) {
    const rounds: Round[] = [];
    for (const n of WORKER_COUNTS) {
      if (abort.signal.aborted) throw new Error('interrupted');
      rounds.push(await runRound(ctx, mode, n));
    }
    results.set(mode, rounds);
  }
  const capacity = results.get('capacity');
  if (capacity) summariseCapacity(capacity, busyBefore);
  const cpuRounds = results.get('cpu');
  if (cpuRounds) summariseCpu(cpuRounds, busyBefore);
}

/** The capacity mode: throughput ratios to the receiver against the first round (the bottleneck is the receiver's wait). */
function summariseCapacity(rounds: Round[], busyBefore: number | null): void {
  const { concurrency, delayMs } = SETTINGS.capacity;
  const base = rounds[0];
  console.log('');
  console.log(
    `capacity (receiver answers after ${fmt(delayMs)} ms, concurrency ${concurrency} per worker: at most ${fmt((1000 * concurrency) / delayMs)}/s per worker)`,
  );
  console.log(`workers   deliveries/s (to receiver / all logged)   ratio vs ${plural(base.workers)} (to receiver)`);
  for (const r of rounds) {
    const rates = `${r.receiverRate === null ? 'n/a' : fmt(r.receiverRate)} / ${r.loggedRate === null ? 'n/a' : fmt(r.loggedRate)}`;
    const ratio = r === base || r.receiverRate === null || base.receiverRate === null ? '-' : (r.receiverRate / base.receiverRate).toFixed(2);
    console.log(`${String(r.workers).padStart(7)}   ${rates.padEnd(40)}   ${ratio}`);
  }
  for (const r of rounds) {
    if (r === base) continue;
    const ratio = r.receiverRate !== null && base.receiverRate !== null ? (r.receiverRate / base.receiverRate).toFixed(2) : 'n/a';
    console.log(`ratio ${plural(r.workers)}/${plural(base.workers)}, ${fmt(delayMs)} ms receiver: ${ratio}`);
  }
  if (busyBefore !== null && busyBefore > OTHER_LOAD_PERCENT) {
    console.log(
      `note: other load was running (machine busy ${fmt(busyBefore)}% before the run): with the cores saturated, each job also waits for a core ` +
        `(its fetch, POST and log write), so the ratios fall short of what the receiver's wait alone allows — see "processes not started by this run" per round.`,
    );
  }
}

/** The cpu mode: the throughput table and the memory target. */
function summariseCpu(rounds: Round[], busyBefore: number | null): void {
  const base = rounds[0];
  const ratio = (rate: number | null, of: number | null) => (rate !== null && of !== null ? (rate / of).toFixed(2) : 'n/a');
  console.log('');
  console.log(`cpu (receiver answers at once, concurrency ${CONCURRENCY} per worker)`);
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
