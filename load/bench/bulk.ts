/**
 * `npm run bench:bulk`: the README's bulk figures from one run on one machine, side by side:
 *
 * 1. `tigerbeetle benchmark` against the cluster (tigerbeetle.ts): TigerBeetle's own client with
 *    8189-transfer requests, one in flight — the most this cluster takes on these cores;
 * 2. the bridge's bulk path, POST /api/journals/batch (journals.ts: 1,000 two-line journals per
 *    request; a 2-line journal is one transfer, so journals/s = transfers/s; the bridge's own
 *    /metrics count what it sent to the ledger as a check), on that cluster;
 * 3. the same bulk path on the embedded engine (fsync on);
 *
 * and the ratio 2 ÷ 1 in transfers/s (the goal: ≥ 50%). Each bridge figure is the best of
 * its BENCH_BULK_CONNECTIONS steps (uniform accounts). BENCH_ROUNDS (1) repeats the sequence, so
 * the noise shows as a range; each round's ratio is taken within the round. The report goes to
 * load/results/<time>-bulk/ (report.md, summary.json) and to stdout.
 *
 * Settings (env): BENCH_ROUNDS (1), BENCH_SECONDS (8), BENCH_BULK_CONNECTIONS ("4,16"),
 * BENCH_ACCOUNTS (1,000), BENCH_PORT (3199), and tigerbeetle.ts's BENCH_TB_*. Without a cluster
 * only the engine is measured, and the report says so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busiest } from '../runner/cpu';
import { machine, resultsDir } from '../runner/report';
import { envInt, runCommand } from '../runner/settings';
import { BULK_JOURNALS, journalsBenchOptions, type Row, runJournalsBench } from './journals';
import { chooseLedger, describeLedger, type LedgerChoice, ledgerLabel } from './ledger';
import {
  runTigerBeetleBenchmark,
  type TigerBeetleBenchResult,
  tigerBeetleBenchSettings,
} from './tigerbeetle';

const ROOT = path.resolve(__dirname, '..', '..');
/** The goal: the bridge's bulk path reaches half of TigerBeetle's own benchmark. */
const RATIO_GOAL = 0.5;
/** Transfers per bulk journal: 2 lines, one debit and one credit, pair into one transfer. */
const TRANSFERS_PER_JOURNAL = 1;

interface BridgeFigure {
  ledger: string;
  /** The best step: most journals accepted per second. */
  best: Row;
  rows: Row[];
}

interface Round {
  tigerbeetle: TigerBeetleBenchResult | null;
  bridgeOnTigerBeetle: BridgeFigure | null;
  bridgeOnEngine: BridgeFigure;
}

