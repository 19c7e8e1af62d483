/**
 * The embedded engine's deterministic state machine, with TigerBeetle's semantics (0.17.x).
 *
 * Given the same calls with the same commit timestamps it reaches the same state: no clock, no
 * randomness, no iteration order but the input's. The wrapper (./ledger.ts) picks each commit
 * timestamp with `prepareTimestamp`, logs the request with it, then commits it here; replaying the
 * log rebuilds the state exactly.
 *
 * Timestamps, as in TigerBeetle: a batch of n events committed at T gives event i the timestamp
 * T - n + i + 1, so T is the batch's last event's. Results carry, per event: for `created`, the
 * timestamp assigned to the object (the user's, for an imported event); for `exists`, the
 * existing object's; for any failure, the event's own (its "validation") timestamp.
 *
 * Linked chains are all-or-nothing: the first event to fail keeps its own status, the chain's
 * other events get `linked_event_failed`, and the effects of the events before it are undone
 * (./undo.ts). An event that is `linked` but last in the batch gets `linked_event_chain_open`
 * (which fails its chain). `exists` is not `created`, so it fails a chain too. A transfer that
 * fails with a transient status (one that depends on the database state, see TRANSIENT below)
 * records its id, so any retry of that id gets `id_already_failed`.
 *
 * Change events (TigerBeetle's `account_event`, read by `changes`): every transfer created records
 * one, typed by its flags, with both accounts as they stand right after it; every expiry in
 * `pulse` records a `two_phase_expired` one at the expiry's own timestamp. They are state like any
 * other: a failing chain undoes them, and replaying the log records them again, identically.
 *
 * Broken invariants (a commit timestamp that does not advance, a batch over the limit) throw: the
 * wrapper stops the engine rather than serve a state it cannot trust.
 */
import {
  type Account,
  type AccountBalance,
  type AccountFilter,
  AccountFlags,
  BATCH_EVENTS_MAX,
  CreateAccountStatus,
  type CreateAccountResult,
  type CreateTransferResult,
  CreateTransferStatus,
  type QueryFilter,
  type Transfer,
  TransferFlags,
} from '../port';
import { type LedgerChange, recordCreated } from './changes';
import { createAccount } from './create-account';
import { createTransfer } from './create-transfer';
import { expire, takeExpired } from './pulse';
import * as queries from './queries';
import { LedgerState, TIMESTAMP_MAX, TIMESTAMP_MIN } from './state';
import { UndoLog } from './undo';

const LINKED = 1; // Same bit in AccountFlags and TransferFlags.
const CREATED = CreateTransferStatus.created; // Same value in both status enums.
const LINKED_EVENT_FAILED = CreateTransferStatus.linked_event_failed;
const LINKED_EVENT_CHAIN_OPEN = CreateTransferStatus.linked_event_chain_open;
const TIMESTAMP_MUST_BE_ZERO = CreateTransferStatus.timestamp_must_be_zero;

/** The statuses whose value differs between create_accounts and create_transfers. */
interface CreateKind {
  imported: number;
  exists: number;
  importedEventExpected: number;
  importedEventNotExpected: number;
  importedEventTimestampOutOfRange: number;
  importedEventTimestampMustNotAdvance: number;
}

const ACCOUNTS: CreateKind = {
  imported: AccountFlags.imported,
  exists: CreateAccountStatus.exists,
  importedEventExpected: CreateAccountStatus.imported_event_expected,
  importedEventNotExpected: CreateAccountStatus.imported_event_not_expected,
  importedEventTimestampOutOfRange: CreateAccountStatus.imported_event_timestamp_out_of_range,
  importedEventTimestampMustNotAdvance:
    CreateAccountStatus.imported_event_timestamp_must_not_advance,
};

const TRANSFERS: CreateKind = {
  imported: TransferFlags.imported,
  exists: CreateTransferStatus.exists,
  importedEventExpected: CreateTransferStatus.imported_event_expected,
  importedEventNotExpected: CreateTransferStatus.imported_event_not_expected,
  importedEventTimestampOutOfRange: CreateTransferStatus.imported_event_timestamp_out_of_range,
  importedEventTimestampMustNotAdvance:
    CreateTransferStatus.imported_event_timestamp_must_not_advance,
};

/**
 * TigerBeetle's `CreateTransferResult.transient()`: statuses that depend on the database state, so
 * a retry of the same request could succeed later. The id of such a failure is retired.
 * (No create_accounts status is transient.)
 */
