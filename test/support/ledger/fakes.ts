/**
 * Test doubles for the batcher: ledgers that answer at once, on the test's command, or with
 * TigerBeetle's linked-chain semantics over a few balances; and a manual clock that runs the
 * batcher's immediates and timers only when the test says so.
 */
import type { BatcherClock } from '../../../ledger/batcher';
import {
  type CreateTransferResult,
  CreateTransferStatus,
  type Ledger,
  TransferFlags,
  type Transfer,
} from '../../../ledger/port';

export function transfer(id: bigint, fields: Partial<Transfer> = {}): Transfer {
  return {
    id,
    debit_account_id: 1n,
    credit_account_id: 2n,
    amount: 1n,
    pending_id: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    timeout: 0,
    ledger: 1,
    code: 1,
    flags: 0,
    timestamp: 0n,
    ...fields,
  };
}

/** A well-formed chain of `length` transfers with ids first, first + 1, ... */
export function chain(first: bigint, length: number, fields: Partial<Transfer> = {}): Transfer[] {
  const transfers: Transfer[] = [];
  for (let i = 0; i < length; i++) {
    const flags = (fields.flags ?? 0) | (i < length - 1 ? TransferFlags.linked : 0);
    transfers.push(transfer(first + BigInt(i), { ...fields, flags }));
  }
  return transfers;
}

function notImplemented(): never {
  throw new Error('not used by the batcher');
}

abstract class TransfersOnlyLedger implements Ledger {
  abstract createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]>;
  createAccounts = notImplemented;
  lookupAccounts = notImplemented;
  lookupTransfers = notImplemented;
  getAccountTransfers = notImplemented;
  getAccountBalances = notImplemented;
  queryAccounts = notImplemented;
  queryTransfers = notImplemented;
  async close(): Promise<void> {}
}

/** Echoes each transfer's id as its result timestamp, so a test can check results line up. */
export function echo(batch: readonly Transfer[]): CreateTransferResult[] {
  return batch.map((event) => ({ timestamp: event.id, status: CreateTransferStatus.created }));
}

/** Answers every request at once (next microtask), optionally after `delayMs`. */
export class InstantLedger extends TransfersOnlyLedger {
  /** Every request, as sent. */
  readonly requests: Transfer[][] = [];
  inflight = 0;
  inflightLargest = 0;

  constructor(private readonly delayMs = 0) {
    super();
  }

  async createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]> {
    this.requests.push(batch);
    this.inflight++;
    this.inflightLargest = Math.max(this.inflightLargest, this.inflight);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.inflight--;
    return echo(batch);
  }
}

export interface PendingRequest {
  readonly batch: Transfer[];
  resolve(results: CreateTransferResult[]): void;
  reject(error: unknown): void;
}

/** Holds every request until the test answers it: `answer`, `fail` or `answerWith`. */
export class ControlledLedger extends TransfersOnlyLedger {
  readonly requests: Transfer[][] = [];
  readonly pending: PendingRequest[] = [];

  createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]> {
    this.requests.push(batch);
    return new Promise((resolve, reject) => this.pending.push({ batch, resolve, reject }));
  }

  /** Answers the `index`-th request still pending (oldest first) with `echo`. */
  answer(index = 0): Transfer[] {
    const request = this.take(index);
    request.resolve(echo(request.batch));
    return request.batch;
  }

  answerWith(index: number, results: CreateTransferResult[]): Transfer[] {
    const request = this.take(index);
    request.resolve(results);
    return request.batch;
  }

  fail(index: number, error: unknown): Transfer[] {
    const request = this.take(index);
    request.reject(error);
    return request.batch;
  }

  private take(index: number): PendingRequest {
    const [request] = this.pending.splice(index, 1);
    if (request === undefined) throw new Error(`no pending request #${index}`);
    return request;
  }
}

/**
 * TigerBeetle's create_transfers semantics, reduced to what chain isolation needs: accounts that
 * exist, "debits must not exceed credits" on some, events applied in order, and a linked chain
 * that fails rolls back whole: the failing event gets its status, its chain-mates
 * `linked_event_failed`; a chain still open at the end of the request gets
 * `linked_event_chain_open` on its last event.
 */
export class LinkedLedger extends TransfersOnlyLedger {
  readonly requests: Transfer[][] = [];
  private readonly debits = new Map<bigint, bigint>();
  private readonly credits = new Map<bigint, bigint>();
  private readonly noOverdraft = new Set<bigint>();
  private timestamp = 1n;

