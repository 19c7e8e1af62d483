/**
 * `npm run bench`: journals over HTTP against a real bridge process (the local PostgreSQL and
 * Kafka, outcome events with acks=all before every 201), on the ledger the run chose
 * (ledger.ts): the TigerBeetle cluster by default, the embedded engine (fsync on) where there is
 * none or with BENCH_LEDGER=engine. The first line and the table say which.
 *
 * The bridge runs in its own process; the load generator (autocannon) in this one, on the same
 * 2-core machine, as the issue asks. For each scenario — uniform accounts, and one hot account on
 * every journal — concurrency rises and the table prints journals/s and p50/p99 latency. Then the
 * bulk endpoint (1,000 journals per request). Each row also gives the transfers the bridge sent to
 * the ledger per second and their mean batch size and round trip (from the bridge's /metrics),
 * and where the CPU went. Ratios are within this run only: the machine is noisy, so compare rows,
 * not runs. Every request to the bridge, /metrics included, carries an API key of every scope
 * that bridge-process.ts mints once the bridge is ready and revokes when it stops.
 *
 * Settings (env): BENCH_SECONDS (8 per step), BENCH_CONNECTIONS ("16,64,256"), BENCH_ACCOUNTS
 * (1,000), BENCH_BULK_CONNECTIONS ("4,16"), BENCH_PORT (3199), BENCH_SCENARIOS ("single,bulk"),
 * BENCH_CASES ("uniform,hot"), BENCH_LEDGER (unset: the cluster if any; "engine";
 * "tigerbeetle"), BENCH_BRIDGE_NODE_ARGS (extra node flags for the bridge process, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the time goes).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { v7 as uuidv7 } from 'uuid';
import { busiest, type CpuReport, startCpuSampler } from '../runner/cpu';
import { envInt, envInts, runCommand, UsageError } from '../runner/settings';
import { type BridgeProcess, startBridgeProcess } from './bridge-process';
import { bridgeLedger, chooseLedger, describeLedger, type LedgerChoice } from './ledger';

/** Journals per bulk request; each is 2 lines, so one transfer (journal/plan.ts). */
export const BULK_JOURNALS = 1_000;
const HELD_P99_MS = 50;

export type BenchCase = 'uniform' | 'hot';

export interface JournalsBenchOptions {
  ledger: LedgerChoice;
  /** Seconds per step. */
  seconds: number;
  connections: number[];
  bulkConnections: number[];
  accounts: number;
  port: number;
  scenarios: ('single' | 'bulk')[];
  cases: BenchCase[];
  bridgeNodeArgs: string[];
}

export interface Row {
  scenario: string;
  connections: number;
  journalsPerSecond: number;
  /** Transfers the bridge sent to the ledger per second (its /metrics), accepted or not. */
  transfersPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** Mean transfers per createTransfers request, and its mean round trip (ms). */
  ledgerBatchMean: number;
  ledgerMsMean: number;
  /** Cores busy per component over the step, and the machine's (null off Linux). */
  cpu: CpuReport | null;
}

export interface JournalsBench {
  /** The ledger as the bridge reported it (GET /health). */
  ledger: { kind: string; at: string; description: string };
  rows: Row[];
}

export function journalsBenchOptions(env: NodeJS.ProcessEnv = process.env): JournalsBenchOptions {
  const words = <T extends string>(name: string, fallback: string, allowed: readonly T[]): T[] => {
    const list = (env[name] ?? fallback).split(',').map((item) => item.trim());
    if (list.some((item) => !(allowed as readonly string[]).includes(item))) {
      throw new UsageError(`${name} lists ${allowed.join(' and/or ')}, got "${env[name]}"`);
    }
    return list as T[];
  };
  return {
    ledger: chooseLedger(env),
    seconds: envInt('BENCH_SECONDS', 8, 1, 3_600),
    connections: envInts('BENCH_CONNECTIONS', [16, 64, 256], 1, 10_000),
    bulkConnections: envInts('BENCH_BULK_CONNECTIONS', [4, 16], 1, 1_000),
    accounts: envInt('BENCH_ACCOUNTS', 1_000, 2, 1_000_000),
    port: envInt('BENCH_PORT', 3199, 1, 65_535),
    scenarios: words('BENCH_SCENARIOS', 'single,bulk', ['single', 'bulk'] as const),
    cases: words('BENCH_CASES', 'uniform,hot', ['uniform', 'hot'] as const),
    bridgeNodeArgs: (env.BENCH_BRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean),
  };
}

