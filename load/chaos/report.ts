/**
 * The chaos run's report: one row per fault, what the clients saw and what the audit found. A row
 * is clean when nothing acknowledged is missing from TigerBeetle or PostgreSQL, nothing is stored
 * twice, reconcile found no mismatch (and was not deferred), the hash chain verifies and the fault
 * itself ran; the run fails on any row that is not. The goals (no client error while one
 * replica is down; the pre-fault rate back within 10 s of the part's return) are shown per row.
 */
import type { BooksAudit } from './books';
import type { ClientFigures } from './measure';

/** The rate must be back within this of the part's return (the goal). */
const RECOVERY_GOAL_MS = 10_000;
/** Faults that leave a quorum: the clients must see no error at all. */
const NO_ERROR_GOAL = new Set(['replica-kill', 'replica-partition']);

export interface FaultRow {
  id: string;
  title: string;
  /** When it was injected, from the start of the run (s). */
  atSeconds: number;
  /** From the injection to the part's return (ms). */
  downMs: number;
  /** The fault or its recovery failed (the stack was then restored). */
  error: string | null;
  /** Processes of the fleet that died without being killed. */
  crashed: string[];
  clients: ClientFigures;
  books: BooksAudit;
  duplicated: number;
  mismatches: number | null;
  reconcileDeferred: string | null;
  chainOk: boolean | null;
}

export interface ChaosReport {
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number };
  rate: number;
  timing: { preMs: number; afterMs: number };
  acknowledged: number;
  gaveUp: number;
  rows: FaultRow[];
}

export function rowClean(row: FaultRow): boolean {
  return (
    row.error === null &&
    row.books.missingInLedger.length === 0 &&
    row.books.missingInStore.length === 0 &&
    row.books.wrongLines.length === 0 &&
    row.duplicated === 0 &&
    row.mismatches === 0 &&
    row.reconcileDeferred === null &&
    row.chainOk === true
  );
}

function goals(row: FaultRow): string {
  const marks: string[] = [];
  const c = row.clients;
  if (NO_ERROR_GOAL.has(row.id)) {
    marks.push(c.errorAnswers + c.readFailures === 0 ? 'no errors ✓' : 'errors ✗');
  }
  const recovered = c.recoveredAfterMs !== null && c.recoveredAfterMs <= RECOVERY_GOAL_MS;
  marks.push(recovered ? 'rate ≤ 10 s ✓' : 'rate ≤ 10 s ✗');
  return marks.join(', ');
}

const ms = (value: number | null) => (value === null ? '–' : `${Math.round(value)}`);

function audit(row: FaultRow): string {
  const b = row.books;
  const lost = b.missingInLedger.length + b.missingInStore.length;
  return [
    `${b.checked} checked`,
    `lost ${lost}`,
    `dup ${row.duplicated + b.wrongLines.length}`,
    `mismatches ${row.mismatches ?? '?'}`,
    row.reconcileDeferred === null ? null : `reconcile DEFERRED (${row.reconcileDeferred})`,
    row.chainOk === true ? 'chain OK' : 'chain NOT OK',
  ]
    .filter((part) => part !== null)
    .join(', ');
}

export function chaosMarkdown(report: ChaosReport): string {
  const m = report.machine;
  const lines = [
    `# Chaos run: ${report.rows.every(rowClean) ? 'CLEAN' : 'FAILED'}`,
    '',
    `\`${report.command}\`, ${report.startedAt} → ${report.finishedAt}; ${m.cpus} × ` +
      `${m.cpuModel}, ${m.memoryGiB} GiB.`,
    '',
    `k6 offers ${report.rate} journals/s through nginx to two bridge instances on the 3-replica ` +
      `TigerBeetle cluster; each client retries its journal (same id) until a 201, then a share ` +
      `read it back with its consistency token and the balance with its balance token. ` +
      `${report.acknowledged} journals acknowledged, ${report.gaveUp} given up. Before each fault ` +
      `${report.timing.preMs / 1000} s of steady load; after the part's return ` +
      `${report.timing.afterMs / 1000} s observed, then reconcile and verify.`,
    '',
    '| fault | at s | down ms | error answers | reads failed | gave up | longest wait ms | ' +
      'p99 during ms | p99 after ms | rate back after ms | audit | goals |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const row of report.rows) {
    const c = row.clients;
    lines.push(
      `| ${row.id} | ${row.atSeconds.toFixed(0)} | ${row.downMs} | ${c.errorAnswers} | ` +
        `${c.readFailures} | ${c.gaveUp} | ${ms(c.longestWaitMs)} | ${ms(c.p99DuringMs)} | ` +
        `${ms(c.p99AfterMs)} | ${ms(c.recoveredAfterMs)} | ${audit(row)} | ${goals(row)} |`,
    );
  }
  lines.push('', '## Faults', '');
  for (const row of report.rows) {
    lines.push(`- **${row.id}**: ${row.title}.`);
    if (row.error !== null) lines.push(`  - The fault's own step FAILED: ${row.error}`);
    if (row.crashed.length > 0) lines.push(`  - Died by itself: ${row.crashed.join(', ')}`);
    const lost = [...row.books.missingInLedger, ...row.books.missingInStore];
    if (lost.length > 0) lines.push(`  - Lost: ${lost.slice(0, 10).join(', ')}`);
  }
  lines.push(
    '',
    'Error answers: attempts answered anything but 201 (each was retried with the same id). ' +
      "Longest wait: a client's first attempt to its 201. Rate back: from the part's return to " +
      'the first second at 90% of the acknowledgements per second before the fault.',
    '',
    '![per second: answered, errors, latency](chart.png)',
    '',
  );
  return lines.join('\n');
}
