/**
 * `npx tsx test/support/ledger/batcher-sim.ts`: the flush policy's latency / batch-size trade-off in
 * simulated time, so the comparison is exact and repeatable on a busy machine.
 *
 * The real TransferBatcher runs on a simulated clock. Journals (2-transfer chains) arrive as a
 * seeded Poisson stream, handed over in bursts every `POLL_MS` (an HTTP server's poll phase);
 * the batcher's immediates run after each burst and after each ledger answer. Two ledger models:
 * - cluster: TigerBeetle's client session, one request on the wire at a time (others queue in
 *   the client), each taking a fixed round trip + a cost per transfer;
 * - engine: the embedded engine, executing each request at once (serially, a cost per transfer)
 *   and answering when the group-committed fdatasync that covers it returns.
 * CPU spent by the batcher itself is not modelled (see batcher-bench.ts for that).
 */
import { type BatcherClock, TransferBatcher } from '../../../ledger/batcher';
import type { CreateTransferResult, Ledger, Transfer } from '../../../ledger/port';
import { chain, echo } from './fakes';

const SECONDS = Number(process.env.SIM_SECONDS ?? 3);
const RATES = (process.env.SIM_RATES ?? '500,5000,20000,100000,300000').split(',').map(Number);
const POLL_MS = 0.25;

class SimClock implements BatcherClock {
  now = 0;
  private immediates: Array<() => void> = [];
  private timers: Array<{ atMs: number; seq: number; callback: () => void }> = [];
  private seq = 0;

  nowMs(): number {
    return this.now;
  }
  setImmediate(callback: () => void): void {
    this.immediates.push(callback);
  }
  setTimeout(callback: () => void, delayMs: number): void {
    this.timers.push({ atMs: this.now + Math.max(delayMs, 0), seq: this.seq++, callback });
    this.timers.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  }
  nextTimerMs(): number {
    return this.timers[0]?.atMs ?? Infinity;
  }
  /** Fires the earliest timer, moving time to it. */
  fireNext(): void {
    const timer = this.timers.shift()!;
    this.now = Math.max(this.now, timer.atMs);
    timer.callback();
  }
  runImmediates(): number {
    const due = this.immediates;
    this.immediates = [];
    for (const callback of due) callback();
    return due.length;
  }
}

const microtasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function ledgerOf(createTransfers: Ledger['createTransfers']): Ledger {
  return { createTransfers } as Ledger;
}

/** TigerBeetle's client: one request in flight per session, the rest queued in order. */
function clusterModel(clock: SimClock, roundTripMs: number, perTransferUs: number): Ledger {
  const queue: Array<{ batch: Transfer[]; resolve: (r: CreateTransferResult[]) => void }> = [];
  let busy = false;
  const kick = (): void => {
    const next = queue.shift();
    if (busy || next === undefined) return;
    busy = true;
    clock.setTimeout(
      () => {
        busy = false;
        next.resolve(echo(next.batch));
        kick();
      },
      roundTripMs + (perTransferUs * next.batch.length) / 1000,
    );
  };
  return ledgerOf(
    (batch) =>
      new Promise((resolve) => {
        queue.push({ batch, resolve });
        if (!busy) kick();
      }),
  );
}

/** The embedded engine: executes at once (serially), answers after the covering fdatasync. */
function engineModel(clock: SimClock, fsyncMs: number, perTransferUs: number): Ledger {
  let executedAtMs = 0;
  let flushing = false;
  let group: Array<{ readyAtMs: number; done: () => void }> = [];
  const flush = (): void => {
    if (flushing || group.length === 0) return;
    flushing = true;
    const members = group;
    group = [];
    const startMs = Math.max(clock.now, ...members.map((m) => m.readyAtMs));
    clock.setTimeout(
      () => {
        flushing = false;
        for (const member of members) member.done();
        flush();
      },
      startMs - clock.now + fsyncMs,
    );
  };
  return ledgerOf((batch) => {
    executedAtMs = Math.max(executedAtMs, clock.now) + (perTransferUs * batch.length) / 1000;
    return new Promise((resolve) => {
      group.push({ readyAtMs: executedAtMs, done: () => resolve(echo(batch)) });
      flush();
    });
  });
}

function poissonSampler(seed: number): (mean: number) => number {
  let state = seed;
  const uniform = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 0x1_0000_0000;
  };
  return (mean) => {
    // Knuth's method; means here are small (≤ ~15 per poll).
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = uniform(); p > limit; p *= uniform()) k++;
    return k;
  };
}

interface Outcome {
  p50: number;
  p99: number;
  perRequest: number;
}

async function simulate(
  model: 'cluster' | 'engine',
  rate: number,
  flushDelayMs: number,
  inflightMax: number,
): Promise<Outcome> {
  const clock = new SimClock();
  const ledger = model === 'cluster' ? clusterModel(clock, 1, 0.5) : engineModel(clock, 0.5, 1);
  const batcher = new TransferBatcher(ledger, {
    flushDelayMs,
    inflightMax,
    queueEventsMax: 1 << 24,
    clock,
  });
  const poisson = poissonSampler(12_345);
  const latencies: number[] = [];
  let id = 1n;
  const endMs = SECONDS * 1000;
  let nextPollMs = 0;
  for (;;) {
    if (clock.nextTimerMs() <= nextPollMs) {
      clock.fireNext();
    } else if (nextPollMs < endMs) {
      clock.now = nextPollMs;
      const arrivals = poisson((rate * POLL_MS) / 1000);
      for (let i = 0; i < arrivals; i++, id += 2n) {
        const at = clock.now;
        void batcher.submit(chain(id, 2)).then(() => latencies.push(clock.now - at));
      }
      nextPollMs += POLL_MS;
    } else if (clock.nextTimerMs() === Infinity) {
      break;
    } else {
      clock.fireNext();
    }
    // Microtasks (answers reaching the batcher), then the check phase, until quiet.
    do await microtasks();
    while (clock.runImmediates() > 0);
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => latencies[Math.floor((latencies.length - 1) * p)] ?? NaN;
  const { requests, chains } = batcher.stats;
  return {
    p50: at(0.5),
    p99: at(0.99),
    perRequest: chains / requests,
  };
}

async function main(): Promise<void> {
  const settings: Array<[number, number]> = [
    [0, 1],
    [0, 2],
    [1, 2],
    [2, 2],
    [5, 2],
    [1, 4],
  ];
  for (const model of ['cluster', 'engine'] as const) {
    const what =
      model === 'cluster'
        ? 'cluster model: 1 ms round trip + 0.5 µs/transfer, one request on the wire'
        : 'engine model: 1 µs/transfer execution, 0.5 ms group-committed fdatasync';
    console.log(`\n## ${what}\n`);
    console.log('| journals/s | flushDelayMs | inflightMax | p50 ms | p99 ms | journals/request |');
    console.log('|---|---|---|---|---|---|');
    for (const rate of RATES) {
      for (const [flushDelayMs, inflightMax] of settings) {
        const r = await simulate(model, rate, flushDelayMs, inflightMax);
        console.log(
          `| ${rate} | ${flushDelayMs} | ${inflightMax} | ${r.p50.toFixed(2)} | ` +
            `${r.p99.toFixed(2)} | ${r.perRequest.toFixed(1)} |`,
        );
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
