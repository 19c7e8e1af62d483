/**
 * The micro-batcher: coalesces concurrent journals' transfer chains into createTransfers requests.
 *
 * A journal maps to one chain of linked transfers (every transfer but the last carries
 * `TransferFlags.linked`), which TigerBeetle applies all-or-nothing. Many chains share one request
 * of at most `batchEventsMax` (≤ 8189) transfers; a chain is never split across requests, and
 * because each chain closes its own link, TigerBeetle fails a bad chain alone: its neighbours in
 * the request are unaffected. Hot accounts need nothing special: TigerBeetle applies the events of
 * a request in order, so a house account in every journal rides the same batches at full rate.
 *
 * Flush policy, in one line: send when the ledger can take it. With `inflightMax` requests at
 * most in flight, a batch goes out
 * - at once when it is full (the next chain would not fit, or it holds `batchEventsMax` events);
 * - when the ledger is idle (nothing in flight): on the next macrotask (setImmediate), so every
 *   chain submitted during this turn of the event loop (all the HTTP requests parsed in one poll
 *   phase) rides along, and a lone journal pays no timer;
 * - when some request is in flight but a slot is free: once its oldest chain has waited
 *   `flushDelayMs` for company (or at once, when the ledger goes idle first);
 * - when every slot is busy: it keeps growing, and is sent as soon as a request completes.
 * So under light load batches are small and latency is one macrotask plus the ledger's round
 * trip; under heavy load the ledger's own latency (its fsync) is the batching window and batches
 * grow to the maximum, with no timer in the loop.
 *
 * What the spare slot buys depends on the ledger (simulated in test/support/ledger/batcher-sim.ts):
 * - the embedded engine executes a request at once and answers after the group-committed
 *   fdatasync, so a second request overlaps its execution with the previous fsync: near the
 *   engine's limit, p50 2.5 ms with two slots against 38 ms with one;
 * - a TigerBeetle client session keeps one request on the wire and queues the rest, so a partial
 *   batch sent early only waits in that queue, and chains arriving meanwhile wait one round trip
 *   more (1 ms round trip: p50 2.5 ms against 1.5 ms). Against a cluster, set flushDelayMs at
 *   or above its usual round trip (the spare slot then carries full batches only, ready the
 *   moment a reply arrives), or inflightMax to 1.
 *
 * Deadline: with `chainTimeoutMs` set (the bridge sets LEDGER_REQUEST_TIMEOUT_MS), every chain
 * is answered within that time of its batch opening. A batch still queued at its deadline is
 * rejected unsent, and a request still unanswered rejects its chains with LedgerError
 * `unavailable` (the request may still commit: retries reuse the ids and get `exists`), while its
 * slot stays taken until the ledger settles it, so an outage never piles requests into the
 * client. Without it a journal behind a stuck request waited one timeout for the slot, then one
 * more for its own request.
 *
 * Backpressure: at most `queueEventsMax` transfers wait (not yet sent); past that, submit
 * rejects at once with `BatcherOverloadedError` (code `overloaded`) so the HTTP layer answers
 * 503 + Retry-After instead of growing memory. `drain()` (graceful shutdown) stops accepting
 * (`BatcherDrainingError`, code `draining`), sends everything queued and waits for the answers.
 *
 * Raw transfers (POST /api/transfers/batch) ride the same requests through `submitRaw`: a raw
 * request is one group, kept whole and in order like a chain, so its linked chains are never
 * split nor interleaved with other submissions; one that depends on its place in a request (an
 * open chain at its end, imported events) goes in a request of its own (./batcher-groups.ts).
 * The same limits, deadlines and backpressure hold for both; the stats count them apart (`byKind`).
 *
 * The batcher holds the caller's Transfer objects (no copy) until the chain's promise settles:
 * they must not be mutated meanwhile, since the wire checks ran at submit.
 */
