/**
 * `npm run bench:reads`: balance reads through the multi-level cache while writes run.
 *
 * Starts load/bench/balance-server.ts in its own process (on the ledger the run chose, ledger.ts:
 * the TigerBeetle cluster by default, the embedded engine with fsync where there is none or with
 * BENCH_LEDGER=engine; the local PostgreSQL for account metadata, the local Redis for L2 and
 * invalidations), starts its write
 * load (BENCH_WRITE_RATE journals/s through the micro-batcher, each followed by the posting
 * instance's onPosted), and drives GET reads at it with autocannon from this process — both on the
 * same 2-core machine. Scenarios: L1 hits (the production configuration, on accounts that are
 * read, not written), L2 hits (a reader whose L1 expires after 1 ms), misses (a reader without
 * Redis or L1: every read is a batched, single-flight ledger lookup). During the L1 scenario the
 * server also measures cross-instance staleness: the time from a posting's commit on instance A
 * until instance B serves the new balance (no token).
 *
 * With BENCH_BRIDGE=1 (the default) a real bridge process (bridge/src/main.ts: the same ledger,
 * PostgreSQL, Kafka acks=all) also takes BENCH_WRITE_RATE journals/s over HTTP for the whole run,
 * paced by a second autocannon: the CPU cost of the real write path on the same machine. The
 * bridge serves balances through the same reader (GET /api/balance/:accountId), but this bench
 * reads the balance server's readers, which know only its own accounts: the bridge's journals go
 * to accounts of its own, and the invalidations come from the server's own write load. Its
 * requests carry an API key that bridge-process.ts mints once the bridge is ready (the balance
 * server takes none). Reads through the bridge itself, with its key check and rate limiter, are
 * ./bridge-reads.ts (`npm run bench:reads:bridge`).
 *
 * autocannon reports p50/p90/p97.5/p99, not p95: the table shows p97.5, an upper bound of p95.
 *
 * Settings (env): BENCH_SECONDS (10 per scenario), BENCH_CONNECTIONS (32), BENCH_WRITE_RATE
 * (1,000 journals/s), BENCH_READ_ACCOUNTS (1,000), BENCH_STALENESS_SAMPLES (300),
 * BENCH_SCENARIOS ("l1,l2,miss"), BENCH_LEDGER (unset: the cluster if any; "engine";
 * "tigerbeetle"). The summary line names the ledger as the balance server opened it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { v7 as uuidv7 } from 'uuid';
import { type BridgeProcess, startBridgeProcess, stopProcess } from './bridge-process';
import { randomJournalBody } from './read-load';
import { chooseLedger, describeLedger, type LedgerChoice, ledgerProcessEnv } from './ledger';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WRITE_RATE = Number(process.env.BENCH_WRITE_RATE ?? 1_000);
const STALENESS_SAMPLES = Number(process.env.BENCH_STALENESS_SAMPLES ?? 300);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'l1,l2,miss').split(',');
const WITH_BRIDGE = (process.env.BENCH_BRIDGE ?? '1') === '1';
const BRIDGE_PORT = Number(process.env.BENCH_BRIDGE_PORT ?? 3198);
const BRIDGE_ACCOUNTS = 1_000;
const WARM_UP_SECONDS = 4;
const ROOT = path.resolve(__dirname, '..', '..');

interface Row {
  scenario: string;
  readsPerSecond: number;
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
  errors: number;
  servedBy: string;
}

function startServer(
  ledger: LedgerChoice,
): Promise<{ child: ChildProcess; base: string; ids: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'load/bench/balance-server.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...ledgerProcessEnv(ledger) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`balance server exited with ${code}`)));
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith('READY '));
      if (line === undefined || !buffered.includes('\n', buffered.indexOf('READY '))) return;
      const [, port, ids] = line.split(' ');
      resolve({ child, base: `http://127.0.0.1:${port}`, ids: ids!.split(',') });
    });
  });
}

/** Accounts in the bridge, then a paced journal load for `seconds`; resolves with journals/s. */
async function bridgeWrites(bridge: BridgeProcess, seconds: number): Promise<number> {
  const base = bridge.baseUrl;
  const headers = { 'content-type': 'application/json', ...bridge.headers };
  const run = uuidv7().slice(0, 8);
  const ids = Array.from({ length: BRIDGE_ACCOUNTS }, (_, i) => `bw-${run}-${i}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map((accountId) =>
        getJson(`${base}/api/accounts`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            accountId,
            name: accountId,
            holderId: 'bench',
            accountType: 'asset',
            asset: 'USD',
          }),
        }),
      ),
    );
  }
  const body = () => randomJournalBody(ids, 'bench:reads write load');
  const result = await autocannon({
    url: `${base}/api/journal`,
    connections: 16,
    overallRate: WRITE_RATE,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers,
        setupRequest: (request) => ({ ...request, body: body() }),
      },
    ],
  });
  return result['2xx'] / seconds;
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

type Stats = {
  writesPerSecond: number;
  ledger: { kind: string; where: string };
  readers: Record<string, { served: Record<string, number>; ledgerLookups: number }>;
};

async function fire(
  base: string,
  scenario: string,
  prefix: string,
  ids: string[],
  seconds = SECONDS,
): Promise<Row> {
  const before = await getJson<Stats>(`${base}/stats`);
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({
          ...request,
          path: `/${prefix}/${ids[Math.floor(Math.random() * ids.length)]}`,
        }),
      },
    ],
  });
  const after = await getJson<Stats>(`${base}/stats`);
  const served = Object.entries(after.readers[prefix]!.served)
    .map(([level, n]) => [level, n - (before.readers[prefix]!.served[level] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  const total = served.reduce((sum, [, n]) => sum + n, 0);
  const lookups = after.readers[prefix]!.ledgerLookups - before.readers[prefix]!.ledgerLookups;
  const fromLedger = served.find(([level]) => level === 'ledger')?.[1] ?? 0;
  return {
    scenario,
    readsPerSecond: result['2xx'] / seconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    servedBy:
      served.map(([level, n]) => `${level} ${((n / total) * 100).toFixed(1)}%`).join(', ') +
      (lookups > 0
        ? `; ${lookups} ledger lookups (${(fromLedger / lookups).toFixed(1)} reads each)`
        : ''),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const ledger = chooseLedger(process.env);
  console.log(`bench:reads: ledger ${describeLedger(ledger)}`);
  const { child, base, ids } = await startServer(ledger);
  const bridgeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-reads-bridge-'));
  const bridge = WITH_BRIDGE
    ? await startBridgeProcess({
        port: BRIDGE_PORT,
        ledger,
        dataDir: bridgeDir,
        topic: `bench.reads.outcomes.${uuidv7().slice(0, 8)}`,
      })
    : null;
  try {
    // Warm-up: JIT, subjects, L2 fill; not reported.
    await Promise.all(ids.map((id) => getJson(`${base}/a/${id}`)));
    await getJson(`${base}/writes?rate=${WRITE_RATE}`, { method: 'POST' });
    // Scenarios run SECONDS each, with a little slack for the staleness tail and the stats calls.
    const bridgeRate =
      bridge === null
        ? null
        : bridgeWrites(bridge, WARM_UP_SECONDS + SECONDS * SCENARIOS.length + 2 * SCENARIOS.length);
    // Warm-up under the write load (JIT of the read path, the bridge's Kafka producer): the
    // first scenario would otherwise pay for it. Not reported.
    await fire(base, 'warm-up', 'a', ids, WARM_UP_SECONDS);
    const rows: Row[] = [];
    let staleness: number[] = [];
    const routes: Record<string, [string, string]> = {
      l1: ['L1 hits (reader A)', 'a'],
      l2: ['L2 hits (L1 TTL 1 ms)', 'l2'],
      miss: ['misses → ledger (no L1/L2)', 'l3'],
    };
    for (const name of SCENARIOS) {
      const [scenario, prefix] = routes[name]!;
      if (name === 'l1') {
        const measured = getJson<{ times: number[] }>(`${base}/staleness?n=${STALENESS_SAMPLES}`);
        rows.push(await fire(base, scenario, prefix, ids));
        staleness = (await measured).times.sort((x, y) => x - y);
      } else rows.push(await fire(base, scenario, prefix, ids));
    }
    const stats = await getJson<Stats>(`${base}/stats`);
    const bridgeJournals = bridgeRate === null ? null : await bridgeRate;
    console.log(
      `\nledger: ${stats.ledger.kind} at ${stats.ledger.where} (${describeLedger(ledger)})`,
    );
    console.log(
      `GET balance, ${SECONDS} s per scenario, ${CONNECTIONS} connections, ${ids.length} read ` +
        `accounts; writes ${Math.round(stats.writesPerSecond)} journals/s achieved ` +
        `(asked ${WRITE_RATE})` +
        (bridgeJournals === null
          ? ''
          : `; real bridge process ${Math.round(bridgeJournals)} journals/s over HTTP`) +
        `; everything on one ${os.cpus().length}-core machine\n`,
    );
    console.log(
      '| scenario | reads/s | p50 ms | p90 ms | p97.5 ms (≥ p95) | p99 ms | errors | served by |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${r.scenario} | ${Math.round(r.readsPerSecond).toLocaleString('en-US')} | ${r.p50} | ` +
          `${r.p90} | ${r.p97_5} | ${r.p99} | ${r.errors} | ${r.servedBy} |`,
      );
    }
    if (staleness.length > 0) {
      const f = (p: number) => percentile(staleness, p).toFixed(2);
      console.log(
        `\ncross-instance staleness (commit on A → B serves it, no token), ${staleness.length} ` +
          `samples under the L1 read load: p50 ${f(50)} ms, p95 ${f(95)} ms, p99 ${f(99)} ms, ` +
          `max ${staleness[staleness.length - 1]!.toFixed(2)} ms`,
      );
    }
  } finally {
    await stopProcess(child);
    if (bridge !== null) await bridge.stop();
    fs.rmSync(bridgeDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
