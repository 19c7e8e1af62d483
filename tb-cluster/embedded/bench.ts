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
import {
  type Account,
  BATCH_EVENTS_MAX,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
} from '../../bridge/src/ledger/port';
import { newAccount, newTransfer } from '../../bridge/src/ledger/records';
import { openEmbeddedLedger } from '.';

const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 2);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const LEDGER_ID = 1;
const HOT_ACCOUNT_ID = 1n;

interface Scenario {
  name: string;
  /** Debited by every transfer, or null for uniformly random accounts. */
  hotAccount: bigint | null;
}

// Deterministic pseudo-random account choice (xorshift), so runs are comparable.
function makeRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

function buildBatches(scenario: Scenario, firstId: bigint): Transfer[][] {
  const random = makeRandom(42);
  const accountId = (): bigint => BigInt(2 + Math.floor(random() * (ACCOUNTS - 1)));
  const batches: Transfer[][] = [];
  let id = firstId;
  for (let done = 0; done < TRANSFERS;) {
    const size = Math.min(BATCH_EVENTS_MAX, TRANSFERS - done);
    const batch: Transfer[] = new Array(size);
    for (let i = 0; i < size; i++) {
      const debit = scenario.hotAccount ?? accountId();
      let credit = accountId();
      while (credit === debit) credit = accountId();
      batch[i] = newTransfer({
        id: id++,
        debit_account_id: debit,
        credit_account_id: credit,
        amount: 1n + BigInt(i % 1000),
        ledger: LEDGER_ID,
        code: 1,
      });
    }
    batches.push(batch);
    done += size;
  }
  return batches;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

interface RoundResult {
  transfers: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function run(ledger: Ledger, batches: Transfer[][]): Promise<RoundResult> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const sent = performance.now();
      const results = await ledger.createTransfers(batch);
      latencies.push(performance.now() - sent);
      for (let i = 0; i < results.length; i++) {
        if (results[i]!.status !== CreateTransferStatus.created) {
          throw new Error(`transfer ${i} failed: ${CreateTransferStatus[results[i]!.status]}`);
        }
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const transfers = batches.reduce((sum, batch) => sum + batch.length, 0);
  return {
    transfers,
    seconds,
    perSecond: transfers / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-engine-'));
  const ledger = await openEmbeddedLedger({ dataDir, fsync: true });
  try {
    const accounts: Account[] = [];
    for (let id = 1; id <= ACCOUNTS; id++) {
      accounts.push(newAccount({ id: BigInt(id), ledger: LEDGER_ID, code: 1 }));
    }
    for (let i = 0; i < accounts.length; i += BATCH_EVENTS_MAX) {
      const results = await ledger.createAccounts(accounts.slice(i, i + BATCH_EVENTS_MAX));
      if (results.some((r) => r.status !== CreateAccountStatus.created)) {
        throw new Error('account creation failed');
      }
    }
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
      const batches = buildBatches(scenario, firstId);
      firstId += BigInt(TRANSFERS) + 1n;
      return batches;
    };
    await run(ledger, nextBatches(scenarios[0]!)); // warm-up, not reported
    const rounds = scenarios.map((): RoundResult[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, scenario] of scenarios.entries()) {
        rounds[i]!.push(await run(ledger, nextBatches(scenario)));
      }
    }
    console.log('| scenario | transfers/s (median) | min … max | batch p50 ms | batch p99 ms |');
    console.log('|---|---|---|---|---|');
    const medians = rounds.map((results, i) => {
      const sorted = [...results].sort((a, b) => a.perSecond - b.perSecond);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const rate = (r: RoundResult): string => Math.round(r.perSecond).toLocaleString('en-US');
      console.log(
        `| ${scenarios[i]!.name} | ${rate(median)} | ${rate(sorted[0]!)} … ` +
          `${rate(sorted[sorted.length - 1]!)} | ${median.p50.toFixed(1)} | ${median.p99.toFixed(1)} |`,
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
