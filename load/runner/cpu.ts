/**
 * Where the CPU went during a load run, per component (k6, bridge, engine server, projection
 * worker, PostgreSQL, Kafka, Redis, PgBouncer): every process's user + system time from Linux's
 * /proc, sampled while k6 runs. On a 2-core machine shared by all of them, this is the answer to
 * "where does the time go" for each run, not only for the one somebody profiled.
 *
 * A process is counted from the first sample that sees it to the last; one that exits between
 * samples loses at most one sampling interval. Linux only: elsewhere the sampler reports nothing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ; 100 on Linux almost everywhere). */
function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** The component a process belongs to, from its command line; null: not one we account for. */
export function componentOf(cmdline: string): string | null {
  if (/(^|\/)k6 run\b/.test(cmdline)) return 'k6 (load generator)';
  if (cmdline.includes('bridge/src/main.ts')) return 'bridge';
  if (cmdline.includes('ledger/engine/server-main.ts')) return 'engine server';
  if (cmdline.includes('projections/src/main.ts')) return 'projection worker';
  if (cmdline.includes('load/baseline/main.ts')) return 'PostgreSQL-only baseline';
  if (cmdline.startsWith('postgres') || cmdline.includes('/postgresql/')) return 'PostgreSQL';
  if (cmdline.includes('java') && cmdline.includes('kafka')) return 'Kafka';
  if (cmdline.includes('redis-server')) return 'Redis';
  if (cmdline.includes('pgbouncer')) return 'PgBouncer';
  return null;
}

interface Sample {
  atMs: number;
  /** pid → (component, user + system ticks). */
  processes: Map<number, { component: string; ticks: number }>;
}

function sample(): Sample {
  const processes = new Map<number, { component: string; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const component = componentOf(cmdline.trim());
      if (component === null) continue;
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are 14th, 15th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      processes.set(Number(entry), {
        component,
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // The process exited while being read.
    }
  }
  return { atMs: Date.now(), processes };
}

export interface ComponentCpu {
  component: string;
  /** Average cores busy over the window (1 = one core all the time). */
  cores: number;
}

export interface CpuReport {
  seconds: number;
  cpus: number;
  components: ComponentCpu[];
}

export interface CpuSampler {
  /** Stops sampling; the components by cores used, busiest first (null off Linux). */
  stop(): CpuReport | null;
}

/** Samples every `intervalMs` until stopped. */
export function startCpuSampler(cpus: number, intervalMs = 1_000): CpuSampler {
  if (!fs.existsSync('/proc/self/stat')) return { stop: () => null };
  const hz = clockTicks();
  const first = sample();
  const firstSeen = new Map<number, number>();
  for (const [pid, p] of first.processes) firstSeen.set(pid, p.ticks);
  const last = new Map<number, { component: string; ticks: number }>(first.processes);
  let lastAtMs = first.atMs;
  const tick = () => {
    const s = sample();
    for (const [pid, p] of s.processes) {
      if (!firstSeen.has(pid)) firstSeen.set(pid, 0);
      last.set(pid, p);
    }
    lastAtMs = s.atMs;
  };
  const timer = setInterval(tick, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      tick();
      const seconds = (lastAtMs - first.atMs) / 1000;
      if (seconds <= 0) return null;
      const byComponent = new Map<string, number>();
      for (const [pid, p] of last) {
        const used = (p.ticks - firstSeen.get(pid)!) / hz;
        byComponent.set(p.component, (byComponent.get(p.component) ?? 0) + used);
      }
      const components = [...byComponent.entries()]
        .map(([component, used]) => ({ component, cores: used / seconds }))
        .sort((a, b) => b.cores - a.cores);
      return { seconds, cpus, components };
    },
  };
}
