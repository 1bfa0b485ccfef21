import { cpus } from 'node:os';
import { startCpuWindow } from './proc-cpu';

/** Figures as the benchmarks print them: grouped thousands, a fixed number of decimals, n/a for NaN. */
export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

/** The nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export type CpuWindow = ReturnType<ReturnType<typeof startCpuWindow>['finish']>;

/** One line: each probe's share of a core during `label`, and how busy the whole machine was. */
export function cpuLine(label: string, window: CpuWindow): string {
  const parts = window.shares.map((s) => `${s.name} ${fmt(s.percentOfCore)}%`);
  let machine = '';
  if (window.machineBusyPercent !== null) {
    const ours = window.shares.reduce((sum, s) => sum + s.percentOfCore, 0);
    const others = Math.max(0, window.machineBusyPercent * cpus().length - ours);
    machine = `; machine busy ${fmt(window.machineBusyPercent)}% of ${cpus().length} cores (processes not started by this run ≈ ${fmt(others)}% of a core)`;
  }
  return `  CPU during ${label} (${fmt(window.wallSeconds, 1)} s, % of one core): ${parts.join(', ')}${machine}`;
}

/** The processes a delivery's CPU is billed to, by role. */
export interface CpuPerDelivery {
  worker: number;
  postgresql: number;
  redis: number;
  producer: number;
}

/**
 * CPU milliseconds per delivery of each role during `window` (NaN where /proc could not say, e.g. a
 * PostgreSQL or Redis from DATABASE_URL / REDIS_URL): the harness's probes by name, every probe not
 * named `postgresql`, `redis` or `bench (producer+receiver)` counted as a worker.
 */
export function cpuPerDelivery(window: CpuWindow, deliveries: number): CpuPerDelivery {
  const out: CpuPerDelivery = { worker: NaN, postgresql: NaN, redis: NaN, producer: NaN };
  const add = (role: keyof CpuPerDelivery, seconds: number) => (out[role] = (Number.isNaN(out[role]) ? 0 : out[role]) + (1000 * seconds) / deliveries);
  for (const share of window.shares) {
    if (share.name === 'postgresql' || share.name === 'redis') add(share.name, share.seconds);
    else if (share.name.startsWith('bench (')) add('producer', share.seconds);
    else add('worker', share.seconds);
  }
  return out;
}

/** "worker 0.21, postgresql 0.10, redis 0.05, producer (+receiver) 0.03, total 0.39" (ms per delivery). */
export function cpuPerDeliveryText(cpu: CpuPerDelivery): string {
  const total = cpu.worker + (cpu.postgresql || 0) + (cpu.redis || 0) + cpu.producer;
  const ms = (v: number) => fmt(v, 3);
  return `worker ${ms(cpu.worker)}, postgresql ${ms(cpu.postgresql)}, redis ${ms(cpu.redis)}, producer (+receiver) ${ms(cpu.producer)}, total ${ms(total)}`;
}
