import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * CPU accounting from /proc (Linux only; elsewhere every reading is null): CPU seconds used by a
 * process together with its descendants (PostgreSQL's backends are children of the postmaster), so
 * that a benchmark can tell where the machine's cores went during a phase.
 */

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux the project runs on
const HAS_PROC = existsSync('/proc/self/stat');

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime of the process itself, in ticks. */
  own: number;
  /** cutime + cstime: its children that exited and were waited for. */
  reaped: number;
}

function readStat(pid: number | string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17, ppid field 4.
    return {
      pid: Number(pid),
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return null;
  }
}

/** CPU seconds of `pid` and every live descendant, plus the descendants already reaped. */
export function treeCpuSeconds(pid: number | undefined): number | null {
  if (!HAS_PROC || pid === undefined) return null;
  const root = readStat(pid);
  if (!root) return null;
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(name);
    if (stat) all.push(stat);
  }
  const byParent = new Map<number, ProcStat[]>();
  for (const stat of all) {
    const siblings = byParent.get(stat.ppid) ?? [];
    siblings.push(stat);
    byParent.set(stat.ppid, siblings);
  }
  let ticks = 0;
  const pending = [root];
  while (pending.length > 0) {
    const stat = pending.pop()!;
    ticks += stat.own + stat.reaped;
    pending.push(...(byParent.get(stat.pid) ?? []));
  }
  return ticks / TICKS_PER_SECOND;
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } | null {
  if (!HAS_PROC) return null;
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, v) => sum + v, 0);
  const idle = values[3] + (values[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

export interface CpuProbe {
  name: string;
  /** Cumulative CPU seconds now, or null when unknown (not ours, not Linux). */
  read(): number | null;
}

export interface CpuShare {
  name: string;
  /** CPU seconds used during the window. */
  seconds: number;
  /** Of one core during the window, in percent (a 2-core machine tops out at 200%). */
  percentOfCore: number;
}

/** Snapshot the probes now; `finish()` gives each one's share of the window since. */
export function startCpuWindow(probes: CpuProbe[]): { finish(): { wallSeconds: number; machineBusyPercent: number | null; shares: CpuShare[] } } {
  const started = performance.now();
  const before = probes.map((p) => p.read());
  const machineBefore = machineCpuSeconds();
  return {
    finish() {
      const wallSeconds = (performance.now() - started) / 1000;
      const machineAfter = machineCpuSeconds();
      const shares: CpuShare[] = [];
      probes.forEach((probe, i) => {
        const after = probe.read();
        const start = before[i];
        if (after === null || start === null) return;
        const seconds = Math.max(0, after - start);
        shares.push({ name: probe.name, seconds, percentOfCore: wallSeconds > 0 ? (100 * seconds) / wallSeconds : 0 });
      });
      const machineBusyPercent =
        machineBefore && machineAfter && machineAfter.total > machineBefore.total
          ? (100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total)
          : null;
      return { wallSeconds, machineBusyPercent, shares };
    },
  };
}