export const TRANSIENT_TRANSFER_STATUSES: readonly CreateTransferStatus[] = [
  CreateTransferStatus.debit_account_not_found,
  CreateTransferStatus.credit_account_not_found,
  CreateTransferStatus.pending_transfer_not_found,
  CreateTransferStatus.exceeds_credits,
  CreateTransferStatus.exceeds_debits,
  CreateTransferStatus.debit_account_already_closed,
  CreateTransferStatus.credit_account_already_closed,
];
const TRANSIENT = new Uint8Array(128);
for (const status of TRANSIENT_TRANSFER_STATUSES) TRANSIENT[status] = 1;

type Result = { timestamp: bigint; status: number };
type Event = { id: bigint; flags: number; timestamp: bigint };

export class StateMachine {
  private readonly state = new LedgerState();
  private readonly undo = new UndoLog();
  private last = 0n;
  // The batch being executed (set by `execute`, read by `eventStatus`).
  private kind: CreateKind = TRANSFERS;
  private batchCount = 0;
  private batchTimestamp = 0n;
  private batchImported = false;

  /** Highest timestamp assigned so far (ns). */
  get timestampLast(): bigint {
    return this.last;
  }

  /**
   * The commit timestamp for a batch of `eventCount` events: strictly greater than every
   * timestamp used so far, and at least `wallClockNs` (TigerBeetle's prepare timestamp:
   * max(previous, realtime) + event count). Pure: it does not change state.
   */
  prepareTimestamp(eventCount: number, wallClockNs: bigint): bigint {
    if (!Number.isInteger(eventCount) || eventCount < 0 || eventCount > BATCH_EVENTS_MAX) {
      throw new Error(
        `prepareTimestamp: event count ${eventCount} out of [0, ${BATCH_EVENTS_MAX}]`,
      );
    }
    const base = wallClockNs > this.last ? wallClockNs : this.last;
    return base + BigInt(Math.max(eventCount, 1));
  }

  createAccounts(batch: readonly Account[], timestamp: bigint): CreateAccountResult[] {
    return this.execute(batch, timestamp, ACCOUNTS) as CreateAccountResult[];
  }

  createTransfers(batch: readonly Transfer[], timestamp: bigint): CreateTransferResult[] {
    return this.execute(batch, timestamp, TRANSFERS) as CreateTransferResult[];
  }

  /**
   * TigerBeetle's pulse: releases pending transfers whose deadline is <= `timestamp`, in order of
   * deadline then creation, at most one batch (BATCH_EVENTS_MAX) and at most as many as there are
   * unused timestamps since the last commit. Expiry k of n happens at timestamp - n + k + 1, its
   * change event's timestamp. Returns how many expired.
   */
  pulse(timestamp: bigint): number {
    this.assertCommitTimestamp(timestamp, 0);
    if (this.undo.open) throw new Error('pulse: inside a linked chain');
    const rows = takeExpired(this.state, this.last, timestamp);
    const n = rows.length;
    for (let k = 0; k < n; k++) {
      expire(this.state, this.undo, rows[k]!, timestamp - BigInt(n - k - 1), this.last);
    }
    this.last = timestamp;
    return n;
  }

  /** Earliest deadline (ns) of a still-pending transfer, or null. */
  nextExpiryNs(): bigint | null {
    const row = this.state.expiries.peekValid(this.state.transfers);
    return row < 0 ? null : this.state.expiries.topDeadline();
  }

  lookupAccounts(ids: readonly bigint[]): Account[] {
    assertBatchSize(ids.length, 'lookup_accounts');
    return queries.lookupAccounts(this.state, ids);
  }

  lookupTransfers(ids: readonly bigint[]): Transfer[] {
    assertBatchSize(ids.length, 'lookup_transfers');
    return queries.lookupTransfers(this.state, ids);
  }

  getAccountTransfers(filter: AccountFilter): Transfer[] {
    return queries.getAccountTransfers(this.state, filter);
  }

  getAccountBalances(filter: AccountFilter): AccountBalance[] {
    return queries.getAccountBalances(this.state, filter);
  }

  queryAccounts(filter: QueryFilter): Account[] {
    return queries.queryAccounts(this.state, filter);
  }

  queryTransfers(filter: QueryFilter): Transfer[] {
    return queries.queryTransfers(this.state, filter);
  }

  /** TigerBeetle's get_change_events: events at or after `timestampMin`, in timestamp order. */
  changes(timestampMin: bigint, limit: number): LedgerChange[] {
    return queries.readChanges(this.state, timestampMin, limit);
  }

  /** Change events recorded (for tests and measurements). */
  get changeCount(): number {
    return this.state.changes.count;
  }

  /** Bytes the change events' columns take. */
  get changeBytes(): number {
    return this.state.changes.bytes;
  }

