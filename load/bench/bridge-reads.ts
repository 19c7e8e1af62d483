/**
 * `npm run bench:reads:bridge`: balance reads through a real bridge process (bridge/src/main.ts,
 * started by ./bridge-process.ts), with its API key checked and its rate limiter on (the
 * configured RATE_LIMITS, leases in Redis), while journals are written at a steady rate. The
 * issue's goal: at least 20,000 reads/s at p95 < 5 ms during writes.
 *
 * The load generator (./read-load.ts, autocannon) runs in a process of its own, pinned with
 * taskset to BENCH_PIN_CPUS (default: the last CPU), and the bridge to the others (../runner/
 * pin.ts), so the figure is the bridge's core against the generator's, not the two taking turns
 * on both; the report prints which CPUs each got. The stack's services (TigerBeetle, PostgreSQL,
 * Redis, Kafka) are not pinned: they run wherever the kernel puts them, as in every other bench.
 *
 * In one run, on the same bridge, one row per scenario (BENCH_SCENARIOS):
 * - `health`: GET /health, no key, no limiter, no writes: the ceiling of the HTTP stack here,
 *   the baseline the balance rows are read against;
 * - `idle`: GET /api/balance/<id> with the key and the limiter, no writes;
 * - `writes`: the same while BENCH_WRITE_RATE journals/s are posted (the goal's row).
 * With BENCH_BASELINE_ROOT (another checkout, e.g. `git worktree add /tmp/lb-before HEAD` with
 * node_modules linked in) the same rows are measured first on a bridge run from there: before
 * and after a change, in one run.
 *
 * Each row: reads/s, p50/p95/p99/max (exact, from every answer), non-2xx and errors, journals/s
 * achieved, the bridge's CPU (cores, and µs per request), the generator's µs per read, and which
 * cache level served the reads (the bridge's /metrics, polled each second: approximate).
 *
 * Reads go to BENCH_READ_ACCOUNTS accounts; journals to BENCH_WRITE_ACCOUNTS others, or with
 * BENCH_WRITES_ON_READ=1 between the read accounts (then reads also miss L1 after invalidations).
 *
 * Settings (env): BENCH_SECONDS (15 per row), BENCH_CONNECTIONS (32), BENCH_READ_RATE (0: closed
 * loop), BENCH_WRITE_RATE (1,000), BENCH_READ_ACCOUNTS (1,000), BENCH_WRITE_ACCOUNTS (200),
 * BENCH_WRITES_ON_READ (0), BENCH_SCENARIOS (health,idle,writes), BENCH_PIN_CPUS (the last CPU;
 * empty: none), BENCH_PORT (3197), BENCH_BRIDGE_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`),
 * BENCH_BASELINE_ROOT (unset), BENCH_LEDGER (./ledger.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { type BridgeProcess, startBridgeProcess } from './bridge-process';
import { chooseLedger, describeLedger, type LedgerChoice } from './ledger';
import type { ReadLoadPlan, ReadLoadResult } from './read-load';
import { type PinPlan, pinned, pinPlan } from '../runner/pin';
import { envInt, runCommand, UsageError } from '../runner/settings';

const ROOT = path.resolve(__dirname, '..', '..');
const SCENARIOS = ['health', 'idle', 'writes'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** Not reported: JIT, the key and subject caches, the limiter's first lease (s). */
const WARM_UP_SECONDS = 3;
/** Accounts created at once over HTTP. */
const CREATE_CONCURRENCY = 50;

interface Settings {
  ledger: LedgerChoice;
  seconds: number;
  connections: number;
  readRate: number;
  writeRate: number;
  readAccounts: number;
  writeAccounts: number;
  writesOnRead: boolean;
  scenarios: Scenario[];
  pin: PinPlan;
  port: number;
  nodeArgs: string[];
  baselineRoot: string | null;
}

interface Row {
  bridge: string;
  scenario: Scenario;
  result: ReadLoadResult;
  bridgeCores: number;
  bridgeUsPerRequest: number;
  servedBy: string;
}

