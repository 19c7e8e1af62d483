/**
 * A load run's report, in three forms written side by side in its results folder: `summary.json`
 * (everything, for tools), `report.md` (the tables a reader wants) and `chart.png` (chart.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Audit } from './audit';
import type { CpuReport } from './cpu';
import type { K6Summary } from './k6';
import type { Phase, RequestSeries } from './series';

const ROOT = path.resolve(__dirname, '..', '..');
/** Git-ignored. */
export const RESULTS_DIR = path.join(ROOT, 'load', 'results');

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function resultsDir(label: string, started: Date): string {
  const dir = path.join(RESULTS_DIR, `${stamp(started)}-${label}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface RunReport {
  scenario: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  target: string;
  /** What served the load (the runner's own stack, or the URL given). */
  targetDescription: string;
  /** The ledger, as the bridge reported it (GET /health), and how the run chose it. */
  ledger: { kind: string; at: string; description: string };
  machine: { cpus: number; cpuModel: string; memoryGiB: number };
  /** The settings passed to k6. */
  settings: Record<string, string>;
  k6: K6Summary & { exitCode: number; thresholdsPassed: boolean };
  requests: RequestSeries[];
  /** Where the CPU went while k6 ran, per component. */
  cpu: CpuReport | null;
  /** How long after the load the projections had applied everything (ms); null: not measured. */
  projectionsDrainMs: number | null;
  audit: Audit | null;
  /** Why there is no audit, when there is none. */
  auditSkipped: string | null;
}

export function machine(): RunReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const int = (value: number): string => Math.round(value).toLocaleString('en-US');

export function phaseRow(name: string, phase: Phase): string {
  const errorShare = phase.requests === 0 ? 0 : (phase.errors / phase.requests) * 100;
  return (
    `| ${name} | ${phase.scenario} | ${phase.seconds} | ${int(phase.okPerSecond)} | ` +
    `${int(phase.errors)} (${errorShare.toFixed(2)}%) | ${ms(phase.p50)} | ${ms(phase.p95)} | ` +
    `${ms(phase.p99)} | ${ms(phase.max)} |`
  );
}

export const PHASE_HEADER =
  '| request | step | seconds | ok/s | errors | p50 ms | p95 ms | p99 ms | max ms |\n' +
  '|---|---|---|---|---|---|---|---|---|';

export function markdown(report: RunReport): string {
  const out: string[] = [];
  out.push(`# Load run: ${report.scenario}`, '');
  out.push(`- Command: \`${report.command}\``);
  out.push(`- When: ${report.startedAt} → ${report.finishedAt}`);
  out.push(`- Target: ${report.target} — ${report.targetDescription}`);
  out.push(`- Ledger: **${report.ledger.kind}** at ${report.ledger.at}`);
  out.push(
    `- Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ` +
      `${report.machine.memoryGiB} GiB; k6 runs on the same machine`,
  );
  const settings = Object.entries(report.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  out.push(`- Settings: ${settings.length > 0 ? `\`${settings}\`` : 'the script defaults'}`, '');
  out.push(
    `## SLO thresholds: ${report.k6.thresholdsPassed ? 'all met' : '**CROSSED**'}`,
    '',
    '| metric | threshold | result |',
    '|---|---|---|',
  );
  for (const t of report.k6.thresholds) {
    out.push(`| ${t.metric} | ${t.expression} | ${t.crossed ? '**crossed**' : 'met'} |`);
  }
  out.push(
    '',
    `Journals accepted (201 with their id): ${int(report.k6.journalsPosted)}; checks ` +
      `${int(report.k6.checksPassed)} passed, ${int(report.k6.checksFailed)} failed; ` +
      `iterations dropped (offered but not sent: every VU was waiting on an answer): ` +
      `${int(report.k6.droppedIterations)}.`,
    '',
  );
  out.push('## Per step', '', PHASE_HEADER);
  for (const series of report.requests) {
    for (const phase of series.phases) out.push(phaseRow(series.name, phase));
  }
  if (report.cpu !== null) {
    const { cpu } = report;
    const total = cpu.components.reduce((sum, c) => sum + c.cores, 0);
    out.push(
      '',
      `## CPU while k6 ran (${cpu.seconds.toFixed(0)} s, ${cpu.cpus} cores)`,
      '',
      '| component | cores busy |',
      '|---|---|',
      ...cpu.components.map((c) => `| ${c.component} | ${c.cores.toFixed(2)} |`),
      `| **total** | **${total.toFixed(2)}** of ${cpu.cpus} |`,
      `| everything else: other processes, kernel threads, interrupts (not the run's) | ` +
        `${Math.max(0, cpu.machineBusyCores - total).toFixed(2)} |`,
      `| machine busy, all processes | ${cpu.machineBusyCores.toFixed(2)} ` +
        `(idle waiting on the disk: ${cpu.iowaitCores.toFixed(2)}) |`,
    );
  }
  out.push('', '## Audit after the run', '');
  if (report.projectionsDrainMs !== null) {
    out.push(
      `The projections had applied every event ${(report.projectionsDrainMs / 1000).toFixed(1)} s ` +
        'after the load ended (polled every 0.5 s).',
      '',
    );
  }
  if (report.audit === null) out.push(`Not audited: ${report.auditSkipped}`);
  else {
    const a = report.audit;
    out.push(`**${a.verdict}**`, '');
    out.push(
      `Accepted ${int(a.accepted)}, stored ${int(a.stored)}` +
        (a.ledgerTransfers === null ? '' : `, ledger transfers ${int(a.ledgerTransfers)}`) +
        `; hash chain verified from genesis: ${int(a.eventsVerified)} events.`,
    );
    if (Object.keys(a.mismatchCounts).length > 0) {
      out.push('', '| mismatch | count |', '|---|---|');
      for (const [kind, count] of Object.entries(a.mismatchCounts))
        out.push(`| ${kind} | ${count} |`);
    }
  }
  out.push('', '![throughput and latency per second](chart.png)', '');
  return out.join('\n');
}

export function writeReport(dir: string, report: RunReport): void {
  fs.writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'report.md'), markdown(report));
}
