/**
 * The settings the pipeline benchmarks share, from the environment (read once, at import: a bad value
 * stops the benchmark before it starts anything).
 */

/** A positive number from the environment, or `fallback` when unset or blank. */
export const int = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return value;
};

/** Events published in each measured run. */
export const EVENTS = Math.round(int('BENCH_EVENTS', 20_000));
/** WORKER_CONCURRENCY of every worker process (and its WEBHOOK_MAX_IN_FLIGHT). */
export const CONCURRENCY = Math.round(int('WORKER_CONCURRENCY', 100));
/** Jobs or events before each measured run (0 for none). */
export const WARMUP = Math.round(process.env.BENCH_WARMUP === '0' ? 0 : int('BENCH_WARMUP', 1_000));
/** A wait fails after this long without progress… */
export const TIMEOUT_MS = int('BENCH_TIMEOUT_MS', 120_000);
/** …and after this long in any case. */
export const MAX_WAIT_MS = int('BENCH_MAX_WAIT_MS', 900_000);
