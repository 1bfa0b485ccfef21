import { readFileSync } from 'node:fs';

/**
 * Resident memory of a process from /proc/<pid>/status (Linux only; elsewhere, or once the process is
 * gone, every reading is null): VmRSS now, and VmHWM, the kernel's own peak of VmRSS over its life.
 */

/** A `Vm…:  123456 kB` field of /proc/<pid>/status, in bytes. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples VmRSS of each pid every `intervalMs`; `stop()` gives the largest sample per pid (null: none). */
export function startRssSampler(pids: readonly number[], intervalMs = 200): { stop(): Map<number, number | null> } {
  const peaks = new Map<number, number | null>(pids.map((pid) => [pid, null]));
  const sample = () => {
    for (const pid of pids) {
      const rss = procStatusBytes(pid, 'VmRSS');
      if (rss !== null) peaks.set(pid, Math.max(rss, peaks.get(pid) ?? 0));
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}
