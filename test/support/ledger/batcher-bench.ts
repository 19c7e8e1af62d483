/**
 * `npx tsx test/support/ledger/batcher-bench.ts`: the micro-batcher's own cost, and its latency and
 * throughput trade-offs against the embedded engine (fsync on).
 *
 * 1. Overhead: 2-transfer chains through the batcher over a ledger that answers at once with
 *    prebuilt results, in waves of W concurrent chains; µs per chain, next to the same harness
 *    calling the wire checks and the ledger directly (one request per chain): the difference is
 *    the batcher's own cost.
 * 2. Open loop: journals (2 linked transfers, one hot account in every journal) arrive at a fixed
 *    rate, many per event-loop turn as an HTTP server's would; p50/p99 submit→result latency and
 *    mean request size for several flushDelayMs / inflightMax settings.
 * 3. Closed loop: C journals always outstanding (saturation), uniform and hot account.
 *
 * Settings (env): BENCH_SECONDS (open-loop seconds per row, default 2), BENCH_RATES
 * (journals/s, default 1000,5000,10000,20000), BENCH_CHAINS (overhead chains, default 5e5),
 * BENCH_PARTS (overhead,open,closed: which parts to run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BatcherOverloadedError,
  TransferBatcher,
  type TransferBatcherOptions,
} from '../../../ledger/batcher';
import {
  type Account,
  BATCH_EVENTS_MAX,
  type CreateTransferResult,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';
import { checkTransfersWire } from '../../../ledger/wire';
import { openEmbeddedLedger } from '../../../ledger/engine';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RATES = (process.env.BENCH_RATES ?? '1000,5000,10000,20000').split(',').map(Number);
const OVERHEAD_CHAINS = Number(process.env.BENCH_CHAINS ?? 500_000);
const PARTS = (process.env.BENCH_PARTS ?? 'overhead,open,closed').split(',');
const ACCOUNTS = 10_000;
const HOT = 1n;

let nextId = 1n << 64n;

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}
const pick = random(7);
const anyAccount = (): bigint => 2n + BigInt(Math.floor(pick() * (ACCOUNTS - 1)));

function journal(hot: boolean): Transfer[] {
  const from = anyAccount();
  let to = anyAccount();
  while (to === from) to = anyAccount();
  const base = {
    pending_id: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    timeout: 0,
    ledger: 1,
    code: 1,
    timestamp: 0n,
  };
  return [
    {
      ...base,
      id: nextId++,
      debit_account_id: from,
      credit_account_id: hot ? HOT : to,
      amount: 100n,
      flags: TransferFlags.linked,
    },
    {
      ...base,
      id: nextId++,
      debit_account_id: hot ? HOT : from,
      credit_account_id: to,
      amount: 99n,
      flags: 0,
    },
  ];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** Answers on the next microtask with prebuilt results: only the batcher's cost remains. */
function instantLedger(): Ledger {
  const prebuilt: CreateTransferResult[] = Array.from({ length: BATCH_EVENTS_MAX }, () => ({
    timestamp: 1n,
    status: CreateTransferStatus.created,
  }));
  return {
    createTransfers: async (batch) => prebuilt.slice(0, batch.length),
  } as Ledger;
}

async function overhead(): Promise<void> {
  const chains = Array.from({ length: 4_096 }, () => journal(false));
  console.log(`\n## Overhead (2-transfer chains, instant ledger, ${OVERHEAD_CHAINS} chains)\n`);
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now();
    for (let i = 0; i < OVERHEAD_CHAINS; i++) checkTransfersWire(chains[i & 4095]!);
    const wireUs = ((performance.now() - t0) * 1000) / OVERHEAD_CHAINS;
    if (round === 1) console.log(`wire checks alone: ${wireUs.toFixed(3)} µs/chain\n`);
  }
  console.log(
    '| wave (concurrent chains) | batcher µs/chain | wire check + direct call µs/chain |' +
      " batcher's own µs/chain | chains/request |",
  );
  console.log('|---|---|---|---|---|');
  for (const wave of [1, 10, 100, 1_000, 4_000]) {
    const batcher = new TransferBatcher(instantLedger(), { flushDelayMs: 1 });
    const direct = instantLedger();
    const run = async (submit: (chain: Transfer[]) => Promise<unknown>): Promise<number> => {
      const waiting: Array<Promise<unknown>> = new Array(wave);
      const started = performance.now();
      for (let done = 0; done < OVERHEAD_CHAINS; done += wave) {
        for (let i = 0; i < wave; i++) waiting[i] = submit(chains[(done + i) & 4095]!);
        await Promise.all(waiting);
      }
      return ((performance.now() - started) * 1000) / OVERHEAD_CHAINS;
    };
    const viaBatcher = (chain: Transfer[]): Promise<unknown> => batcher.submit(chain);
    const checkedDirect = (chain: Transfer[]): Promise<unknown> => {
      checkTransfersWire(chain);
      return direct.createTransfers(chain);
    };
    // Warm-up, then alternate, keeping the better of two runs of each (the machine is shared).
    await run(viaBatcher);
    await run(checkedDirect);
    const withBatcher = Math.min(await run(viaBatcher), await run(viaBatcher));
    const baseline = Math.min(await run(checkedDirect), await run(checkedDirect));
    console.log(
      `| ${wave} | ${withBatcher.toFixed(3)} | ${baseline.toFixed(3)} | ` +
        `${(withBatcher - baseline).toFixed(3)} | ` +
        `${(batcher.stats.chains / batcher.stats.requests).toFixed(0)} |`,
    );
  }
}

