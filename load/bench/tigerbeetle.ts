/**
 * `npm run bench:tigerbeetle`: TigerBeetle's own load generator (`tigerbeetle benchmark`, a hidden
 * command of the server binary) against the same cluster the bridge uses — the ceiling the
 * bridge's bulk path is measured against (bulk.ts).
 *
 * What it does to a shared cluster (TigerBeetle 0.17.9, src/tigerbeetle/benchmark_load.zig):
 * registers a client session, creates `--account-count` accounts and `--transfer-count` transfers
 * on ledger 2 (the bridge's assets use their own ledgers; USD is 1), with time-based ids and a
 * random start for account ids (`--id-order=tbid`, its default, stated here anyway) so it never
 * collides with the bridge or with an earlier run; nothing is deleted afterwards. It knows only
 * cluster id 0 (hard-coded), so another cluster id is refused here. The transfers stay in the
 * cluster: a reconciliation whose window covers the run counts them as `foreign` (they touch none
 * of the bridge's accounts) but has to page through them, so keep runs bounded
 * (BENCH_TB_TRANSFERS) and off a cluster others are testing on.
 *
 * It prints (stdout) "<n> batches in <s> s", "load accepted = <n> tx/s" and "batch latency pNN =
 * <n> ms" for p1, p50, p99 and p100 (1 ms buckets): parsed by `parseBenchmarkOutput`.
 *
 * The binary: TB_BIN, else `tigerbeetle` on PATH (as infra/lib/tigerbeetle.sh finds it). The
 * cluster: ledger.ts's choice (BENCH_LEDGER=engine makes no sense here and is refused).
 *
 * Settings (env): BENCH_TB_TRANSFERS (1,000,000), BENCH_ACCOUNTS (1,000, as `npm run bench`),
 * BENCH_TB_BATCH (8189 transfers per request, TigerBeetle's maximum), BENCH_TB_CLIENTS (1),
 * BENCH_TB_TIMEOUT_S (180: past it the benchmark process — a client only — is killed and the run
 * fails).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BATCH_EVENTS_MAX } from '../../ledger/port';
import { busiest, type CpuReport, startCpuSampler } from '../runner/cpu';
import { envInt, runCommand, UsageError } from '../runner/settings';
import { chooseLedger, describeLedger, type LedgerChoice } from './ledger';

/** The only cluster id `tigerbeetle benchmark` can talk to (benchmark_load.zig). */
const BENCHMARK_CLUSTER_ID = '0';
/** After SIGTERM, how long the benchmark process gets before SIGKILL (ms). */
const KILL_GRACE_MS = 5_000;

export interface TigerBeetleBenchSettings {
  bin: string;
  addresses: string[];
  transferCount: number;
  accountCount: number;
  /** Transfers per create_transfers request (≤ 8189). */
  batchEvents: number;
  clients: number;
  timeoutMs: number;
}

export interface BenchmarkOutput {
  batches: number;
  seconds: number;
  transfersPerSecond: number;
  batchP50Ms: number;
  batchP99Ms: number;
  batchMaxMs: number;
}

export interface TigerBeetleBenchResult extends BenchmarkOutput {
  /** The command line, as run. */
  command: string;
  transfers: number;
  batchEvents: number;
  /** Cores busy per component while it ran, and the machine's (null off Linux). */
  cpu: CpuReport | null;
}

/** The figures `tigerbeetle benchmark` prints on stdout; throws when one is missing. */
export function parseBenchmarkOutput(stdout: string): BenchmarkOutput {
  const number = (pattern: RegExp, what: string): number => {
    const match = pattern.exec(stdout);
    if (match === null) {
      throw new Error(`tigerbeetle benchmark printed no ${what}; its output:\n${stdout}`);
    }
    return Number(match[1]);
  };
  const batchesLine = /^(\d+) batches in ([\d.]+) s$/m.exec(stdout);
  if (batchesLine === null) {
    throw new Error(`tigerbeetle benchmark printed no "batches in"; its output:\n${stdout}`);
  }
  return {
    batches: Number(batchesLine[1]),
    seconds: Number(batchesLine[2]),
    transfersPerSecond: number(/^load accepted = (\d+) tx\/s$/m, 'load accepted'),
    batchP50Ms: number(/^batch latency p50 += (\d+) ms/m, 'batch p50'),
    batchP99Ms: number(/^batch latency p99 += (\d+) ms/m, 'batch p99'),
    batchMaxMs: number(/^batch latency p100 += (\d+) ms/m, 'batch p100'),
  };
}