/** The bridge's own counters a row is computed from (GET /metrics). */
interface LedgerCounters {
  events: number;
  requests: number;
  seconds: number;
}

async function ledgerCounters(bridge: BridgeProcess): Promise<LedgerCounters> {
  const res = await fetch(`${bridge.baseUrl}/metrics`, { headers: bridge.headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${bridge.baseUrl}/metrics: ${res.status} ${text}`);
  if (!text.includes('ledger_bridge_ledger_batch_events')) {
    throw new Error(`${bridge.baseUrl}/metrics has no ledger_bridge_ledger_batch_events`);
  }
  // A series appears with its first observation: absent is 0.
  const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    events: value(/^ledger_bridge_ledger_batch_events_sum (\S+)$/m),
    requests: value(/^ledger_bridge_ledger_batch_events_count (\S+)$/m),
    seconds: value(
      /^ledger_bridge_ledger_request_duration_seconds_sum\{operation="create_transfers"\} (\S+)$/m,
    ),
  };
}

class Bench {
  private readonly run = uuidv7().slice(0, 8);
  private readonly jsonHeaders: Record<string, string>;
  private accountIds: string[] = [];

  constructor(
    private readonly options: JournalsBenchOptions,
    private readonly bridge: BridgeProcess,
  ) {
    this.jsonHeaders = { 'content-type': 'application/json', ...bridge.headers };
  }

  private async postJson(route: string, body: unknown): Promise<number> {
    const res = await fetch(this.bridge.baseUrl + route, {
      method: 'POST',
      headers: this.jsonHeaders,
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  }

  async createAccounts(): Promise<void> {
    const ids = Array.from({ length: this.options.accounts }, (_, i) => `bench-${this.run}-${i}`);
    ids.push(`bench-${this.run}-house`);
    for (let i = 0; i < ids.length; i += 50) {
      const statuses = await Promise.all(
        ids.slice(i, i + 50).map((accountId) =>
          this.postJson('/api/accounts', {
            accountId,
            name: accountId,
            holderId: 'bench',
            accountType: accountId.endsWith('house') ? 'house' : 'asset',
            asset: 'USD',
          }),
        ),
      );
      if (statuses.some((s) => s !== 201 && s !== 200)) throw new Error(`accounts: ${statuses}`);
    }
    this.accountIds = ids;
  }

  journalBody(hot: boolean): Record<string, unknown> {
    const accounts = this.accountIds;
    const n = this.options.accounts;
    const pick = () => accounts[Math.floor(Math.random() * n)]!;
    const debit = hot ? accounts[n]! : pick();
    let credit = pick();
    while (credit === debit) credit = pick();
    const amount = 1 + Math.floor(Math.random() * 10_000);
    return {
      journalId: uuidv7(),
      date: '2026-11-21',
      description: 'bench journal',
      source: 'bench',
      lines: [
        { accountId: debit, lineType: 'DEBIT', amount, lineNumber: 1 },
        { accountId: credit, lineType: 'CREDIT', amount, lineNumber: 2 },
      ],
    };
  }

  async fire(
    scenario: string,
    connections: number,
    route: string,
    body: () => unknown,
    journalsPerRequest: number,
  ): Promise<Row> {
    const seconds = this.options.seconds;
    const before = await ledgerCounters(this.bridge);
    const sampler = startCpuSampler(os.cpus().length, {
      intervalMs: 500,
      cluster: this.options.ledger.kind === 'tigerbeetle' ? this.options.ledger.addresses : [],
    });
    const result = await autocannon({
      url: this.bridge.baseUrl + route,
      connections,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          headers: this.jsonHeaders,
          setupRequest: (request) => ({ ...request, body: JSON.stringify(body()) }),
        },
      ],
    });
    const cpu = sampler.stop();
    const after = await ledgerCounters(this.bridge);
    const requests = after.requests - before.requests;
    const events = after.events - before.events;
    return {
      scenario,
      connections,
      journalsPerSecond: (result['2xx'] * journalsPerRequest) / seconds,
      transfersPerSecond: events / seconds,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
      ledgerBatchMean: requests === 0 ? 0 : events / requests,
      ledgerMsMean: requests === 0 ? 0 : ((after.seconds - before.seconds) / requests) * 1_000,
      cpu,
    };
  }
}

/** Starts a bridge on `options.ledger`, runs the scenarios, stops it. */
export async function runJournalsBench(options: JournalsBenchOptions): Promise<JournalsBench> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-journals-'));
  const bridge = await startBridgeProcess({
    port: options.port,
    ledger: options.ledger,
    dataDir,
    topic: `bench.outcomes.${uuidv7().slice(0, 8)}`,
    nodeArgs: options.bridgeNodeArgs,
  });
  const bench = new Bench(options, bridge);
  try {
    const running = await bridgeLedger(bridge.baseUrl);
    if ((running.kind === 'tigerbeetle') !== (options.ledger.kind === 'tigerbeetle')) {
      throw new Error(`the bridge runs on ${running.kind}, not ${describeLedger(options.ledger)}`);
    }
    console.log(`bench: the bridge runs on ${running.kind} at ${running.at}`);
    await bench.createAccounts();
    // Warm-up: JIT, connection pools, Kafka producer, not reported.
    await bench.fire('warm-up', 16, '/api/journal', () => bench.journalBody(false), 1);
    const rows: Row[] = [];
    if (options.scenarios.includes('single')) {
      for (const kase of options.cases) {
        for (const connections of options.connections) {
          const scenario = kase === 'hot' ? 'hot account' : 'uniform';
          const body = () => bench.journalBody(kase === 'hot');
          rows.push(await bench.fire(scenario, connections, '/api/journal', body, 1));
        }
      }
    }
    if (options.scenarios.includes('bulk')) {
      if (!options.scenarios.includes('single')) {
        // The bulk path's own warm-up (its body parsing and validation), not reported.
        const body = () => ({
          journals: Array.from({ length: BULK_JOURNALS }, () => bench.journalBody(false)),
        });
        await bench.fire('warm-up', 4, '/api/journals/batch', body, BULK_JOURNALS);
      }
      for (const kase of options.cases) {
        for (const connections of options.bulkConnections) {
          const scenario = `bulk ×${BULK_JOURNALS}, ${kase === 'hot' ? 'hot account' : 'uniform'}`;
          const body = () => ({
            journals: Array.from({ length: BULK_JOURNALS }, () =>
              bench.journalBody(kase === 'hot'),
            ),
          });
          rows.push(
            await bench.fire(scenario, connections, '/api/journals/batch', body, BULK_JOURNALS),
          );
        }
      }
    }
    return {
      ledger: { ...running, description: describeLedger(options.ledger) },
      rows,
    };
  } finally {
    await bridge.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function printRows(rows: Row[]): void {
  console.log(
    '| scenario | connections | journals/s | transfers/s to the ledger | p50 ms | p99 ms | ' +
      'errors | ledger batch (mean transfers) | ledger round trip (mean ms) | CPU (cores) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.connections} | ${int(r.journalsPerSecond)} | ` +
        `${int(r.transfersPerSecond)} | ${r.p50} | ${r.p99} | ${r.errors} | ` +
        `${r.ledgerBatchMean.toFixed(0)} | ${r.ledgerMsMean.toFixed(1)} | ${busiest(r.cpu)} |`,
    );
  }
}

