/**
 * CPU pinning for benchmarks and load runs: the load generator on CPUs of its own, the services
 * under test on the rest, with util-linux's `taskset` (it execs the program, so the process keeps
 * its own command line and the CPU tables still name it). On a 2-core machine a load generator
 * that floats over both cores takes turns with the bridge on each, and the figure is the two
 * sharing, not what the bridge can do; pinned, each has a core and the report says which.
 *
 * Where `taskset` is missing (not Linux, or util-linux not installed) nothing is pinned, and the
 * plan says so: the run goes on unpinned rather than failing.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { UsageError } from './settings';

/** Where each side runs; null lists: unpinned. */
export interface PinPlan {
  /** The load generator's CPUs (k6, autocannon). */
  load: number[] | null;
  /** Everything the run starts besides it (bridge, worker, engine server). */
  services: number[] | null;
  /** One line for the report: which CPUs each side got, or why nothing was pinned. */
  describe: string;
}

let tasksetFound: boolean | null = null;

/** Whether `taskset` can be run here (checked once). */
export function tasksetAvailable(): boolean {
  if (tasksetFound === null) {
    try {
      execFileSync('taskset', ['--version'], { stdio: 'ignore' });
      tasksetFound = true;
    } catch {
      tasksetFound = false;
    }
  }
  return tasksetFound;
}

/** `0,2-3` → [0, 2, 3]; a UsageError naming `name` for anything else or a CPU not here. */
export function parseCpuList(name: string, text: string, cpuCount: number): number[] {
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    const from = Number(range?.[1]);
    const to = range?.[2] === undefined ? from : Number(range[2]);
    if (range === null || to < from || to >= cpuCount) {
      throw new UsageError(
        `${name} must list CPUs from 0 to ${cpuCount - 1} (e.g. 1 or 0,2-3), got "${text}"`,
      );
    }
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * The plan for `loadCpus` (text like `1`; unset or empty: no pinning): the load generator on
 * those, the services on every other CPU. Refuses a list that leaves the services no CPU.
 */
export function pinPlan(
  name: string,
  loadCpus: string | undefined,
  cpuCount = os.cpus().length,
  available: () => boolean = tasksetAvailable,
): PinPlan {
  if (loadCpus === undefined || loadCpus.trim() === '') {
    return { load: null, services: null, describe: 'not pinned (no CPU list given)' };
  }
  const load = parseCpuList(name, loadCpus, cpuCount);
  const services = Array.from({ length: cpuCount }, (_, cpu) => cpu).filter(
    (cpu) => !load.includes(cpu),
  );
  if (services.length === 0) {
    throw new UsageError(`${name}=${loadCpus} leaves no CPU for the services (${cpuCount} here)`);
  }
  if (!available()) {
    return { load: null, services: null, describe: `not pinned (${name} set, no taskset here)` };
  }
  return {
    load,
    services,
    describe: `load generator on CPU ${load.join(',')}, services on CPU ${services.join(',')}`,
  };
}

/**
 * The command that runs `command args` on `cpus` (null: as it is). taskset execs it, so the
 * child's pid, signals and exit status are the program's own.
 */
export function pinned(
  cpus: readonly number[] | null,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  if (cpus === null) return { command, args: [...args] };
  return { command: 'taskset', args: ['-c', cpus.join(','), command, ...args] };
}
