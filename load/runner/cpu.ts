/**
 * Where the CPU went during a load run, per component (k6, bridge, the TigerBeetle replicas or
 * the engine server, projection worker, PostgreSQL, Kafka, Redis, PgBouncer): every process's
 * user + system time from Linux's /proc, sampled while k6 runs. On a 2-core machine shared by all
 * of them, this is the answer to "where does the time go" for each run, not only for the one
 * somebody profiled.
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

/** "3001" and "127.0.0.1:3001" name the same replica (TigerBeetle's own default host). */
function normalAddress(address: string): string {
  const trimmed = address.trim();
  return /^\d+$/.test(trimmed) ? `127.0.0.1:${trimmed}` : trimmed;
}

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  const left = a.map(normalAddress).sort();
  const right = b.map(normalAddress).sort();
  return left.length === right.length && left.every((address, i) => address === right[i]);
}

/**
 * A TigerBeetle replica's component: the run's cluster (`cluster`: its replica addresses) as one
 * component named with its replica count, any other cluster on the machine (another engineer's
 * tests, say) apart, so that its CPU shows as what it is: competition, not the run's ledger.
 */
function tigerBeetleReplica(cmdline: string, cluster: readonly string[] | undefined): string {
  const addresses = /--addresses=(\S+)/.exec(cmdline)?.[1]?.split(',') ?? [];
  if (cluster !== undefined && cluster.length > 0 && sameAddresses(addresses, cluster)) {
    return `tigerbeetle (${cluster.length} replicas)`;
  }
  return 'tigerbeetle (another cluster)';
}

/**
 * The component a process belongs to, from its command line; null: not one we account for.
 * `cluster`: the replica addresses of the TigerBeetle cluster the run uses, if any.
 */
export function componentOf(cmdline: string, cluster?: readonly string[]): string | null {
  if (/(^|\/)k6 run\b/.test(cmdline)) return 'k6 (load generator)';
  if (/(^|\/)tigerbeetle start\b/.test(cmdline)) return tigerBeetleReplica(cmdline, cluster);
  if (/(^|\/)tigerbeetle benchmark\b/.test(cmdline))
    return 'tigerbeetle benchmark (load generator)';
  if (cmdline.includes('bridge/src/main.ts')) return 'bridge';
  if (cmdline.includes('ledger/engine/server-main.ts')) return 'engine server';
  if (cmdline.includes('projections/src/main.ts')) return 'projection worker';
  if (cmdline.includes('load/baseline/main.ts')) return 'PostgreSQL-only baseline';
  if (cmdline.includes('load/bench/balance-server.ts')) return 'balance server (bench:reads)';
  if (/load\/bench\/\w+\.ts/.test(cmdline)) return 'bench driver (load/bench, autocannon)';
  if (cmdline.startsWith('postgres') || cmdline.includes('/postgresql/')) return 'PostgreSQL';
  if (cmdline.includes('java') && cmdline.includes('kafka')) return 'Kafka';
  if (cmdline.includes('redis-server')) return 'Redis';
  if (cmdline.includes('pgbouncer')) return 'PgBouncer';
  return null;
}

interface Sample {
  atMs: number;
  /** The whole machine, from /proc/stat: busy (user, nice, system, irq, softirq) and iowait. */
  machine: { busyTicks: number; iowaitTicks: number };
  /** pid → (component, user + system ticks). */
  processes: Map<number, { component: string; ticks: number }>;
}

function sample(cluster: readonly string[] | undefined): Sample {
  const processes = new Map<number, { component: string; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const component = componentOf(cmdline.trim(), cluster);
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
  return { atMs: Date.now(), processes, machine: machineTicks() };
}

/** /proc/stat's first line: `cpu user nice system idle iowait irq softirq steal ...`. */
function machineTicks(): Sample['machine'] {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = (i: number) => Number(fields[i] ?? 0);
  return { busyTicks: n(1) + n(2) + n(3) + n(6) + n(7), iowaitTicks: n(5) };
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
  /**
   * Cores busy on the whole machine (every process, the kernel included), and cores idle while
   * waiting on the disk: what the components do not account for is someone else's work — the
   * noise of a shared machine, reported with the figures it disturbed.
   */
  machineBusyCores: number;
  iowaitCores: number;
}

export interface CpuSampler {
  /** Stops sampling; the components by cores used, busiest first (null off Linux). */
  stop(): CpuReport | null;
}

export interface CpuSamplerOptions {
  intervalMs?: number;
  /** The replica addresses of the run's TigerBeetle cluster; unset: the run uses none. */
  cluster?: readonly string[];
}

/** Samples every `intervalMs` (1 s) until stopped. */
export function startCpuSampler(cpus: number, options: CpuSamplerOptions = {}): CpuSampler {
  if (!fs.existsSync('/proc/self/stat')) return { stop: () => null };
  const hz = clockTicks();
  const { intervalMs = 1_000, cluster } = options;
  const first = sample(cluster);
  const firstSeen = new Map<number, number>();
  for (const [pid, p] of first.processes) firstSeen.set(pid, p.ticks);
  const last = new Map<number, { component: string; ticks: number }>(first.processes);
  let lastAtMs = first.atMs;
  let lastMachine = first.machine;
  const tick = () => {
    const s = sample(cluster);
    for (const [pid, p] of s.processes) {
      if (!firstSeen.has(pid)) firstSeen.set(pid, 0);
      last.set(pid, p);
    }
    lastAtMs = s.atMs;
    lastMachine = s.machine;
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
      return {
        seconds,
        cpus,
        components,
        machineBusyCores: (lastMachine.busyTicks - first.machine.busyTicks) / hz / seconds,
        iowaitCores: (lastMachine.iowaitTicks - first.machine.iowaitTicks) / hz / seconds,
      };
    },
  };
}

/**
 * The busiest components in one line, then the machine as a whole, e.g. "bridge 1.02,
 * tigerbeetle (3 replicas) 0.61; machine 1.93 busy, 0.05 idle on disk".
 */
export function busiest(cpu: CpuReport | null, count = 3): string {
  if (cpu === null) return 'n/a';
  return (
    cpu.components
      .slice(0, count)
      .map((c) => `${c.component} ${c.cores.toFixed(2)}`)
      .join(', ') +
    `; machine ${cpu.machineBusyCores.toFixed(2)} busy, ${cpu.iowaitCores.toFixed(2)} idle on disk`
  );
}
