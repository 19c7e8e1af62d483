/**
 * `npm run bench:engine`: durable transfers/s through the Ledger port, embedded engine, fsync on.
 *
 * Batches of 8189 transfers (TigerBeetle's maximum) over 10,000 accounts: once uniform, once with
 * one hot account on the debit side of every transfer. Batches are built before the clock starts
 * (they are the client's work, as in TigerBeetle's own benchmark); `BENCH_INFLIGHT` requests are
 * kept in flight so execution overlaps the previous batch's fdatasync, as a client's would.
 *
 * The machine is small and noisy, so a warm-up round (JIT, page cache, log file growth) runs
 * first, then the scenarios alternate for BENCH_ROUNDS rounds and the median round is reported.
 *
 * Settings (env): BENCH_TRANSFERS (default 500,000 per scenario and round), BENCH_ROUNDS (3),
 * BENCH_INFLIGHT (2), BENCH_ACCOUNTS (10,000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BATCH_EVENTS_MAX, type Transfer } from '../port';
import {
  buildBatches,
  createBenchAccounts,
  makeRandom,
  percentile,
  type RoundResult,
  runBatches,
} from './bench-workload';
import { openEmbeddedLedger } from '.';

const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 2);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
// Account 1 is the hot one; random transfers pair accounts 2..ACCOUNTS.
const HOT_ACCOUNT_ID = 1n;

interface Scenario {
  name: string;
  /** Debited by every transfer, or null for uniformly random accounts. */
  hotAccount: bigint | null;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-engine-'));
  const ledger = await openEmbeddedLedger({ dataDir, fsync: true });
  try {
    await createBenchAccounts(ledger, ACCOUNTS);
    const scenarios: Scenario[] = [
      { name: 'uniform', hotAccount: null },
      { name: 'hot account', hotAccount: HOT_ACCOUNT_ID },
    ];
    console.log(
      `embedded engine, fsync on, ${TRANSFERS} transfers per scenario and round, batches of ` +
        `${BATCH_EVENTS_MAX}, ${INFLIGHT} in flight, ${ACCOUNTS} accounts, median of ${ROUNDS} ` +
        `rounds (${os.cpus().length} cores)`,
    );
    let firstId = 1_000_000_000n;
    const nextBatches = (scenario: Scenario): Transfer[][] => {
      const batches = buildBatches({
        transfers: TRANSFERS,
        accountMin: 2,
        accountMax: ACCOUNTS,
        hotAccount: scenario.hotAccount,
        firstId,
        random: makeRandom(42),
      });
      firstId += BigInt(TRANSFERS) + 1n;
      return batches;
    };
    const run = (batches: Transfer[][]) => runBatches(ledger, batches, INFLIGHT);
    await run(nextBatches(scenarios[0]!)); // warm-up, not reported
    const rounds = scenarios.map((): RoundResult[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, scenario] of scenarios.entries()) {
        rounds[i]!.push(await run(nextBatches(scenario)));
      }
    }
    console.log('| scenario | transfers/s (median) | min … max | batch p50 ms | batch p99 ms |');
    console.log('|---|---|---|---|---|');
    const medians = rounds.map((results, i) => {
      const sorted = [...results].sort((a, b) => a.perSecond - b.perSecond);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const rate = (r: RoundResult): string => Math.round(r.perSecond).toLocaleString('en-US');
      const p50 = percentile(median.latenciesMs, 50).toFixed(1);
      const p99 = percentile(median.latenciesMs, 99).toFixed(1);
      console.log(
        `| ${scenarios[i]!.name} | ${rate(median)} | ${rate(sorted[0]!)} … ` +
          `${rate(sorted[sorted.length - 1]!)} | ${p50} | ${p99} |`,
      );
      return median.perSecond;
    });
    console.log(`hot ÷ uniform = ${((medians[1]! / medians[0]!) * 100).toFixed(1)}%`);
  } finally {
    await ledger.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
