/**
 * The engine benchmarks' workload (bench.ts in process, bench-server.ts over TCP): accounts on one
 * ledger, batches of up to 8189 transfers built before the clock starts (the client's work, as in
 * TigerBeetle's own benchmark), and a timed run with a fixed number of requests in flight.
 */
import {
  BATCH_EVENTS_MAX,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
} from '../port';
import { newAccount, newTransfer } from '../records';

export const BENCH_LEDGER_ID = 1;

/** Deterministic pseudo-random numbers in [0, 1) (xorshift), so runs are comparable. */
export function makeRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

/** Accounts 1..count. */
export async function createBenchAccounts(ledger: Ledger, count: number): Promise<void> {
  for (let first = 1; first <= count; first += BATCH_EVENTS_MAX) {
    const batch = [];
    for (let id = first; id < first + BATCH_EVENTS_MAX && id <= count; id++) {
      batch.push(newAccount({ id: BigInt(id), ledger: BENCH_LEDGER_ID, code: 1 }));
    }
    const results = await ledger.createAccounts(batch);
    if (results.some((r) => r.status !== CreateAccountStatus.created)) {
      throw new Error('account creation failed');
    }
  }
}

export interface WorkloadOptions {
  transfers: number;
  /** Transfers pair random accounts among accountMin..accountMax. */
  accountMin: number;
  accountMax: number;
  /** Debited by every transfer, or null for random accounts on both sides. */
  hotAccount: bigint | null;
  firstId: bigint;
  random: () => number;
}

export function buildBatches(options: WorkloadOptions): Transfer[][] {
  const span = options.accountMax - options.accountMin + 1;
  const accountId = (): bigint => BigInt(options.accountMin + Math.floor(options.random() * span));
  const batches: Transfer[][] = [];
  let id = options.firstId;
  for (let done = 0; done < options.transfers;) {
    const size = Math.min(BATCH_EVENTS_MAX, options.transfers - done);
    const batch = new Array<Transfer>(size);
    for (let i = 0; i < size; i++) {
      const debit = options.hotAccount ?? accountId();
      let credit = accountId();
      while (credit === debit) credit = accountId();
      batch[i] = newTransfer({
        id: id++,
        debit_account_id: debit,
        credit_account_id: credit,
        amount: 1n + BigInt(i % 1000),
        ledger: BENCH_LEDGER_ID,
        code: 1,
      });
    }
    batches.push(batch);
    done += size;
  }
  return batches;
}

export interface RoundResult {
  transfers: number;
  seconds: number;
  perSecond: number;
  /** Request latencies (ms), sorted. */
  latenciesMs: number[];
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** Sends every batch, `inflight` requests at a time; every transfer must be created. */
export async function runBatches(
  ledger: Ledger,
  batches: readonly Transfer[][],
  inflight: number,
): Promise<RoundResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const sent = performance.now();
      const results = await ledger.createTransfers(batch);
      latenciesMs.push(performance.now() - sent);
      for (let i = 0; i < results.length; i++) {
        if (results[i]!.status !== CreateTransferStatus.created) {
          throw new Error(`transfer ${i} failed: ${CreateTransferStatus[results[i]!.status]}`);
        }
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = (performance.now() - started) / 1000;
  latenciesMs.sort((a, b) => a - b);
  const transfers = batches.reduce((sum, batch) => sum + batch.length, 0);
  return { transfers, seconds, perSecond: transfers / seconds, latenciesMs };
}
