/**
 * What the projection benchmark (./projections.ts) prints of one pass: throughput per feed and
 * combined, CPU per event of each process and of the machine, and each projection's apply time.
 */
import { pidsDeltaMs } from './proc-cpu';
import type { ApplyTime } from './projections-worker';

interface CpuSample {
  atMs: number;
  backends: Map<number, number>;
  trees: number[];
  self: number;
  machine: { busy: number; total: number };
}

export interface PassResult {
  label: string;
  workers: number;
  none: boolean;
  /** Ledger events drained: an outcome event and a change event (two records) each. */
  events: number;
  startMs: number;
  first: CpuSample;
  end: CpuSample;
  /** Names of `first.trees`, in order. */
  names: string[];
  progress: {
    firstMs: number;
    base: { outcomes: number; changes: number };
    lastMs: { outcomes: number; changes: number };
    applies: ApplyTime[];
  };
  steady: string | null;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const rate = (count: number, ms: number) => Math.round((count * 1000) / Math.max(1, ms));
const us = (ms: number, count: number) => ((ms * 1000) / count).toFixed(0);

function cpuLines(result: PassResult, events: number): string[] {
  const { first, end, names } = result;
  const lines = names.map((name, i) => {
    // A process that exits meanwhile takes its CPU time out of its tree: never below 0.
    const ms = Math.max(0, end.trees[i]! - first.trees[i]!);
    return `${name} ${us(ms, events)}`;
  });
  const workers = names.reduce(
    (sum, name, i) => (name.startsWith('worker') ? sum + end.trees[i]! - first.trees[i]! : sum),
    0,
  );
  const busy = end.machine.busy - first.machine.busy;
  const total = end.machine.total - first.machine.total;
  const backends = pidsDeltaMs(first.backends, end.backends);
  return [
    `  CPU µs per event (combined events): ${lines.join(', ')}, bench ${us(end.self - first.self, events)}`,
    `  of the primary: the workers' own backends ${us(backends, events)} µs/event ` +
      `(${end.backends.size} backends; the rest: WAL writer, checkpointer, WAL sender, others' sessions)`,
    `  CPU: workers ${us(workers, events)} µs/event; machine ${us(busy, events)} µs/event busy ` +
      `(${((100 * busy) / Math.max(1, total)).toFixed(0)}% of ${(total / (end.atMs - first.atMs)).toFixed(1)} cores)`,
  ];
}

function applyLines(result: PassResult, events: number): string[] {
  const byName = new Map<string, ApplyTime>();
  for (const time of result.progress.applies) {
    const known = byName.get(time.name);
    if (known === undefined) byName.set(time.name, { ...time });
    else {
      known.calls += time.calls;
      known.ms += time.ms;
    }
  }
  if (byName.size === 0) return [];
  // Statement times (`<projection>: <sql>`, --statements) are parts of their projection's.
  const total = [...byName.values()].reduce(
    (sum, t) => (t.name.includes(': ') ? sum : sum + t.ms),
    0,
  );
  const parts = [...byName.values()].map(
    (t) =>
      `${t.name} ${us(t.ms, events)} µs/event (${((100 * t.ms) / total).toFixed(0)}%, ` +
      `${t.calls} calls)`,
  );
  return [
    `  apply time (wall, summed over workers' transactions; µs per ledger event of its feed):`,
    ...parts.map((part) => `    ${part}`),
  ];
}

export function printPass(result: PassResult, _options: { feeds: string[] }): void {
  const { progress } = result;
  const outcomesMs = progress.lastMs.outcomes - progress.firstMs;
  const changesMs = progress.lastMs.changes - progress.firstMs;
  const bothMs = Math.max(outcomesMs, changesMs);
  // The window's events: all, or what was left when the workers' groups settled.
  const outcomes = result.events - progress.base.outcomes;
  const changes = result.events - progress.base.changes / 2;
  const combined = outcomes + changes;
  const settled = progress.base.outcomes + progress.base.changes > 0 ? ' (groups settled)' : '';
  console.log(
    `${result.label}${result.none ? ' (no projections)' : ''}: start + group join ` +
      `${((progress.firstMs - result.startMs) / 1000).toFixed(1)} s${settled}, then\n` +
      `  outcomes ${rate(outcomes, outcomesMs)} events/s (${outcomes} in ` +
      `${(outcomesMs / 1000).toFixed(2)} s); changes ${rate(changes, changesMs)} events/s = ` +
      `${rate(2 * changes, changesMs)} records/s (${changes} in ${(changesMs / 1000).toFixed(2)} s);\n` +
      `  combined ${rate(combined, bothMs)} events/s (${outcomes} outcome + ${changes} change ` +
      `events in ${(bothMs / 1000).toFixed(2)} s)`,
  );
  const lines = [...cpuLines(result, combined), ...applyLines(result, result.events)];
  for (const line of lines) console.log(line);
  if (result.steady !== null) console.log(`  ${result.steady}`);
}
