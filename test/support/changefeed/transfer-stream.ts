/**
 * A steady stream of transfers straight to the ledger (no bridge, no journal: raw movements
 * between a set of accounts), one request at a time at a set rate, recording every change event
 * it makes the ledger emit, in commit order: single-phase transfers; holds posted or voided one
 * tick later; and holds with a 1 s timeout that TigerBeetle expires by itself (their expiry is an
 * event the stream cannot time, so they are listed apart). Seeded: the same seed makes the same
 * choices. A refused request is retried with the same ids (`exists` counts as committed).
 */
import { id } from 'tigerbeetle-node';
import type { ChangeType } from '../../../events/change';
import {
  type CreateTransferResult,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';

export interface StreamedEvent {
  type: ChangeType;
  transferId: bigint;
  /** The event's TigerBeetle timestamp (ns): the transfer's own, for all but an expiry. */
  timestamp: bigint;
  debit: bigint;
  credit: bigint;
}

export interface TransferStreamOptions {
  ledger: Ledger;
  /** TigerBeetle ids of the accounts moved (at least two), all on `ledgerNumber`. */
  accounts: readonly bigint[];
  ledgerNumber: number;
  code: number;
  ratePerS: number;
  tickMs: number;
  seed: number;
}

/** Shares of each kind of transfer, cumulative: the rest are single-phase. */
const EXPIRING_SHARE = 0.06;
const POSTED_SHARE = 0.09;
const VOIDED_SHARE = 0.12;
/** A hold that is to expire: TigerBeetle's smallest timeout (s). */
const EXPIRING_TIMEOUT_S = 1;
/** A hold that is posted or voided a tick later must not expire first (s). */
const RESOLVED_TIMEOUT_S = 3_600;
/** A request the ledger does not answer is retried this long before the stream fails (ms). */
const RETRY_FOR_MS = 30_000;
const RETRY_PAUSE_MS = 200;

/** mulberry32: small, seeded, good enough to pick accounts and kinds. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Planned = { transfer: Transfer; type: ChangeType; debit: bigint; credit: bigint };

export class TransferStream {
  /** Every event but the expiries, in commit order (ascending timestamps). */
  readonly events: StreamedEvent[] = [];
  /** The pending event of every hold left to expire. */
  readonly expiring: StreamedEvent[] = [];
  /** Requests that failed and were sent again. */
  retries = 0;
  private readonly random: () => number;
  private resolutions: Planned[] = [];
  private stopping = false;
  private running: Promise<void> | null = null;
  private failure: Error | null = null;

  constructor(private readonly options: TransferStreamOptions) {
    if (options.accounts.length < 2) throw new Error('a stream needs two accounts at least');
    this.random = seeded(options.seed);
  }

  start(): void {
    this.running ??= this.run().catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
    });
  }

  /** Throws what stopped the stream, if anything did. */
  check(): void {
    if (this.failure !== null)
      throw new Error(`the transfer stream failed: ${this.failure.message}`);
  }

  /** Stops after the request in flight, then posts or voids the holds still waiting for it. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.check();
    if (this.resolutions.length > 0) await this.commit(this.take());
  }

  /** The newest committed timestamp (0 before the first commit). */
  lastTimestamp(): bigint {
    return this.events.at(-1)?.timestamp ?? 0n;
  }

  /** Events (expiries aside) committed at or before `timestamp`. */
  countUpTo(timestamp: bigint): number {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.events[middle]!.timestamp <= timestamp) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private async run(): Promise<void> {
    const perTick = (this.options.ratePerS * this.options.tickMs) / 1_000;
    const started = performance.now();
    let ticks = 0;
    let owed = 0;
    while (!this.stopping) {
      owed += perTick;
      const count = Math.floor(owed);
      owed -= count;
      await this.commit(this.take(count));
      ticks += 1;
      const due = started + ticks * this.options.tickMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
  }

  /** Last tick's resolutions first, then `count` new transfers. */
  private take(count = 0): Planned[] {
    const batch = this.resolutions;
    this.resolutions = [];
    for (let i = 0; i < count; i++) batch.push(this.plan());
    return batch;
  }

  private plan(): Planned {
    const { accounts, ledgerNumber, code } = this.options;
    const debitIndex = Math.floor(this.random() * accounts.length);
    const offset = 1 + Math.floor(this.random() * (accounts.length - 1));
    const debit = accounts[debitIndex]!;
    const credit = accounts[(debitIndex + offset) % accounts.length]!;
    const kind = this.random();
    const pending = kind < VOIDED_SHARE;
    const transfer: Transfer = {
      id: id(),
      debit_account_id: debit,
      credit_account_id: credit,
      amount: BigInt(1 + Math.floor(this.random() * 100)),
      pending_id: 0n,
      user_data_128: 0n,
      user_data_64: 0n,
      user_data_32: 0,
      timeout: !pending ? 0 : kind < EXPIRING_SHARE ? EXPIRING_TIMEOUT_S : RESOLVED_TIMEOUT_S,
      ledger: ledgerNumber,
      code,
      flags: pending ? TransferFlags.pending : TransferFlags.none,
      timestamp: 0n,
    };
    if (pending && kind >= EXPIRING_SHARE) {
      this.resolutions.push(this.resolution(transfer, kind < POSTED_SHARE ? 'post' : 'void'));
    }
    return { transfer, type: pending ? 'two_phase_pending' : 'single_phase', debit, credit };
  }

  private resolution(hold: Transfer, kind: 'post' | 'void'): Planned {
    const transfer: Transfer = {
      ...hold,
      id: id(),
      pending_id: hold.id,
      amount: kind === 'post' ? hold.amount : 0n,
      timeout: 0,
      flags:
        kind === 'post' ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer,
    };
    const type = kind === 'post' ? 'two_phase_posted' : 'two_phase_voided';
    return { transfer, type, debit: hold.debit_account_id, credit: hold.credit_account_id };
  }

  /** One request, retried until the ledger answers; records what it committed. */
  private async commit(batch: Planned[]): Promise<void> {
    if (batch.length === 0) return;
    const timestamps = await this.create(batch.map((p) => p.transfer));
    batch.forEach((planned, i) => {
      const event: StreamedEvent = {
        type: planned.type,
        transferId: planned.transfer.id,
        timestamp: timestamps[i]!,
        debit: planned.debit,
        credit: planned.credit,
      };
      this.events.push(event);
      if (planned.transfer.timeout === EXPIRING_TIMEOUT_S) this.expiring.push(event);
    });
  }

  /** The committed timestamp of each transfer, in order. */
  private async create(transfers: Transfer[]): Promise<bigint[]> {
    const deadline = Date.now() + RETRY_FOR_MS;
    for (;;) {
      let results: CreateTransferResult[];
      try {
        results = await this.options.ledger.createTransfers(transfers);
      } catch (error) {
        // No answer (the request may have committed): the same ids again.
        if (Date.now() > deadline) throw error;
        this.retries += 1;
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        continue;
      }
      return this.timestampsOf(transfers, results);
    }
  }

  private async timestampsOf(
    transfers: Transfer[],
    results: CreateTransferResult[],
  ): Promise<bigint[]> {
    if (results.length !== transfers.length) {
      throw new Error(`${results.length} results for ${transfers.length} transfers`);
    }
    const refused = results.findIndex(
      (r) => r.status !== CreateTransferStatus.created && r.status !== CreateTransferStatus.exists,
    );
    if (refused >= 0) {
      const status = CreateTransferStatus[results[refused]!.status];
      throw new Error(`transfer ${transfers[refused]!.id} refused by the ledger: ${status}`);
    }
    if (results.every((r) => r.status === CreateTransferStatus.created)) {
      return results.map((r) => r.timestamp);
    }
    // A retry of a request that had committed: read the timestamps back.
    const found = await this.options.ledger.lookupTransfers(transfers.map((t) => t.id));
    const byId = new Map(found.map((t) => [t.id, t.timestamp]));
    return transfers.map((t) => {
      const timestamp = byId.get(t.id);
      if (timestamp === undefined) throw new Error(`transfer ${t.id} exists but is not found`);
      return timestamp;
    });
  }
}
