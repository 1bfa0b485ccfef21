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