import { assert } from '../core/assert';
import {
  BatcherDrainingError,
  BatcherOverloadedError,
  LedgerInvariantError,
} from './batcher-errors';
import {
  assertChainLinks,
  assertIntegerIn,
  type Placement,
  rawPlacement,
  type SubmissionKind,
} from './batcher-groups';
import {
  BATCH_EVENTS_MAX,
  type CreateTransferResult,
  type Ledger,
  LedgerError,
  type Transfer,
} from './port';
import { checkTransfersWire } from './wire';

export { type SubmissionKind, SUBMISSION_KINDS } from './batcher-groups';
export * from './batcher-errors';

export interface TransferBatcherOptions {
  /**
   * Longest a chain waits for company before its batch is sent (ms), when a request is already in
   * flight and a slot is free. 0: the next macrotask. Never applies while every slot is busy
   * (the batch then goes when a slot frees) nor when the ledger is idle (next macrotask).
   */
  flushDelayMs: number;
  /** Events per createTransfers request (≤ BATCH_EVENTS_MAX = 8189). */
  batchEventsMax?: number;
  /** Requests in flight to the ledger at once. */
  inflightMax?: number;
  /** Events queued (not yet sent) before submit() rejects with BatcherOverloadedError. */
  queueEventsMax?: number;
  /** Longest a chain waits for its answer, queue included (ms); unset: as long as the ledger. */
  chainTimeoutMs?: number;
  /** Time and timers; the system's by default. Tests inject a manual one. */
  clock?: BatcherClock;
}

/** The batcher's view of time, so a test can run its policy deterministically. */
export interface BatcherClock {
  /** Monotonic milliseconds. */
  nowMs(): number;
  /** Runs `callback` on a later macrotask, after the I/O callbacks already due (setImmediate). */
  setImmediate(callback: () => void): void;
  setTimeout(callback: () => void, delayMs: number): void;
}

export const systemClock: BatcherClock = {
  nowMs: () => performance.now(),
  setImmediate: (callback) => {
    setImmediate(callback);
  },
  setTimeout: (callback, delayMs) => {
    // A wake-up of the batcher must never keep a process alive on its own.
    setTimeout(callback, delayMs).unref();
  },
};

/** Two: one request executing while the previous one's durable write (fsync) completes. */
export const INFLIGHT_MAX_DEFAULT = 2;
/**
 * Four full requests (~32k transfers, ~3 s at 10,000 transfers/s): enough to refill both
 * in-flight slots twice over; beyond that a queue only adds latency the client will not wait for.
 */
export const QUEUE_EVENTS_MAX_DEFAULT = 4 * BATCH_EVENTS_MAX;

/** One kind's share of the counters below (a raw request counts as one chain). */
export interface KindStats {
  chains: number;
  events: number;
  rejectedOverloaded: number;
  rejectedDraining: number;
  rejectedInvalid: number;
  chainsTimedOut: number;
}

export interface BatcherStats {
  /** createTransfers requests sent. */
  requests: number;
  /** Transfers sent (sum of request sizes). */
  events: number;
  /** Chains sent (journals' chains and raw requests). */
  chains: number;
  /** The largest request sent, in events. */
  requestEventsLargest: number;
  /** Requests that failed whole (ledger error or a broken answer): all their chains rejected. */
  requestsFailed: number;
  rejectedOverloaded: number;
  rejectedDraining: number;
  /** Chains refused at submit for their wire ranges or length. */
  rejectedInvalid: number;
  /** Chains rejected `unavailable` at their deadline (chainTimeoutMs), queued or sent. */
  chainsTimedOut: number;
  /** Gauges: transfers waiting to be sent, and requests in flight. */
  queuedEvents: number;
  inflight: number;
  /** The counters above (but requests) per kind; each total is the sum of its kinds. */
  byKind: Record<SubmissionKind, KindStats>;
}

type ResolveChain = (results: CreateTransferResult[]) => void;
type RejectChain = (error: unknown) => void;

