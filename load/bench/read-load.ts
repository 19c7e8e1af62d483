/**
 * The load generator of `npm run bench:reads:bridge` (./bridge-reads.ts starts it, pinned to a
 * CPU of its own): GET reads with autocannon from `connections` keep-alive connections (a closed
 * loop, or `readRate` requests/s when set), every answer's latency kept so that p95 is computed
 * exactly (autocannon's own summary has p97.5, not p95), and, at the same time, POST journals at
 * `writeRate`/s from a second autocannon. Reads `READ_LOAD` (JSON, `ReadLoadPlan`) from the
 * environment and prints one line, `RESULT <json>` (`ReadLoadResult`), then exits.
 */
import autocannon from 'autocannon';
import { v7 as uuidv7 } from 'uuid';

export interface ReadLoadPlan {
  baseUrl: string;
  headers: Record<string, string>;
  /** Paths read, one chosen at random per request (`/api/balance/<id>`, `/health`). */
  readPaths: string[];
  connections: number;
  /** Requests/s offered in all; 0: a closed loop (each connection asks again at once). */
  readRate: number;
  seconds: number;
  /** Journals/s; 0: no writes. */
  writeRate: number;
  /** Accounts the journals move money between (two distinct ones each). */
  writeAccounts: string[];
}

export interface ReadLoadResult {
  reads: number;
  readsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than 2xx, by status, plus transport errors and timeouts. */
  non2xx: Record<string, number>;
  errors: number;
  writesPerSecond: number;
  writeErrors: number;
  /** This process's CPU over the reads (µs of user + system per read). */
  cpuUsPerRead: number;
}

/**
 * Connections the paced write load may use: a journal waits for the ledger and Kafka (acks=all),
 * 50–100 ms on this shared machine under the read load, so 1,000 journals/s needs ~100 in flight.
 */
const WRITE_CONNECTIONS = 128;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A two-line journal between two different random accounts: the read benches' write load. */
export function randomJournalBody(accounts: readonly string[], description: string): string {
  const pick = () => accounts[Math.floor(Math.random() * accounts.length)]!;
  const debit = pick();
  let credit = pick();
  while (credit === debit) credit = pick();
  const amount = 1 + Math.floor(Math.random() * 10_000);
  return JSON.stringify({
    journalId: uuidv7(),
    date: '2026-12-03',
    description,
    source: 'bench',
    lines: [
      { accountId: debit, lineType: 'DEBIT', amount, lineNumber: 1 },
      { accountId: credit, lineType: 'CREDIT', amount, lineNumber: 2 },
    ],
  });
}

async function writes(plan: ReadLoadPlan): Promise<{ perSecond: number; errors: number }> {
  if (plan.writeRate <= 0) return { perSecond: 0, errors: 0 };
  const result = await autocannon({
    url: `${plan.baseUrl}/api/journal`,
    connections: WRITE_CONNECTIONS,
    overallRate: plan.writeRate,
    duration: plan.seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...plan.headers },
        setupRequest: (request) => ({
          ...request,
          body: randomJournalBody(plan.writeAccounts, 'bench:reads:bridge write load'),
        }),
      },
    ],
  });
  return {
    perSecond: result['2xx'] / plan.seconds,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function reads(plan: ReadLoadPlan): Promise<Omit<ReadLoadResult, 'writesPerSecond'>> {
  const latencies: number[] = [];
  const non2xx: Record<string, number> = {};
  const paths = plan.readPaths;
  const cpu = process.cpuUsage();
  let instance: autocannon.Instance | undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: plan.baseUrl,
        connections: plan.connections,
        ...(plan.readRate > 0 ? { overallRate: plan.readRate } : {}),
        duration: plan.seconds,
        requests: [
          {
            method: 'GET',
            headers: plan.headers,
            setupRequest: (request) => ({
              ...request,
              path: paths[Math.floor(Math.random() * paths.length)],
            }),
          },
        ],
      },
      (error, result) => (error ? reject(error as Error) : resolve(result)),
    );
  });
  instance!.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    if (statusCode < 200 || statusCode > 299) {
      non2xx[statusCode] = (non2xx[statusCode] ?? 0) + 1;
    }
  });
  const result = await finished;
  const used = process.cpuUsage(cpu);
  const sorted = Float64Array.from(latencies).sort();
  const ok = result['2xx'];
  return {
    reads: ok,
    readsPerSecond: ok / plan.seconds,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    non2xx,
    errors: result.errors + result.timeouts,
    writeErrors: 0,
    cpuUsPerRead: ok === 0 ? NaN : (used.user + used.system) / ok,
  };
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.env.READ_LOAD ?? '') as ReadLoadPlan;
  const [read, written] = await Promise.all([reads(plan), writes(plan)]);
  const result: ReadLoadResult = {
    ...read,
    writesPerSecond: written.perSecond,
    writeErrors: written.errors,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