async function bridgeBulk(ledger: LedgerChoice): Promise<BridgeFigure> {
  const options = {
    ...journalsBenchOptions({ ...process.env, BENCH_LEDGER: '' }),
    ledger,
    scenarios: ['bulk' as const],
    cases: ['uniform' as const],
  };
  console.log(`\n=== bridge bulk on ${describeLedger(ledger)}`);
  const result = await runJournalsBench(options);
  const best = [...result.rows].sort((a, b) => b.journalsPerSecond - a.journalsPerSecond)[0]!;
  return { ledger: `${result.ledger.kind} at ${result.ledger.at}`, best, rows: result.rows };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** Transfers/s the bridge had accepted (201) in its best step. */
function bridgeTransfersPerSecond(figure: BridgeFigure): number {
  return figure.best.journalsPerSecond * TRANSFERS_PER_JOURNAL;
}

function bridgeLine(command: string, label: string, figure: BridgeFigure | null): string {
  if (figure === null) return `| \`${command}\` | ${label} | not measured (no cluster) | | | |`;
  const r = figure.best;
  return (
    `| \`${command}\` | ${label} | ${int(bridgeTransfersPerSecond(figure))} ` +
    `(${int(r.transfersPerSecond)} sent to the ledger; ${r.connections} connections × ` +
    `${BULK_JOURNALS} journals) | request p50 ${r.p50} ms, p99 ${r.p99} ms; ledger batch ` +
    `${r.ledgerBatchMean.toFixed(0)} transfers, round trip ${r.ledgerMsMean.toFixed(1)} ms | ` +
    `${r.errors} | ${busiest(r.cpu, 4)} |`
  );
}

function roundTable(round: Round, index: number, cluster: LedgerChoice): string[] {
  const tb = round.tigerbeetle;
  const out = [
    `### Round ${index + 1}`,
    '',
    '| command | ledger | transfers/s | latency | errors | CPU (cores busy) |',
    '|---|---|---|---|---|---|',
    tb === null
      ? '| `npm run bench:tigerbeetle` | TigerBeetle | not measured (no cluster) | | | |'
      : `| \`${tb.command}\` | ${ledgerLabel(cluster)} | ` +
        `${int(tb.transfersPerSecond)} (${int(tb.transfers)} in ${tb.seconds.toFixed(2)} s) | ` +
        `batch of ${tb.batchEvents}: p50 ${tb.batchP50Ms} ms, p99 ${tb.batchP99Ms} ms | 0 | ` +
        `${busiest(tb.cpu, 4)} |`,
    bridgeLine(
      'BENCH_SCENARIOS=bulk npm run bench',
      ledgerLabel(cluster),
      round.bridgeOnTigerBeetle,
    ),
    bridgeLine(
      'BENCH_LEDGER=engine BENCH_SCENARIOS=bulk npm run bench',
      'embedded engine',
      round.bridgeOnEngine,
    ),
    '',
  ];
  if (tb !== null && round.bridgeOnTigerBeetle !== null) {
    const ratio = bridgeTransfersPerSecond(round.bridgeOnTigerBeetle) / tb.transfersPerSecond;
    out.push(
      `Bridge bulk on TigerBeetle ÷ \`tigerbeetle benchmark\`: **${(ratio * 100).toFixed(1)}%** ` +
        `(goal ≥ ${RATIO_GOAL * 100}%: ${ratio >= RATIO_GOAL ? 'met' : '**not met**'}).`,
      '',
    );
  }
  return out;
}

async function main(): Promise<number> {
  const rounds = envInt('BENCH_ROUNDS', 1, 1, 20);
  const cluster = chooseLedger({ ...process.env, BENCH_LEDGER: '' });
  const engine: LedgerChoice = { kind: 'engine', source: 'bench:bulk, the engine row' };
  const tbSettings = cluster.kind === 'tigerbeetle' ? tigerBeetleBenchSettings(cluster) : null;
  journalsBenchOptions(); // every BENCH_* setting checked before anything starts
  const started = new Date();
  const dir = resultsDir('bulk', started);
  console.log(`bench:bulk: cluster ${describeLedger(cluster)}; ${rounds} round(s)`);
  const results: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    const tigerbeetle = tbSettings === null ? null : await runTigerBeetleBenchmark(tbSettings);
    if (tigerbeetle !== null) {
      console.log(`tigerbeetle benchmark: ${int(tigerbeetle.transfersPerSecond)} transfers/s`);
    }
    const bridgeOnTigerBeetle = cluster.kind === 'tigerbeetle' ? await bridgeBulk(cluster) : null;
    const bridgeOnEngine = await bridgeBulk(engine);
    results.push({ tigerbeetle, bridgeOnTigerBeetle, bridgeOnEngine });
  }
  const m = machine();
  const replicas =
    cluster.kind === 'tigerbeetle' ? `the ${cluster.addresses.length} replicas` : 'the engine';
  const out = [
    "# Bulk: the bridge against TigerBeetle's own benchmark (`npm run bench:bulk`)",
    '',
    `${started.toISOString()}; ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB; everything ` +
      `(load generators, bridge, Kafka, PostgreSQL, ${replicas}) on the same ` +
      `${os.cpus().length} cores. Cluster: ${describeLedger(cluster)}.`,
    '',
    'transfers/s: `tigerbeetle benchmark`\'s "load accepted"; for the bridge, transfers in ' +
      'journals answered 201 per second (1 transfer per 2-line journal), with what its /metrics ' +
      'say it sent to the ledger beside it.',
    '',
    ...results.flatMap((round, i) => roundTable(round, i, cluster)),
  ];
  const text = out.join('\n');
  fs.writeFileSync(path.join(dir, 'report.md'), text);
  fs.writeFileSync(
    path.join(dir, 'summary.json'),
    `${JSON.stringify({ startedAt: started, machine: m, cluster, rounds: results }, null, 2)}\n`,
  );
  console.log(`\n${text}\nreport: ${path.relative(ROOT, dir)}/report.md`);
  return 0;
}

if (require.main === module) {
  runCommand(main);
}
