/**
 * `npm run bench`: journals over HTTP against a real bridge process (embedded engine, fsync on,
 * the local PostgreSQL and Kafka, outcome events with acks=all before every 201).
 *
 * The bridge runs in its own process; the load generator (autocannon) in this one, on the same
 * 2-core machine, as the issue asks. For each scenario — uniform accounts, and one hot account on
 * every journal — concurrency rises and the table prints journals/s and p50/p99 latency. Then the
 * bulk endpoint (1,000 journals per request). Ratios are within this run only: the machine is
 * noisy, so compare rows, not runs.
 *
 * Settings (env): BENCH_SECONDS (8 per step), BENCH_CONNECTIONS ("16,64,256"), BENCH_ACCOUNTS
 * (1,000), BENCH_BULK_CONNECTIONS ("4,16"), BENCH_PORT (3199), BENCH_SCENARIOS ("single,bulk"), BENCH_BRIDGE_NODE_ARGS (extra node
 * flags for the bridge process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the time
 * goes).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { v7 as uuidv7 } from 'uuid';
import { startBridgeProcess, stopProcess } from './bridge-process';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '16,64,256').split(',').map(Number);
const BULK_CONNECTIONS = (process.env.BENCH_BULK_CONNECTIONS ?? '4,16').split(',').map(Number);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1_000);
const PORT = Number(process.env.BENCH_PORT ?? 3199);
const BULK_JOURNALS = 1_000;
const BASE = `http://127.0.0.1:${PORT}`;
const RUN = uuidv7().slice(0, 8);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'single,bulk').split(',');
const BRIDGE_NODE_ARGS = (process.env.BENCH_BRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean);

interface Row {
  scenario: string;
  connections: number;
  journalsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

async function postJson(route: string, body: unknown): Promise<number> {
  const res = await fetch(BASE + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

async function createAccounts(): Promise<string[]> {
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `bench-${RUN}-${i}`);
  ids.push(`bench-${RUN}-house`);
  for (let i = 0; i < ids.length; i += 50) {
    const statuses = await Promise.all(
      ids.slice(i, i + 50).map((accountId) =>
        postJson('/api/accounts', {
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
  return ids;
}

function journalBody(accounts: string[], hot: boolean): Record<string, unknown> {
  const pick = () => accounts[Math.floor(Math.random() * ACCOUNTS)]!;
  const debit = hot ? accounts[ACCOUNTS]! : pick();
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

async function fire(
  scenario: string,
  connections: number,
  route: string,
  body: () => unknown,
  journalsPerRequest: number,
): Promise<Row> {
  const result = await autocannon({
    url: BASE + route,
    connections,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify(body()) }),
      },
    ],
  });
  const ok = result['2xx'];
  const errors = result.errors + result.timeouts + result.non2xx;
  return {
    scenario,
    connections,
    journalsPerSecond: (ok * journalsPerRequest) / SECONDS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors,
  };
}

function print(rows: Row[]): void {
  console.log('| scenario | connections | journals/s | p50 ms | p99 ms | errors |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.connections} | ${Math.round(r.journalsPerSecond).toLocaleString('en-US')}` +
        ` | ${r.p50} | ${r.p99} | ${r.errors} |`,
    );
  }
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-journals-'));
  const bridge = await startBridgeProcess({
    port: PORT,
    dataDir,
    topic: `bench.outcomes.${RUN}`,
    nodeArgs: BRIDGE_NODE_ARGS,
  });
  try {
    const accounts = await createAccounts();
    // Warm-up: JIT, connection pools, Kafka producer, not reported.
    await fire('warm-up', 16, '/api/journal', () => journalBody(accounts, false), 1);
    const rows: Row[] = [];
    for (const hot of SCENARIOS.includes('single') ? [false, true] : []) {
      for (const connections of CONNECTIONS) {
        const scenario = hot ? 'hot account' : 'uniform';
        rows.push(
          await fire(scenario, connections, '/api/journal', () => journalBody(accounts, hot), 1),
        );
      }
    }
    const bulkBody = (hot: boolean) => () => ({
      journals: Array.from({ length: BULK_JOURNALS }, () => journalBody(accounts, hot)),
    });
    for (const hot of SCENARIOS.includes('bulk') ? [false, true] : []) {
      for (const connections of BULK_CONNECTIONS) {
        const scenario = `bulk ×${BULK_JOURNALS}, ${hot ? 'hot account' : 'uniform'}`;
        rows.push(
          await fire(scenario, connections, '/api/journals/batch', bulkBody(hot), BULK_JOURNALS),
        );
      }
    }
    console.log(
      `\nPOST /api/journal, ${SECONDS} s per step, ${ACCOUNTS} accounts, ` +
        `bridge and load generator on one ${os.cpus().length}-core machine\n`,
    );
    print(rows);
    const best = (name: string) =>
      Math.max(0, ...rows.filter((r) => r.scenario === name).map((r) => r.journalsPerSecond));
    const atP99 = (name: string) =>
      Math.max(
        0,
        ...rows.filter((r) => r.scenario === name && r.p99 < 50).map((r) => r.journalsPerSecond),
      );
    console.log(
      `\nbest journals/s: uniform ${Math.round(best('uniform'))}, hot ${Math.round(best('hot account'))}` +
        ` (hot ÷ uniform ${((best('hot account') / best('uniform')) * 100).toFixed(1)}%)`,
    );
    console.log(
      `best with p99 < 50 ms: uniform ${Math.round(atP99('uniform'))}, ` +
        `hot ${Math.round(atP99('hot account'))}`,
    );
  } finally {
    await stopProcess(bridge);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