async function main(): Promise<void> {
  const options = journalsBenchOptions();
  console.log(`bench: ledger ${describeLedger(options.ledger)}`);
  const { ledger, rows } = await runJournalsBench(options);
  const routes = options.scenarios.map((s) =>
    s === 'single' ? 'POST /api/journal' : `POST /api/journals/batch (${BULK_JOURNALS} journals)`,
  );
  console.log(
    `\n${routes.join(', ')}; ${options.seconds} s per step, ${options.accounts} accounts; ` +
      `bridge and load generator on one ${os.cpus().length}-core machine\n` +
      `ledger: ${ledger.description}; the bridge's /health: ${ledger.kind}\n`,
  );
  printRows(rows);
  const best = (name: string) =>
    Math.max(0, ...rows.filter((r) => r.scenario === name).map((r) => r.journalsPerSecond));
  const atP99 = (name: string) =>
    Math.max(
      0,
      ...rows
        .filter((r) => r.scenario === name && r.p99 < HELD_P99_MS)
        .map((r) => r.journalsPerSecond),
    );
  if (options.scenarios.includes('single')) {
    console.log(
      `\nbest journals/s: uniform ${int(best('uniform'))}, hot ${int(best('hot account'))}` +
        ` (hot ÷ uniform ${((best('hot account') / best('uniform')) * 100).toFixed(1)}%)`,
    );
    console.log(
      `best with p99 < ${HELD_P99_MS} ms: uniform ${int(atP99('uniform'))}, ` +
        `hot ${int(atP99('hot account'))}`,
    );
  }
}

if (require.main === module) {
  runCommand(main);
}
