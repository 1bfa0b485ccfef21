import type { Child } from './bench-infra';
import type { Context } from './harness';

/**
 * Where a latency run's slow deliveries may have waited, counted over the run: PostgreSQL's checkpoints,
 * autovacuum and autoanalyze runs on the delivery tables, WAL written (full-page images follow a
 * checkpoint), and the real worker's garbage collection and event-loop lag (its /metrics). Read before
 * and after the run; the difference is printed beside the run's per-second p50/p99.
 */
export interface WaitSources {
  checkpoints: number;
  checkpointMs: number;
  autovacuums: number;
  walBytes: number;
  walFpi: number;
  /** The real worker only (null for the bare arms, whose workers export no metrics). */
  gcSeconds: number | null;
  gcCount: number | null;
  loopLagP99Ms: number | null;
}

/** The worker's metrics URL, from the line it logs at start-up (null when it has none). */
export function workerMetricsUrl(worker: Child): string | null {
  const port = /health and metrics on port (\d+)/.exec(worker.tail())?.[1];
  return port === undefined ? null : `http://127.0.0.1:${port}/metrics`;
}

const sample = (text: string, name: string): number | null => {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  let sum: number | null = null;
  for (const m of text.matchAll(match)) sum = (sum ?? 0) + Number(m[1]);
  return sum;
};

export async function readWaitSources(ctx: Context, metricsUrl: string | null): Promise<WaitSources> {
  const [pg] = await ctx.dataSource.query<Record<string, string>[]>(
    `SELECT (SELECT num_timed + num_requested FROM pg_stat_checkpointer) AS checkpoints,
            (SELECT write_time + sync_time FROM pg_stat_checkpointer) AS checkpoint_ms,
            (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables) AS autovacuums,
            (SELECT wal_bytes FROM pg_stat_wal) AS wal_bytes,
            (SELECT wal_fpi FROM pg_stat_wal) AS wal_fpi`,
  );
  let text = '';
  if (metricsUrl !== null)
    text = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => (r.ok ? r.text() : ''),
      () => '',
    );
  return {
    checkpoints: Number(pg.checkpoints),
    checkpointMs: Number(pg.checkpoint_ms),
    autovacuums: Number(pg.autovacuums),
    walBytes: Number(pg.wal_bytes),
    walFpi: Number(pg.wal_fpi),
    gcSeconds: text ? sample(text, 'pollarix_worker_nodejs_gc_duration_seconds_sum') : null,
    gcCount: text ? sample(text, 'pollarix_worker_nodejs_gc_duration_seconds_count') : null,
    loopLagP99Ms: text ? (sample(text, 'pollarix_worker_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000 : null,
  };
}

/** "checkpoints 1 (312 ms writing and syncing), autovacuum/analyze runs 2, WAL 41.2 MB (3120 full-page images), worker GC 48 pauses, 96 ms in all, event-loop lag p99 4.1 ms" */
export function describeWaits(before: WaitSources, after: WaitSources): string {
  const parts = [
    `checkpoints ${after.checkpoints - before.checkpoints} (${Math.round(after.checkpointMs - before.checkpointMs)} ms writing and syncing)`,
    `autovacuum/analyze runs ${after.autovacuums - before.autovacuums}`,
    `WAL ${((after.walBytes - before.walBytes) / 1e6).toFixed(1)} MB (${after.walFpi - before.walFpi} full-page images)`,
  ];
  if (before.gcSeconds !== null && after.gcSeconds !== null) {
    parts.push(
      `worker GC ${(after.gcCount ?? 0) - (before.gcCount ?? 0)} pauses, ${Math.round((after.gcSeconds - before.gcSeconds) * 1000)} ms in all, ` +
        `event-loop lag p99 ${after.loopLagP99Ms?.toFixed(1)} ms`,
    );
  }
  return parts.join(', ');
}
