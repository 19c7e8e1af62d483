/**
 * `npm run chaos` (every fault) and `npm run chaos -- --smoke` (CI's: one of each kind): k6
 * clients post journals through nginx to two bridge instances on the stack's TigerBeetle cluster
 * while the runner breaks one part at a time (faults.ts), lets it come back, and lets the stack
 * settle before the next. Per fault it measures what the clients lived through (measure.ts) and
 * audits the books: every acknowledged journal once in TigerBeetle and in PostgreSQL (books.ts),
 * `ledger-bridge reconcile` and `verify --full` (load/runner/audit.ts). The report goes to
 * load/results/<time>-chaos[-smoke]/ (report.md, summary.json, chart.png, the services' logs).
 *
 * Env: CHAOS_RATE (journals/s offered; 100, smoke 50), CHAOS_FAULTS (ids to inject, comma-
 * separated; default: all, or the smoke ones), CHAOS_PORT (3300: bridge A; B +10, nginx +20),
 * ACCOUNTS (200). Needs the local stack with its TigerBeetle cluster and TB_BIN (to restart
 * replicas). Exit status: 0 when nothing was lost, duplicated or mismatched on any row; 1
 * otherwise (the report is written either way); 2 bad usage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { chooseLedger } from '../bench/ledger';
import { reconcileSince, verifyChain } from '../runner/audit';
import { writeChart } from '../runner/chart';
import { runK6 } from '../runner/k6';
import { machine, resultsDir } from '../runner/report';
import { readSeries } from '../runner/series';
import { envInt, runCommand, UsageError } from '../runner/settings';
import { stackCluster } from '../../infra/tigerbeetle/replicas';
import { auditBooks } from './books';
import { type Fault, FAULTS } from './faults';
import { Fleet } from './fleet';
import { clientFigures, readClientLog } from './measure';
import { type ChaosReport, chaosMarkdown, type FaultRow, rowClean } from './report';
import { startReplicas, stackCommand } from './stack-control';

const ROOT = path.resolve(__dirname, '..', '..');
const REQUESTS = [
  'POST /api/journal',
  'GET /api/journal/:journalId',
  'GET /api/balance/:accountId',
];

interface Timing {
  /** Steady load before each fault (ms): the rate the recovery is measured against. */
  preMs: number;
  /** Observed after each part's return (ms). */
  afterMs: number;
}

/** Longest k6 may take to create its accounts and see a first 201 (ms). */
const SETUP_TIMEOUT_MS = 120_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function chosenFaults(smoke: boolean): Fault[] {
  const named = (process.env.CHAOS_FAULTS ?? '').split(',').filter(Boolean);
  const unknown = named.filter((id) => !FAULTS.some((f) => f.id === id));
  if (unknown.length > 0) {
    throw new UsageError(
      `CHAOS_FAULTS: unknown ${unknown.join(', ')} (known: ${FAULTS.map((f) => f.id).join(', ')})`,
    );
  }
  if (named.length > 0) return FAULTS.filter((f) => named.includes(f.id));
  return FAULTS.filter((f) => !smoke || f.smoke);
}

/** After a fault that went wrong: every part started again, so the next row measures its own. */
async function restoreStack(fleet: Fleet): Promise<void> {
  await startReplicas().catch(() => undefined);
  await stackCommand(['up']).catch(() => undefined);
  for (const name of fleet.crashed()) await fleet.start(name).catch(() => undefined);
}

interface Injected {
  fault: Fault;
  injectedMs: number;
  returnedMs: number;
  rowStartMs: number;
  error: string | null;
  crashed: string[];
  reconcile: Awaited<ReturnType<typeof reconcileSince>> | null;
  chainOk: boolean | null;
}

async function inject(fault: Fault, fleet: Fleet, timing: Timing, since: Date): Promise<Injected> {
  const rowStartMs = Date.now();
  await sleep(timing.preMs);
  console.log(`chaos: ${fault.id}: ${fault.title}`);
  const injectedMs = Date.now();
  let error: string | null = null;
  let returnedMs = injectedMs;
  try {
    await fault.inject(fleet);
    await sleep(fault.holdMs);
    await fault.recover(fleet);
    returnedMs = Date.now();
  } catch (failure) {
    error = failure instanceof Error ? failure.message.split('\n')[0]! : String(failure);
    console.error(`chaos: ${fault.id} failed: ${error}`);
    await restoreStack(fleet);
    returnedMs = Date.now();
  }
  await sleep(timing.afterMs);
  const crashed = fleet.crashed();
  for (const name of crashed) await fleet.start(name);
  console.log(`chaos: ${fault.id}: back after ${returnedMs - injectedMs} ms; reconciling…`);
  const reconcile = await reconcileSince(fleet.env, since).catch(() => null);
  const verify = await verifyChain(fleet.env).catch(() => null);
  return {
    fault,
    injectedMs,
    returnedMs,
    rowStartMs,
    error,
    crashed,
    reconcile,
    chainOk: verify?.ok ?? null,
  };
}

/** k6's set-up (the accounts) is done and journals flow: the first fault may come. */
async function firstAcknowledgement(clientLog: string, k6: Promise<unknown>): Promise<void> {
  let ended = false;
  void k6.finally(() => (ended = true)).catch(() => undefined);
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  while (readClientLog(clientLog).acks.length === 0) {
    if (ended) await k6;
    if (ended || Date.now() > deadline) throw new Error('k6 acknowledged no journal');
    await sleep(500);
  }
}

