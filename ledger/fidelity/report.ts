/**
 * Text for people: the summary table of a session, and a divergence with its replay line and its
 * shrunk reproducer (steps as JSON-ish lines: bigints written `123n`, ids and ledgers as names).
 */
import type { FidelityReport } from './fidelity';
import type { Divergence, Step } from './model';

const count = (n: number): string => n.toLocaleString('en-US');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value.padStart(9)}`);
}

export function formatSummary(report: FidelityReport): string {
  const s = report.stats;
  const totals: [string, string][] = [
    ['seed', String(report.seed)],
    ['batches', count(s.steps)],
    ['events', count(s.events)],
    ['lookups compared', count(s.lookups)],
    ['  objects found', count(s.lookupObjects)],
    ['queries compared', count(s.queries)],
    ['  objects found', count(s.queryObjects)],
    ['expiry waits', `${count(s.waits)} (${seconds(s.waitedMs)})`],
    ['elapsed', seconds(report.elapsedMs)],
  ];
  const byCount = (m: Map<string, number>): [string, string][] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, count(v)]);
  return [
    'fidelity: embedded engine vs TigerBeetle cluster',
    ...table(totals),
    'per status:',
    ...table(byCount(s.statuses)),
    ...(s.rejections.size > 0
      ? ['whole-request rejections:', ...table(byCount(s.rejections))]
      : []),
  ].join('\n');
}

/** JSON with bigints as `123n`. */
export function jsonish(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? `__bigint__${v}` : v,
  ).replace(/"__bigint__(\d+)"/g, '$1n');
}

export function formatSteps(steps: readonly Step[]): string {
  const lines: string[] = [];
  steps.forEach((step, i) => {
    lines.push(`  step ${i}: ${step.op}`);
    step.events.forEach((e, j) => lines.push(`    event ${j}: ${jsonish(e)}`));
    step.reads.forEach((r, j) => {
      const { op, ...args } = r;
      lines.push(`    read ${j}: ${op} ${jsonish(args)}`);
    });
  });
  return lines.join('\n');
}

export function formatDivergence(d: Divergence): string {
  const where = d.at === 'create' ? 'its create batch' : `read ${d.at}`;
  const timing = d.nearExpiry
    ? '\n(the calls overran a pending transfer’s expiry window: may be timing, not semantics)'
    : '';
  return `batch ${d.step}, ${where} (${d.operation}):\n${d.detail}${timing}`;
}

export function replayLine(report: FidelityReport): string {
  const batches = report.divergence === null ? report.batches : report.divergence.step + 1;
  return `SEED=${report.seed} npm run fidelity -- --batches ${batches}`;
}

export function formatFailure(report: FidelityReport): string {
  if (report.divergence === null) return '';
  const lines = [
    `DIVERGENCE (seed ${report.seed}) at ${formatDivergence(report.divergence)}`,
    `replay: ${replayLine(report)}`,
  ];
  const shrunk = report.shrunk;
  if (shrunk === undefined) return lines.join('\n');
  if (!shrunk.reproduced) {
    lines.push(`it did not diverge again on replay (${shrunk.trials} trial): timing-dependent?`);
    lines.push(`the failing batch:`, formatSteps(shrunk.steps.slice(-1)));
    return lines.join('\n');
  }
  lines.push(
    `minimal reproducer: ${shrunk.steps.length} batch(es) after ${shrunk.trials} trials ` +
      `(names bound to fresh ids and ledgers per run; L = the run's ledger, L2 = L + 1)`,
    `it diverges at ${formatDivergence(shrunk.divergence)}`,
    formatSteps(shrunk.steps),
  );
  return lines.join('\n');
}