/** One request in the making. Chains are stored as parallel arrays: no object per chain. */
interface Batch {
  readonly events: Transfer[];
  /** End offset (exclusive) in `events` of each chain, in submit order. */
  readonly ends: number[];
  readonly resolves: ResolveChain[];
  readonly rejects: RejectChain[];
  /** How many of its chains are raw requests, and their transfers (for the stats by kind). */
  raw: number;
  rawEvents: number;
  readonly openedAtMs: number;
  /** Handed to the ledger (no longer counted as queued). */
  sent: boolean;
  /** Its chains have their answer (results, an error, or their deadline). */
  settled: boolean;
}

/** What made the batcher look at its queue: decides whether a partial batch may go. */
type Trigger = 'submit' | 'immediate' | 'timer' | 'completion' | 'drain' | 'deadline';

export class TransferBatcher {
  private readonly flushDelayMs: number;
  private readonly batchEventsMax: number;
  private readonly inflightMax: number;
  private readonly queueEventsMax: number;
  private readonly chainTimeoutMs: number | null;
  private readonly clock: BatcherClock;

  /** The batch chains are joining; null when none is waiting. */
  private open: Batch | null = null;
  /** Closed batches (full, or the next chain did not fit) waiting for a slot, oldest first. */
  private readonly sealed: Batch[] = [];
  private inflight = 0;
  private queuedEvents = 0;
  private immediateArmed = false;
  private timerArmed = false;
  /** When the armed deadline sweep fires (ms), null when none is armed. */
  private sweepAtMs: number | null = null;
  private draining = false;
  private drained: Promise<void> | null = null;
  private resolveDrained: (() => void) | null = null;

  private requests = 0;
  private requestEventsLargest = 0;
  private requestsFailed = 0;
  private readonly kinds: Record<SubmissionKind, KindStats> = {
    journal: zeroKindStats(),
    raw: zeroKindStats(),
  };

  // Handed to `new Promise` for every chain: one shared function instead of a closure per chain.
  private capturedResolve: ResolveChain | null = null;
  private capturedReject: RejectChain | null = null;
  private readonly capture = (resolve: ResolveChain, reject: RejectChain): void => {
    this.capturedResolve = resolve;
    this.capturedReject = reject;
  };
  private readonly onImmediate = (): void => {
    this.immediateArmed = false;
    this.pump('immediate');
  };
  private readonly onTimer = (): void => {
    this.timerArmed = false;
    this.pump('timer');
  };
  private readonly onSweep = (): void => {
    this.sweepAtMs = null;
    this.expireQueued();
    this.pump('deadline');
  };

  constructor(
    private readonly ledger: Ledger,
    options: TransferBatcherOptions,
  ) {
    this.flushDelayMs = options.flushDelayMs;
    this.batchEventsMax = options.batchEventsMax ?? BATCH_EVENTS_MAX;
    this.inflightMax = options.inflightMax ?? INFLIGHT_MAX_DEFAULT;
    this.queueEventsMax = options.queueEventsMax ?? QUEUE_EVENTS_MAX_DEFAULT;
    this.clock = options.clock ?? systemClock;
    this.chainTimeoutMs = options.chainTimeoutMs ?? null;
    if (this.chainTimeoutMs !== null) {
      assertIntegerIn('chainTimeoutMs', this.chainTimeoutMs, 1, 2 ** 31 - 1);
    }
    if (!(Number.isFinite(this.flushDelayMs) && this.flushDelayMs >= 0)) {
      throw new RangeError(`flushDelayMs must be a finite number ≥ 0, got ${this.flushDelayMs}`);
    }
    assertIntegerIn('batchEventsMax', this.batchEventsMax, 1, BATCH_EVENTS_MAX);
    assertIntegerIn('inflightMax', this.inflightMax, 1, Number.MAX_SAFE_INTEGER);
    // A chain the batch accepts must fit an empty queue, or it could never be admitted.
    assertIntegerIn('queueEventsMax', this.queueEventsMax, this.batchEventsMax, 2 ** 31);
  }