  /** TigerBeetle's `execute_create`: chains, batch-level checks, then one event at a time. */
  private execute(events: readonly Event[], timestamp: bigint, kind: CreateKind): Result[] {
    const n = events.length;
    assertBatchSize(n, kind === TRANSFERS ? 'create_transfers' : 'create_accounts');
    this.assertCommitTimestamp(timestamp, n);
    const results: Result[] = new Array<Result>(n);
    this.kind = kind;
    this.batchCount = n;
    this.batchTimestamp = timestamp;
    // The first event decides whether the whole batch imports past events.
    this.batchImported = n > 0 && (events[0]!.flags & kind.imported) !== 0;
    let eventTimestamp = timestamp - BigInt(n);
    let chainStart = -1;
    let chainBroken = false;
    for (let i = 0; i < n; i++) {
      const event = events[i]!;
      eventTimestamp += 1n;
      const linked = (event.flags & LINKED) !== 0;
      if (linked && chainStart < 0) {
        chainStart = i;
        this.undo.openChain(this.state);
      }
      const status = this.eventStatus(event, i, linked, chainBroken, eventTimestamp);
      results[i] = { timestamp: this.resultTimestamp(event, status, eventTimestamp), status };
      if (status === CREATED && kind === TRANSFERS) {
        recordCreated(this.state, this.undo, results[i]!.timestamp);
      }
      if (status !== CREATED) {
        if (chainStart >= 0 && !chainBroken) {
          chainBroken = true;
          this.undo.rollback(this.state);
          for (let j = chainStart; j < i; j++) results[j]!.status = LINKED_EVENT_FAILED;
        }
        if (kind === TRANSFERS && TRANSIENT[status] === 1) this.retire(event.id);
      }
      if (chainStart >= 0 && (!linked || status === LINKED_EVENT_CHAIN_OPEN)) {
        this.undo.closeChain();
        chainStart = -1;
        chainBroken = false;
      }
    }
    // A linked last event closes its chain with linked_event_chain_open, so none is left open.
    if (chainStart >= 0 || this.undo.open) throw new Error('execute: a linked chain was left open');
    this.last = timestamp;
    return results;
  }

  /** The batch-level checks of `execute_create`, in order, then the event's own. */
  private eventStatus(
    event: Event,
    index: number,
    linked: boolean,
    chainBroken: boolean,
    eventTimestamp: bigint,
  ): number {
    const kind = this.kind;
    if (linked && index === this.batchCount - 1) return LINKED_EVENT_CHAIN_OPEN;
    if (chainBroken) return LINKED_EVENT_FAILED;
    const imported = (event.flags & kind.imported) !== 0;
    if (imported !== this.batchImported) {
      return imported ? kind.importedEventNotExpected : kind.importedEventExpected;
    }
    let timestamp = eventTimestamp;
    if (imported) {
      timestamp = event.timestamp;
      if (timestamp < TIMESTAMP_MIN || timestamp > TIMESTAMP_MAX) {
        return kind.importedEventTimestampOutOfRange;
      }
      if (timestamp >= this.batchTimestamp) return kind.importedEventTimestampMustNotAdvance;
    } else if (event.timestamp !== 0n) {
      return TIMESTAMP_MUST_BE_ZERO;
    }
    return kind === TRANSFERS
      ? createTransfer(this.state, this.undo, event as Transfer, timestamp)
      : createAccount(this.state, event as Account, timestamp);
  }

  /** `created`: the object's timestamp; `exists`: the existing object's; else the event's. */
  private resultTimestamp(event: Event, status: number, eventTimestamp: bigint): bigint {
    const kind = this.kind;
    if (status === CREATED) {
      return (event.flags & kind.imported) !== 0 ? event.timestamp : eventTimestamp;
    }
    if (status === kind.exists) {
      if (kind === ACCOUNTS) return this.state.account(event.id)!.timestamp;
      return this.state.transfers.timestamp(this.state.transfers.ids.get(event.id));
    }
    return eventTimestamp;
  }

  /** Records a transfer id whose failure was transient: retries get `id_already_failed`. */
  private retire(id: bigint): void {
    const failed = this.state.failedTransferIds;
    if (failed.get(id) < 0) failed.add(id);
  }

  private assertCommitTimestamp(timestamp: bigint, eventCount: number): void {
    if (timestamp <= this.last || timestamp - BigInt(eventCount) < this.last) {
      throw new Error(
        `commit timestamp ${timestamp} for ${eventCount} events does not advance past ` +
          `${this.last}: the caller must use prepareTimestamp`,
      );
    }
    if (timestamp > TIMESTAMP_MAX) {
      throw new Error(`commit timestamp ${timestamp} exceeds the maximum ${TIMESTAMP_MAX}`);
    }
  }
}

function assertBatchSize(count: number, operation: string): void {
  if (count > BATCH_EVENTS_MAX) {
    throw new Error(`${operation}: ${count} events exceed the batch limit of ${BATCH_EVENTS_MAX}`);
  }
}