function settings(env: NodeJS.ProcessEnv = process.env): Settings {
  const scenarios = (env.BENCH_SCENARIOS ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) {
      throw new UsageError(`BENCH_SCENARIOS lists ${SCENARIOS.join(', ')}, got "${s}"`);
    }
  }
  const baselineRoot = env.BENCH_BASELINE_ROOT ?? '';
  if (baselineRoot !== '' && !fs.existsSync(path.join(baselineRoot, 'bridge/src/main.ts'))) {
    throw new UsageError(`BENCH_BASELINE_ROOT=${baselineRoot} has no bridge/src/main.ts`);
  }
  const cpus = os.cpus().length;
  return {
    ledger: chooseLedger(env),
    seconds: envInt('BENCH_SECONDS', 15, 1, 600),
    connections: envInt('BENCH_CONNECTIONS', 32, 1, 10_000),
    readRate: envInt('BENCH_READ_RATE', 0, 0, 10_000_000),
    writeRate: envInt('BENCH_WRITE_RATE', 1_000, 0, 100_000),
    readAccounts: envInt('BENCH_READ_ACCOUNTS', 1_000, 1, 1_000_000),
    writeAccounts: envInt('BENCH_WRITE_ACCOUNTS', 200, 2, 1_000_000),
    writesOnRead: env.BENCH_WRITES_ON_READ === '1',
    scenarios: scenarios as Scenario[],
    pin: pinPlan('BENCH_PIN_CPUS', env.BENCH_PIN_CPUS ?? (cpus > 1 ? String(cpus - 1) : '')),
    port: envInt('BENCH_PORT', 3197, 1, 65_535),
    nodeArgs: (env.BENCH_BRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean),
    baselineRoot: baselineRoot === '' ? null : path.resolve(baselineRoot),
  };
}

async function createAccounts(bridge: BridgeProcess, ids: string[]): Promise<void> {
  const headers = { 'content-type': 'application/json', ...bridge.headers };
  for (let i = 0; i < ids.length; i += CREATE_CONCURRENCY) {
    await Promise.all(
      ids.slice(i, i + CREATE_CONCURRENCY).map(async (accountId) => {
        const res = await fetch(`${bridge.baseUrl}/api/accounts`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            accountId,
            name: accountId,
            holderId: 'bench',
            accountType: 'asset',
            asset: 'USD',
          }),
        });
        const text = await res.text();
        if (res.status !== 201 && res.status !== 200) {
          throw new Error(`POST /api/accounts ${accountId}: ${res.status} ${text}`);
        }
      }),
    );
  }
}

/** user + system CPU of a process so far (s), from /proc; NaN where there is none. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5), counted from the state field (3) here: utime, stime.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Balance reads served per cache level so far (the bridge's /metrics). */
async function servedCounts(bridge: BridgeProcess): Promise<Record<string, number>> {
  const res = await fetch(`${bridge.baseUrl}/metrics`, { headers: bridge.headers });
  const text = await res.text();
  const count = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    l1: count(/^ledger_bridge_cache_hits_total\{cache="balance",level="l1"\} (\S+)$/m),
    l2: count(/^ledger_bridge_cache_hits_total\{cache="balance",level="l2"\} (\S+)$/m),
    ledger: count(/^ledger_bridge_cache_misses_total\{cache="balance"\} (\S+)$/m),
  };
}

function describeServed(before: Record<string, number>, after: Record<string, number>): string {
  const deltas = Object.keys(after).map((level) => [level, after[level]! - before[level]!]);
  const total = deltas.reduce((sum, [, n]) => sum + Number(n), 0);
  if (total === 0) return '-';
  return deltas
    .filter(([, n]) => Number(n) > 0)
    .map(([level, n]) => `${level} ${((Number(n) / total) * 100).toFixed(1)}%`)
    .join(', ');
}

/** Runs the load generator on the load CPUs; resolves with its result line. */
function generate(plan: ReadLoadPlan, pin: PinPlan): Promise<ReadLoadResult> {
  const args = ['--import', 'tsx', 'load/bench/read-load.ts'];
  const run = pinned(pin.load, process.execPath, args);
  const child = spawn(run.command, run.args, {
    cwd: ROOT,
    env: { ...process.env, READ_LOAD: JSON.stringify(plan) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`the load generator exited with ${code}: ${out.slice(-500)}`));
      } else resolve(JSON.parse(line.slice('RESULT '.length)) as ReadLoadResult);
    });
  });
}

interface Prepared {
  bridge: BridgeProcess;
  readPaths: string[];
  writeAccounts: string[];
}

async function prepare(s: Settings, root: string, label: string): Promise<Prepared> {
  const run = uuidv7().slice(-8);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-reads-bridge-'));
  const bridge = await startBridgeProcess({
    port: s.port,
    ledger: s.ledger,
    dataDir,
    topic: `bench.reads.bridge.${run}`,
    nodeArgs: s.nodeArgs,
    cpus: s.pin.services,
    root,
  });
  const reads = Array.from({ length: s.readAccounts }, (_, i) => `rb-${run}-${i}`);
  const others = Array.from({ length: s.writeAccounts }, (_, i) => `wb-${run}-${i}`);
  await createAccounts(bridge, s.writesOnRead ? reads : [...reads, ...others]);
  const readPaths = reads.map((id) => `/api/balance/${id}`);
  console.log(`${label}: bridge from ${root}, ${reads.length} read accounts ready`);
  return { bridge, readPaths, writeAccounts: s.writesOnRead ? reads : others };
}