  /**
   * One journal's chain: every transfer but the last has the linked flag, the last has not.
   * Resolves with this chain's results, in order (TigerBeetle's per-event statuses are values:
   * a failed chain resolves too). Rejects with LedgerError for a chain the wire cannot carry or
   * longer than a request, with BatcherError when refused for load or shutdown, and with the
   * request's error when the whole request failed. Throws (synchronously) on a malformed chain:
   * that is a bug in the caller, and sending it would link it into its neighbour.
   */
  submit(chain: readonly Transfer[]): Promise<CreateTransferResult[]> {
    return this.enqueue(chain, 'journal', 'shared');
  }

  /**
   * One raw request's transfers, as the client sent them (1 to batchEventsMax): kept together
   * and in order in one request, beside others unless it must go alone (rawPlacement). Answers
   * as submit does, with one result per transfer, in the order sent.
   */
  submitRaw(events: readonly Transfer[]): Promise<CreateTransferResult[]> {
    if (events.length === 0) throw new Error('TransferBatcher.submitRaw: an empty request');
    return this.enqueue(events, 'raw', rawPlacement(events));
  }

  private enqueue(
    events: readonly Transfer[],
    kind: SubmissionKind,
    placement: Placement,
  ): Promise<CreateTransferResult[]> {
    const length = events.length;
    const counts = this.kinds[kind];
    if (length > this.batchEventsMax) {
      counts.rejectedInvalid++;
      return Promise.reject(
        new LedgerError(
          'too_much_data',
          `create_transfers: ${length} transfers submitted together exceed the batch limit of ` +
            `${this.batchEventsMax}`,
        ),
      );
    }
    try {
      checkTransfersWire(events);
    } catch (error) {
      counts.rejectedInvalid++;
      return Promise.reject(error);
    }
    if (kind === 'journal') assertChainLinks(events);
    if (this.draining) {
      counts.rejectedDraining++;
      return Promise.reject(new BatcherDrainingError());
    }
    if (this.queuedEvents + length > this.queueEventsMax) {
      counts.rejectedOverloaded++;
      return Promise.reject(new BatcherOverloadedError(this.queuedEvents, this.queueEventsMax));
    }
    const batch = this.batchFor(length, placement);
    const queued = batch.events;
    for (let i = 0; i < length; i++) queued.push(events[i]!);
    batch.ends.push(queued.length);
    if (kind === 'raw') {
      batch.raw++;
      batch.rawEvents += length;
    }
    const promise = new Promise<CreateTransferResult[]>(this.capture);
    batch.resolves.push(this.capturedResolve!);
    batch.rejects.push(this.capturedReject!);
    this.queuedEvents += length;
    if (placement === 'alone' || queued.length === this.batchEventsMax) this.seal(batch);
    this.pump('submit');
    return promise;
  }

  /**
   * The batch `length` events join: the open one if they fit, else a new one (the open one is
   * sealed first, so batches go in submit order). A submission that goes alone gets a new batch,
   * sealed right after it joins, so nothing else ever joins it.
   */
  private batchFor(length: number, placement: Placement): Batch {
    const open = this.open;
    if (open !== null) {
      if (placement === 'shared' && open.events.length + length <= this.batchEventsMax) {
        return open;
      }
      this.seal(open);
    }
    const batch: Batch = {
      events: [],
      ends: [],
      resolves: [],
      rejects: [],
      raw: 0,
      rawEvents: 0,
      openedAtMs: this.clock.nowMs(),
      sent: false,
      settled: false,
    };
    this.open = batch;
    return batch;
  }