/** TB_BIN, else `tigerbeetle` on PATH; null when there is neither. */
export function findTigerBeetleBin(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.TB_BIN !== undefined && env.TB_BIN !== '') return env.TB_BIN;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'tigerbeetle');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Settings from the environment, for the cluster `ledger`; UsageError when they cannot work. */
export function tigerBeetleBenchSettings(
  ledger: LedgerChoice,
  env: NodeJS.ProcessEnv = process.env,
): TigerBeetleBenchSettings {
  if (ledger.kind !== 'tigerbeetle') {
    throw new UsageError(
      `tigerbeetle benchmark needs a TigerBeetle cluster: ${describeLedger(ledger)}`,
    );
  }
  if (ledger.clusterId !== BENCHMARK_CLUSTER_ID) {
    throw new UsageError(
      `tigerbeetle benchmark only talks to cluster ${BENCHMARK_CLUSTER_ID}, ` +
        `the cluster is ${ledger.clusterId}`,
    );
  }
  const bin = findTigerBeetleBin(env);
  if (bin === null) {
    throw new UsageError('no TigerBeetle binary: set TB_BIN or put `tigerbeetle` on PATH');
  }
  return {
    bin,
    addresses: ledger.addresses,
    transferCount: envInt('BENCH_TB_TRANSFERS', 1_000_000, 1, 1_000_000_000),
    accountCount: envInt('BENCH_ACCOUNTS', 1_000, 2, 1_000_000),
    batchEvents: envInt('BENCH_TB_BATCH', BATCH_EVENTS_MAX, 1, BATCH_EVENTS_MAX),
    clients: envInt('BENCH_TB_CLIENTS', 1, 1, 64),
    timeoutMs: envInt('BENCH_TB_TIMEOUT_S', 180, 1, 86_400) * 1_000,
  };
}

export function benchmarkArgs(settings: TigerBeetleBenchSettings): string[] {
  return [
    'benchmark',
    `--addresses=${settings.addresses.join(',')}`,
    `--account-count=${settings.accountCount}`,
    `--transfer-count=${settings.transferCount}`,
    `--transfer-batch-count=${settings.batchEvents}`,
    `--clients=${settings.clients}`,
    // Time-based transfer ids and a random first account id: no collision on a shared cluster.
    '--id-order=tbid',
    // No get_account_transfers stage after the transfers: the figure is create_transfers'.
    '--query-count=0',
  ];
}

/** Runs the benchmark to completion (or kills it at the timeout and throws). */
export async function runTigerBeetleBenchmark(
  settings: TigerBeetleBenchSettings,
): Promise<TigerBeetleBenchResult> {
  const args = benchmarkArgs(settings);
  const command = `${path.basename(settings.bin)} ${args.join(' ')}`;
  console.log(`bench:tigerbeetle: ${command}`);
  // Its cwd is a temp dir: with --addresses it writes no data file, but should it ever, not here.
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tigerbeetle-'));
  const sampler = startCpuSampler(os.cpus().length, {
    intervalMs: 500,
    cluster: settings.addresses,
  });
  const child = spawn(settings.bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
  }, settings.timeoutMs);
  const status = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(signal ?? String(code)));
  });
  clearTimeout(timer);
  const cpu = sampler.stop();
  fs.rmSync(cwd, { recursive: true, force: true });
  if (timedOut || status !== '0') {
    throw new Error(
      `${command}: ${timedOut ? `killed after ${settings.timeoutMs} ms` : `exit ${status}`}\n` +
        `${stdout}\n${stderr.split('\n').slice(-15).join('\n')}`,
    );
  }
  return {
    command,
    transfers: settings.transferCount,
    batchEvents: settings.batchEvents,
    ...parseBenchmarkOutput(stdout),
    cpu,
  };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function printBenchmark(result: TigerBeetleBenchResult, ledger: LedgerChoice): void {
  console.log(
    `\n\`${result.command}\` on ${describeLedger(ledger)}, on one ${os.cpus().length}-core ` +
      'machine\n',
  );
  console.log(
    '| transfers | batch | batches | seconds | transfers/s | batch p50 ms | p99 ms | max ms | ' +
      'CPU (cores) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${int(result.transfers)} | ${result.batchEvents} | ${result.batches} | ` +
      `${result.seconds.toFixed(2)} | ${int(result.transfersPerSecond)} | ${result.batchP50Ms} | ` +
      `${result.batchP99Ms} | ${result.batchMaxMs} | ${busiest(result.cpu)} |`,
  );
}

async function main(): Promise<void> {
  const ledger = chooseLedger(process.env);
  const settings = tigerBeetleBenchSettings(ledger);
  printBenchmark(await runTigerBeetleBenchmark(settings), ledger);
}

if (require.main === module) {
  runCommand(main);
}
