/**
 * Runs one k6 script (built by set-up from its Go module into .tools/k6) and keeps what the report
 * is made of: k6's end-of-test summary (`--summary-export`), every request's sample as gzipped CSV
 * (the time series: a few percent of k6's CPU at 5,000 requests/s, measured), and k6's own output.
 *
 * k6 exits 99 when a threshold (an SLO) is crossed: that is a result to report, not a failure of
 * the run; any other non-zero status is.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CpuReport, startCpuSampler } from './cpu';
import { pinned } from './pin';

const ROOT = path.resolve(__dirname, '..', '..');
export const K6_BIN = path.join(ROOT, '.tools', 'k6');
/** k6's exit status when thresholds were crossed. */
export const K6_THRESHOLDS_CROSSED = 99;
/** k6's exit status when a signal stopped the test (`stop`). */
const K6_EXTERNALLY_ABORTED = 105;

export interface K6Run {
  exitCode: number;
  thresholdsPassed: boolean;
  summaryPath: string;
  samplesPath: string;
  logPath: string;
  /** CPU per component while k6 ran (null where /proc is missing). */
  cpu: CpuReport | null;
}

export interface K6RunOptions {
  /** The replica addresses of the TigerBeetle cluster under test, for the CPU table. */
  cluster?: readonly string[];
  /** More `k6 run` flags (e.g. `--console-output`). */
  args?: string[];
  /** Aborting it stops k6 as ^C does (SIGINT): it ends the test and still writes its summary. */
  stop?: AbortSignal;
  /** The CPUs k6 is pinned to (LOAD_PIN_CPUS, ./pin.ts); absent or null: not pinned. */
  cpus?: readonly number[] | null;
}

export async function runK6(
  script: string,
  env: Record<string, string>,
  outDir: string,
  label: string,
  options: K6RunOptions = {},
): Promise<K6Run> {
  if (!fs.existsSync(K6_BIN)) {
    throw new Error(`k6 is not built: run \`npm run setup\` (it builds ${K6_BIN})`);
  }
  const summaryPath = path.join(outDir, `${label}.k6-summary.json`);
  const samplesPath = path.join(outDir, `${label}.samples.csv.gz`);
  const logPath = path.join(outDir, `${label}.k6.log`);
  const args = ['run', '--no-usage-report', '--summary-export', summaryPath];
  args.push('--out', `csv=${samplesPath}`, ...(options.args ?? []));
  for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);
  args.push(path.join(ROOT, 'load', 'k6', script));
  const log = fs.createWriteStream(logPath);
  const k6 = pinned(options.cpus ?? null, K6_BIN, args);
  const child = spawn(k6.command, k6.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = startCpuSampler(os.cpus().length, { cluster: options.cluster });
  options.stop?.addEventListener('abort', () => child.kill('SIGINT'), { once: true });
  // k6's progress and summary to the terminal as it runs, and into the log.
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    log.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    log.write(chunk);
  });
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  const cpu = sampler.stop();
  await new Promise((resolve) => log.end(resolve));
  const stopped = options.stop?.aborted === true && exitCode === K6_EXTERNALLY_ABORTED;
  if (exitCode !== 0 && exitCode !== K6_THRESHOLDS_CROSSED && !stopped) {
    throw new Error(`k6 ${script} failed with status ${exitCode}; see ${logPath}`);
  }
  return {
    exitCode,
    thresholdsPassed: exitCode === 0 || stopped,
    summaryPath,
    samplesPath,
    logPath,
    cpu,
  };
}

/** The few facts of k6's summary export the report quotes. */
export interface K6Summary {
  journalsPosted: number;
  /**
   * Iterations an open-model scenario could not start (every VU busy): offered load the target
   * did not absorb.
   */
  droppedIterations: number;
  checksPassed: number;
  checksFailed: number;
  /** Every threshold, by metric: expression → crossed. */
  thresholds: { metric: string; expression: string; crossed: boolean }[];
}

interface SummaryExport {
  metrics: Record<
    string,
    { count?: number; passes?: number; fails?: number; thresholds?: Record<string, boolean> }
  >;
}

export function readK6Summary(summaryPath: string): K6Summary {
  const summary = JSON.parse(fs.readFileSync(summaryPath, 'utf8')) as SummaryExport;
  const thresholds: K6Summary['thresholds'] = [];
  for (const [metric, values] of Object.entries(summary.metrics)) {
    for (const [expression, crossed] of Object.entries(values.thresholds ?? {})) {
      thresholds.push({ metric, expression, crossed });
    }
  }
  return {
    // journal_errors is a Rate: its false samples (`fails`) are the journals accepted.
    journalsPosted: summary.metrics.journal_errors?.fails ?? 0,
    droppedIterations: summary.metrics.dropped_iterations?.count ?? 0,
    checksPassed: summary.metrics.checks?.passes ?? 0,
    checksFailed: summary.metrics.checks?.fails ?? 0,
    thresholds,
  };
}