  /** `capped`: debits must not exceed credits (an account that must not go negative). */
  open(id: bigint, options: { capped?: boolean; credits?: bigint } = {}): void {
    this.debits.set(id, 0n);
    this.credits.set(id, options.credits ?? 0n);
    if (options.capped === true) this.noOverdraft.add(id);
  }

  balance(id: bigint): { debits: bigint; credits: bigint } {
    return { debits: this.debits.get(id) ?? 0n, credits: this.credits.get(id) ?? 0n };
  }

  async createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]> {
    this.requests.push(batch);
    const results: CreateTransferResult[] = [];
    let chainStart = -1;
    let undo: Array<() => void> = [];
    for (let i = 0; i < batch.length; i++) {
      const event = batch[i]!;
      const linked = (event.flags & TransferFlags.linked) !== 0;
      if (chainStart < 0 && linked) chainStart = i;
      let status = this.apply(event, undo);
      if (status === CreateTransferStatus.created && linked && i === batch.length - 1) {
        status = CreateTransferStatus.linked_event_chain_open;
      }
      results.push({ timestamp: this.timestamp++, status });
      if (status !== CreateTransferStatus.created && chainStart >= 0) {
        for (const step of undo.reverse()) step();
        for (let j = chainStart; j < i; j++) {
          results[j] = { timestamp: 0n, status: CreateTransferStatus.linked_event_failed };
        }
        // The rest of the chain fails without being applied.
        while (i + 1 < batch.length && (batch[i]!.flags & TransferFlags.linked) !== 0) {
          i++;
          results.push({ timestamp: 0n, status: CreateTransferStatus.linked_event_failed });
        }
        chainStart = -1;
        undo = [];
        continue;
      }
      if (!linked) {
        chainStart = -1;
        undo = [];
      }
    }
    await Promise.resolve();
    return results;
  }

  private apply(event: Transfer, undo: Array<() => void>): CreateTransferStatus {
    const debit = this.debits.get(event.debit_account_id);
    const credit = this.credits.get(event.credit_account_id);
    if (debit === undefined) return CreateTransferStatus.debit_account_not_found;
    if (credit === undefined) return CreateTransferStatus.credit_account_not_found;
    if (this.noOverdraft.has(event.debit_account_id)) {
      const credits = this.credits.get(event.debit_account_id)!;
      if (debit + event.amount > credits) return CreateTransferStatus.exceeds_credits;
    }
    this.debits.set(event.debit_account_id, debit + event.amount);
    this.credits.set(event.credit_account_id, credit + event.amount);
    undo.push(() => {
      this.debits.set(
        event.debit_account_id,
        this.debits.get(event.debit_account_id)! - event.amount,
      );
      this.credits.set(
        event.credit_account_id,
        this.credits.get(event.credit_account_id)! - event.amount,
      );
    });
    return CreateTransferStatus.created;
  }
}

/** Time that moves only when the test advances it; immediates run only when the test says. */
export class ManualClock implements BatcherClock {
  private now = 0;
  private immediates: Array<() => void> = [];
  private timers: Array<{ atMs: number; callback: () => void }> = [];

  nowMs(): number {
    return this.now;
  }

  setImmediate(callback: () => void): void {
    this.immediates.push(callback);
  }

  setTimeout(callback: () => void, delayMs: number): void {
    this.timers.push({ atMs: this.now + delayMs, callback });
  }

  get immediatesPending(): number {
    return this.immediates.length;
  }

  get timersPending(): number {
    return this.timers.length;
  }

  /** One check phase: runs the immediates queued so far; those they queue wait for the next. */
  runImmediates(): number {
    const due = this.immediates;
    this.immediates = [];
    for (const callback of due) callback();
    return due.length;
  }

  /** Moves time forward by `ms`, firing due timers in deadline order at their deadline. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next = -1;
      for (let i = 0; i < this.timers.length; i++) {
        if (
          this.timers[i]!.atMs <= until &&
          (next < 0 || this.timers[i]!.atMs < this.timers[next]!.atMs)
        ) {
          next = i;
        }
      }
      if (next < 0) break;
      const [timer] = this.timers.splice(next, 1);
      this.now = Math.max(this.now, timer!.atMs);
      timer!.callback();
    }
    this.now = until;
  }
}

/** Lets every promise callback already queued run (the batcher's own timers are not involved). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