async function main(argv: string[]): Promise<number> {
  const smoke = argv.includes('--smoke');
  const faults = chosenFaults(smoke);
  const rate = envInt('CHAOS_RATE', smoke ? 50 : 100, 1, 5_000);
  const port = envInt('CHAOS_PORT', 3300, 1, 65_500);
  const ledger = chooseLedger(process.env);
  if (ledger.kind !== 'tigerbeetle' || (process.env.TB_BIN ?? '') === '') {
    throw new UsageError(
      "chaos runs on the stack's TigerBeetle cluster: set TB_BIN and run the stack",
    );
  }
  stackCluster();
  const timing: Timing = smoke
    ? { preMs: 5_000, afterMs: 10_000 }
    : { preMs: 10_000, afterMs: 15_000 };
  const started = new Date();
  const label = smoke ? 'chaos-smoke' : 'chaos';
  const dir = resultsDir(label, started);
  const run = `chaos-${randomUUID().slice(0, 8)}`;
  const fleet = new Fleet({ run, port, ledger, logDir: path.join(dir, 'logs') });
  console.log(`chaos: starting two bridges, the worker, the relay and nginx (${fleet.baseUrl})…`);
  await fleet.up();
  const stop = new AbortController();
  const clientLog = path.join(dir, 'clients.log');
  try {
    const k6 = runK6(
      'chaos.js',
      {
        BASE_URL: fleet.baseUrl,
        API_KEY: fleet.apiKey,
        RUN: run,
        ACCOUNTS: process.env.ACCOUNTS ?? '200',
        CHAOS_RATE: String(rate),
      },
      dir,
      label,
      { args: ['--console-output', clientLog, '--quiet'], stop: stop.signal },
    );
    // Awaited at the end; a k6 that fails meanwhile must not go unhandled (and leave the fleet).
    k6.catch(() => undefined);
    await firstAcknowledgement(clientLog, k6);
    const rows: Injected[] = [];
    for (const fault of faults) rows.push(await inject(fault, fleet, timing, started));
    await sleep(timing.preMs);
    stop.abort();
    const k6Run = await k6;
    return await finish({
      dir,
      label,
      started,
      rate,
      timing,
      rows,
      fleet,
      samples: k6Run.samplesPath,
      clientLog,
    });
  } finally {
    stop.abort();
    await fleet.down();
  }
}

interface Finish {
  dir: string;
  label: string;
  started: Date;
  rate: number;
  timing: Timing;
  rows: Injected[];
  fleet: Fleet;
  samples: string;
  clientLog: string;
}

async function finish(f: Finish): Promise<number> {
  const log = readClientLog(f.clientLog);
  const rows: FaultRow[] = [];
  for (const [i, injected] of f.rows.entries()) {
    const next = f.rows[i + 1]?.rowStartMs ?? Infinity;
    const acknowledged = log.acks
      .filter((a) => a.ackMs >= (i === 0 ? 0 : injected.rowStartMs) && a.ackMs < next)
      .map((a) => a.journalId);
    const books = await auditBooks(f.fleet.env, acknowledged);
    const reconcile = injected.reconcile;
    rows.push({
      id: injected.fault.id,
      title: injected.fault.title,
      atSeconds: (injected.injectedMs - f.started.getTime()) / 1000,
      downMs: injected.returnedMs - injected.injectedMs,
      error: injected.error,
      crashed: injected.crashed,
      clients: clientFigures(log, {
        ...f.timing,
        injectedMs: injected.injectedMs,
        returnedMs: injected.returnedMs,
      }),
      books,
      duplicated: reconcile?.counts.duplicate_transfer ?? 0,
      mismatches: reconcile === null ? null : reconcile.mismatchCount,
      reconcileDeferred: reconcile?.deferred ?? (reconcile === null ? 'reconcile failed' : null),
      chainOk: injected.chainOk,
    });
  }
  const report: ChaosReport = {
    command: f.label === 'chaos' ? 'npm run chaos' : 'npm run chaos -- --smoke',
    startedAt: f.started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machine(),
    rate: f.rate,
    timing: f.timing,
    acknowledged: log.acks.length,
    gaveUp: log.gaveUp.length,
    rows,
  };
  fs.writeFileSync(path.join(f.dir, 'summary.json'), JSON.stringify(report, null, 2));
  fs.writeFileSync(path.join(f.dir, 'report.md'), chaosMarkdown(report));
  const series = await readSeries(f.samples, REQUESTS);
  const startSecond = series[0]?.startSecond ?? 0;
  const marks = f.rows.map((r) => ({ t: r.injectedMs / 1000 - startSecond, label: r.fault.id }));
  await writeChart(
    series,
    path.join(f.dir, 'chart.png'),
    `${f.label} — ${report.startedAt}`,
    marks,
  );
  console.log(`\n${chaosMarkdown(report)}\nreport: ${path.relative(ROOT, f.dir)}/report.md`);
  return rows.every(rowClean) ? 0 : 1;
}

if (require.main === module) {
  runCommand(() => main(process.argv.slice(2)));
}