function account(id: bigint): Account {
  return {
    id,
    debits_pending: 0n,
    debits_posted: 0n,
    credits_pending: 0n,
    credits_posted: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    reserved: 0,
    ledger: 1,
    code: 1,
    flags: 0,
    timestamp: 0n,
  };
}

interface Row {
  perSecond: number;
  p50: number;
  p99: number;
  requestEvents: number;
}

function check(results: CreateTransferResult[]): void {
  for (const result of results) {
    if (result.status !== CreateTransferStatus.created) {
      throw new Error(`transfer failed: ${CreateTransferStatus[result.status]}`);
    }
  }
}

/**
 * Journals arrive at `rate`/s, in bursts every millisecond as an HTTP server's poll phase would
 * hand them over. Refusals (overloaded) are counted, as a 503 would be.
 */
async function openLoop(ledger: Ledger, options: TransferBatcherOptions, rate: number) {
  const batcher = new TransferBatcher(ledger, options);
  const total = Math.round(rate * SECONDS);
  const chains = Array.from({ length: total }, () => journal(true));
  const latencies: number[] = [];
  let sent = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let settled = 0;
    const done = (): void => {
      if (++settled === total) resolve();
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      for (; sent < due; sent++) {
        const at = performance.now();
        batcher.submit(chains[sent]!).then(
          (results) => {
            check(results);
            latencies.push(performance.now() - at);
            done();
          },
          (error: unknown) => {
            if (error instanceof BatcherOverloadedError) done();
            else reject(error);
          },
        );
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const seconds = (performance.now() - started) / 1000;
  await batcher.drain();
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requestEvents: batcher.stats.events / batcher.stats.requests,
    refused: batcher.stats.rejectedOverloaded,
  };
}

/** `concurrency` journals always outstanding: the batcher's throughput at saturation. */
async function closedLoop(ledger: Ledger, concurrency: number, hot: boolean): Promise<Row> {
  const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
  const total = Math.max(200_000, concurrency * 20);
  const chains = Array.from({ length: total }, () => journal(hot));
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const chain = chains[next++]!;
      const at = performance.now();
      check(await batcher.submit(chain));
      latencies.push(performance.now() - at);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: total / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requestEvents: batcher.stats.events / batcher.stats.requests,
  };
}

const fmt = (row: Row): string =>
  `${Math.round(row.perSecond).toLocaleString('en-US')} | ${row.p50.toFixed(2)} | ` +
  `${row.p99.toFixed(2)} | ${row.requestEvents.toFixed(0)}`;

async function main(): Promise<void> {
  console.log(
    `node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  if (PARTS.includes('overhead')) await overhead();
  if (!PARTS.includes('open') && !PARTS.includes('closed')) return;

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batcher-'));
  const ledger = await openEmbeddedLedger({ dataDir, fsync: true });
  try {
    const accounts: Account[] = [];
    for (let id = 1n; id <= BigInt(ACCOUNTS); id++) accounts.push(account(id));
    for (let i = 0; i < accounts.length; i += BATCH_EVENTS_MAX) {
      await ledger.createAccounts(accounts.slice(i, i + BATCH_EVENTS_MAX));
    }
    if (PARTS.includes('open')) await openLoops(ledger);
    if (PARTS.includes('closed')) await closedLoops(ledger);
  } finally {
    await ledger.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function openLoops(ledger: Ledger): Promise<void> {
  console.log(`\n## Open loop, embedded engine (fsync on), hot account in every journal\n`);
  console.log(
    '| journals/s offered | flushDelayMs | inflightMax | journals/s | p50 ms | p99 ms |' +
      ' transfers/request | refused |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const settings: Array<[number, number]> = [
    [0, 1],
    [0, 2],
    [1, 2],
    [5, 2],
    [1, 4],
  ];
  for (const rate of RATES) {
    for (const [flushDelayMs, inflightMax] of settings) {
      const row = await openLoop(ledger, { flushDelayMs, inflightMax }, rate);
      console.log(`| ${rate} | ${flushDelayMs} | ${inflightMax} | ${fmt(row)} | ${row.refused} |`);
    }
  }
}

async function closedLoops(ledger: Ledger): Promise<void> {
  console.log(`\n## Closed loop (saturation), flushDelayMs 1, inflightMax 2\n`);
  console.log(
    '| journals outstanding | accounts | journals/s | p50 ms | p99 ms | transfers/request |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const concurrency of [100, 1_000, 10_000]) {
    for (const hot of [false, true]) {
      const row = await closedLoop(ledger, concurrency, hot);
      console.log(`| ${concurrency} | ${hot ? 'hot' : 'uniform'} | ${fmt(row)} |`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