  /** Stops accepting, sends everything queued, waits for every request in flight. */
  drain(): Promise<void> {
    if (this.drained === null) {
      this.draining = true;
      this.drained = new Promise<void>((resolve) => {
        this.resolveDrained = resolve;
      });
      this.pump('drain');
      this.checkDrained();
    }
    return this.drained;
  }

  get stats(): Readonly<BatcherStats> {
    const { journal, raw } = this.kinds;
    const sum = (key: keyof KindStats): number => journal[key] + raw[key];
    return {
      requests: this.requests,
      events: sum('events'),
      chains: sum('chains'),
      requestEventsLargest: this.requestEventsLargest,
      requestsFailed: this.requestsFailed,
      rejectedOverloaded: sum('rejectedOverloaded'),
      rejectedDraining: sum('rejectedDraining'),
      rejectedInvalid: sum('rejectedInvalid'),
      chainsTimedOut: sum('chainsTimedOut'),
      queuedEvents: this.queuedEvents,
      inflight: this.inflight,
      byKind: { journal: { ...journal }, raw: { ...raw } },
    };
  }

  private seal(batch: Batch): void {
    this.sealed.push(batch);
    if (this.open === batch) this.open = null;
  }

  /** Sends what may go now (see the flush policy above), then arms a wake-up for the rest. */
  private pump(trigger: Trigger): void {
    while (this.inflight < this.inflightMax) {
      let batch = this.sealed.shift();
      if (batch === undefined) {
        const open = this.open;
        if (open === null || !this.partialDue(open, trigger)) break;
        this.open = null;
        batch = open;
      }
      this.send(batch);
    }
    this.arm();
    this.armSweep();
  }

  private partialDue(open: Batch, trigger: Trigger): boolean {
    if (this.draining) return true;
    // Let the rest of this macrotask's submissions join.
    if (trigger === 'submit') return false;
    if (trigger === 'immediate' && this.inflight === 0) return true;
    return this.clock.nowMs() - open.openedAtMs >= this.flushDelayMs;
  }

  /**
   * A partial batch with a free slot needs a wake-up: the next macrotask when the ledger is idle
   * or its wait is over, else a timer for the rest of `flushDelayMs`. A stale timer (its batch
   * went out early) is harmless: it fires no later than the current batch's deadline and re-arms.
   * With every slot busy nothing is armed: the next completion pumps.
   */
  private arm(): void {
    const open = this.open;
    if (open === null || this.inflight >= this.inflightMax) return;
    if (this.inflight > 0) {
      if (this.timerArmed || this.immediateArmed) return;
      const waitMs = this.flushDelayMs - (this.clock.nowMs() - open.openedAtMs);
      if (waitMs > 0) {
        this.timerArmed = true;
        this.clock.setTimeout(this.onTimer, waitMs);
        return;
      }
    }
    if (!this.immediateArmed) {
      this.immediateArmed = true;
      this.clock.setImmediate(this.onImmediate);
    }
  }

  /** The oldest queued batch's deadline gets a wake-up (one armed at a time, the earliest). */
  private armSweep(): void {
    if (this.chainTimeoutMs === null) return;
    const oldest = this.sealed[0] ?? this.open;
    if (oldest === null) return;
    const dueMs = oldest.openedAtMs + this.chainTimeoutMs;
    if (this.sweepAtMs !== null && this.sweepAtMs <= dueMs) return;
    this.sweepAtMs = dueMs;
    this.clock.setTimeout(this.onSweep, Math.max(0, dueMs - this.clock.nowMs()));
  }

  /** Queued batches past their deadline are answered `unavailable`, never sent. */
  private expireQueued(): void {
    const timeoutMs = this.chainTimeoutMs!;
    const nowMs = this.clock.nowMs();
    while (this.sealed.length > 0 && nowMs - this.sealed[0]!.openedAtMs >= timeoutMs) {
      this.expire(this.sealed.shift()!, 'waited for a ledger request slot');
    }
    const open = this.open;
    if (open !== null && nowMs - open.openedAtMs >= timeoutMs) {
      this.open = null;
      this.expire(open, 'waited for a ledger request slot');
    }
    this.checkDrained();
  }

