/**
 * CPU time of processes from /proc (Linux), for benchmarks that want to say where the machine's
 * time went: a process, a process with its direct children (a PostgreSQL postmaster and its
 * backends, WAL sender, startup/replay process), and the whole machine. Clock ticks of 10 ms.
 */
import fs from 'node:fs';

const TICK_MS = 10;

/** utime + stime of one process (ms), 0 when it is gone. */
function processMs(pid: number): { ms: number; ppid: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    return { ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS, ppid };
  } catch {
    return { ms: 0, ppid: -1 };
  }
}

/** Each pid's own CPU (ms), 0 for one that is gone. */
export function pidsMs(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, processMs(pid).ms]));
}

/** CPU (ms) of `end`'s processes since `start` (a process missing from `start` from its birth). */
export function pidsDeltaMs(start: Map<number, number>, end: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ms] of end) sum += ms - (start.get(pid) ?? 0);
  return sum;
}

/** Each root pid's CPU (ms) with its direct children's. */
export function treesMs(roots: readonly number[]): number[] {
  const totals = roots.map((root) => processMs(root).ms);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const { ms, ppid } = processMs(Number(entry));
    const at = roots.indexOf(ppid);
    if (at >= 0) totals[at]! += ms;
  }
  return totals;
}

/** Busy and total CPU time of the whole machine (ms, summed over cores). */
export function machineMs(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const idle = ticks[3]! + (ticks[4] ?? 0);
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}

/** A pid from a pid file (first line), or null. */
export function pidFrom(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