async function measure(s: Settings, p: Prepared, label: string, scenario: Scenario): Promise<Row> {
  const plan: ReadLoadPlan = {
    baseUrl: p.bridge.baseUrl,
    headers: scenario === 'health' ? {} : p.bridge.headers,
    readPaths: scenario === 'health' ? ['/health'] : p.readPaths,
    connections: s.connections,
    readRate: s.readRate,
    seconds: s.seconds,
    writeRate: scenario === 'writes' ? s.writeRate : 0,
    writeAccounts: p.writeAccounts,
  };
  const served = await servedCounts(p.bridge);
  const cpuBefore = cpuSeconds(p.bridge.child.pid);
  const started = performance.now();
  const result = await generate(plan, s.pin);
  const wallS = (performance.now() - started) / 1_000;
  const cpuS = cpuSeconds(p.bridge.child.pid) - cpuBefore;
  const requests = result.reads + result.writesPerSecond * s.seconds;
  return {
    bridge: label,
    scenario,
    result,
    bridgeCores: cpuS / wallS,
    bridgeUsPerRequest: (cpuS * 1e6) / requests,
    servedBy: scenario === 'health' ? '-' : describeServed(served, await servedCounts(p.bridge)),
  };
}

async function measureBridge(s: Settings, root: string, label: string): Promise<Row[]> {
  const prepared = await prepare(s, root, label);
  try {
    const warm: ReadLoadPlan = {
      baseUrl: prepared.bridge.baseUrl,
      headers: prepared.bridge.headers,
      readPaths: prepared.readPaths,
      connections: s.connections,
      readRate: 0,
      seconds: WARM_UP_SECONDS,
      writeRate: 0,
      writeAccounts: prepared.writeAccounts,
    };
    await generate(warm, s.pin);
    const rows: Row[] = [];
    for (const scenario of s.scenarios) rows.push(await measure(s, prepared, label, scenario));
    return rows;
  } finally {
    await prepared.bridge.stop();
  }
}

const SCENARIO_NAMES: Record<Scenario, string> = {
  health: 'GET /health (baseline: no key, no limiter)',
  idle: 'GET balance, key + limiter, no writes',
  writes: 'GET balance, key + limiter, during writes',
};

function printRows(s: Settings, rows: Row[]): void {
  console.log(
    `\nledger: ${describeLedger(s.ledger)}; ${s.pin.describe}; ${s.connections} connections` +
      `${s.readRate > 0 ? `, ${s.readRate} reads/s offered` : ' (closed loop)'}; ${s.seconds} s ` +
      `per row; writes asked ${s.writeRate} journals/s ` +
      `(${s.writesOnRead ? 'on the read accounts' : 'on other accounts'}); ` +
      `${os.cpus().length} CPUs\n`,
  );
  console.log(
    '| bridge | scenario | reads/s | p50 ms | p95 ms | p99 ms | max ms | non-2xx / errors | ' +
      'journals/s | bridge cores | bridge µs/req | generator µs/read | served by |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
  for (const { bridge, scenario, result: r, ...row } of rows) {
    const refused = Object.entries(r.non2xx).map(([status, n]) => `${n}×${status}`);
    console.log(
      `| ${bridge} | ${SCENARIO_NAMES[scenario]} | ${Math.round(r.readsPerSecond).toLocaleString('en-US')} ` +
        `| ${f(r.p50Ms)} | ${f(r.p95Ms)} | ${f(r.p99Ms)} | ${f(r.maxMs, 1)} ` +
        `| ${[...refused, `${r.errors} errors`].join(', ')} ` +
        `| ${scenario === 'writes' ? `${Math.round(r.writesPerSecond)} (${r.writeErrors} failed)` : '-'} ` +
        `| ${f(row.bridgeCores)} | ${f(row.bridgeUsPerRequest, 1)} | ${f(r.cpuUsPerRead, 1)} ` +
        `| ${row.servedBy} |`,
    );
  }
}

async function main(): Promise<void> {
  const s = settings();
  console.log(`bench:reads:bridge: ledger ${describeLedger(s.ledger)}; ${s.pin.describe}`);
  const rows: Row[] = [];
  if (s.baselineRoot !== null) rows.push(...(await measureBridge(s, s.baselineRoot, 'before')));
  rows.push(...(await measureBridge(s, ROOT, s.baselineRoot === null ? 'this' : 'after')));
  printRows(s, rows);
}

runCommand(main);