  private expire(batch: Batch, why: string): void {
    if (batch.settled) return;
    batch.settled = true;
    if (!batch.sent) this.queuedEvents -= batch.events.length;
    this.kinds.journal.chainsTimedOut += batch.ends.length - batch.raw;
    this.kinds.raw.chainsTimedOut += batch.raw;
    const error = new LedgerError(
      'unavailable',
      `create_transfers: no answer from the ledger within ${this.chainTimeoutMs} ms (${why}); ` +
        'the request may still commit: retry with the same ids',
    );
    for (let i = 0; i < batch.rejects.length; i++) batch.rejects[i]!(error);
  }

  private send(batch: Batch): void {
    const size = batch.events.length;
    batch.sent = true;
    this.inflight++;
    this.queuedEvents -= size;
    this.requests++;
    const { journal, raw } = this.kinds;
    journal.chains += batch.ends.length - batch.raw;
    journal.events += size - batch.rawEvents;
    raw.chains += batch.raw;
    raw.events += batch.rawEvents;
    if (size > this.requestEventsLargest) this.requestEventsLargest = size;
    if (this.chainTimeoutMs !== null) {
      const leftMs = batch.openedAtMs + this.chainTimeoutMs - this.clock.nowMs();
      this.clock.setTimeout(() => this.expire(batch, 'the request is unanswered'), leftMs);
    }
    let answer: Promise<CreateTransferResult[]>;
    try {
      answer = this.ledger.createTransfers(batch.events);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (results) => this.answered(batch, results),
      (error: unknown) => this.failed(batch, error),
    );
  }

  private answered(batch: Batch, results: CreateTransferResult[]): void {
    this.inflight--;
    // The next request goes out first, so the ledger never waits on our bookkeeping (the chains'
    // continuations run as microtasks once this returns, in either order).
    this.pump('completion');
    if (batch.settled) {
      this.checkDrained();
      return;
    }
    batch.settled = true;
    if (!Array.isArray(results) || results.length !== batch.events.length) {
      this.rejectAll(
        batch,
        new LedgerInvariantError(
          `create_transfers answered ${Array.isArray(results) ? results.length : typeof results}` +
            ` results for a request of ${batch.events.length} transfers`,
        ),
      );
    } else {
      const { ends, resolves } = batch;
      // Each submission's slice is exactly its own events, and together they are the request.
      assert(ends[ends.length - 1] === results.length, 'the last submission ends the request');
      if (ends.length === 1) {
        resolves[0]!(results);
      } else {
        let start = 0;
        for (let i = 0; i < ends.length; i++) {
          const end = ends[i]!;
          resolves[i]!(results.slice(start, end));
          start = end;
        }
      }
    }
    this.checkDrained();
  }

  private failed(batch: Batch, error: unknown): void {
    this.inflight--;
    this.pump('completion');
    if (!batch.settled) {
      batch.settled = true;
      this.rejectAll(batch, error);
    }
    this.checkDrained();
  }

  /** Nothing of a failed request is reported as success: every chain in it gets the error. */
  private rejectAll(batch: Batch, error: unknown): void {
    this.requestsFailed++;
    const rejects = batch.rejects;
    for (let i = 0; i < rejects.length; i++) rejects[i]!(error);
  }

  private checkDrained(): void {
    if (
      this.draining &&
      this.inflight === 0 &&
      this.open === null &&
      this.sealed.length === 0 &&
      this.resolveDrained !== null
    ) {
      this.resolveDrained();
      this.resolveDrained = null;
    }
  }
}

function zeroKindStats(): KindStats {
  return {
    chains: 0,
    events: 0,
    rejectedOverloaded: 0,
    rejectedDraining: 0,
    rejectedInvalid: 0,
    chainsTimedOut: 0,
  };
}
