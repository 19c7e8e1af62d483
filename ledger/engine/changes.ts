/**
 * The embedded engine's change events: what TigerBeetle's `account_event` records for its change
 * feed (src/state_machine.zig, `get_change_events`), one per transfer created and one per pending
 * transfer expired, with both accounts' balances and flags as of right after the event.
 *
 * Kept compact: the transfer and the accounts' fixed fields are already in the state, so an event
 * is its timestamp, its kind, the row of its transfer (for an expiry, the pending transfer's) and
 * what changes over time: the eight balances and the two accounts' flags. 81 bytes per event in
 * columns of typed arrays (test/unit/engine/changes.test.ts measures it); a balance above u64
 * (rare) keeps its full value in a side map.
 *
 * Order: by timestamp, as TigerBeetle's scan returns them. Events almost always arrive in that
 * order; the exception is an imported transfer, whose timestamp only has to follow the last
 * transfer's and may fall before an expiry already recorded. It is inserted in place, and where
 * its timestamp equals that expiry's it replaces it, as TigerBeetle's LSM `put` of the same key
 * does. Both are undone with a failing linked chain (./undo.ts).
 *
 * The event's type is the ledger's own (ledger/changes.ts), which events/change.ts encodes.
 */
import { TransferFlags, U64_MAX } from '../port';
import type { AccountRec, LedgerState } from './state';
import type { UndoLog } from './undo';

export { CHANGE_TYPES } from '../changes';
export type { ChangeAccount, ChangeTransfer, ChangeType, LedgerChange } from '../changes';

export const CHANGE_SINGLE_PHASE = 0;
export const CHANGE_PENDING = 1;
export const CHANGE_POSTED = 2;
export const CHANGE_VOIDED = 3;
export const CHANGE_EXPIRED = 4;

/**
 * Events one get_change_events reply holds: TigerBeetle's result_max, (1 MiB message − 256-byte
 * header) / 384-byte ChangeEvent. `tigerbeetle amqp --event-count-max` defaults to it.
 */
export const CHANGE_EVENTS_MAX = 2730;

const CHUNK_SHIFT = 14;
const CHUNK_ROWS = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_ROWS - 1;
/** Low 64 bits of dr debits_pending, debits_posted, credits_pending, credits_posted, then cr's. */
const BALANCE_WORDS = 8;
/** timestamp 8 + row 4 + kind 1 + two flags 4 + balances 64. */
export const CHANGE_BYTES = 8 + 4 + 1 + 4 + BALANCE_WORDS * 8;

class ChangeChunk {
  readonly timestamp = new BigUint64Array(CHUNK_ROWS);
  readonly row = new Uint32Array(CHUNK_ROWS);
  readonly kind = new Uint8Array(CHUNK_ROWS);
  readonly drFlags = new Uint16Array(CHUNK_ROWS);
  readonly crFlags = new Uint16Array(CHUNK_ROWS);
  readonly balances = new BigUint64Array(CHUNK_ROWS * BALANCE_WORDS);
}

/** One event in full, to put back what a rolled-back chain replaced. */
export interface SavedChange {
  timestamp: bigint;
  kind: number;
  row: number;
  drFlags: number;
  crFlags: number;
  balances: bigint[];
}

export class ChangeStore {
  private readonly chunks: ChangeChunk[] = [];
  /** Full balances of events with one above u64, by `wideKey`. */
  private readonly wide = new Map<number, bigint[]>();
  private size = 0;
  /** Reused by `record`: no allocation per event. */
  private readonly scratch = new Array<bigint>(BALANCE_WORDS).fill(0n);
  /** The event the last `record` replaced (same timestamp), or null. */
  replaced: SavedChange | null = null;

  get count(): number {
    return this.size;
  }

  /** Bytes of the columns allocated so far (the side map of wide balances aside). */
  get bytes(): number {
    return this.chunks.length * CHUNK_ROWS * CHANGE_BYTES;
  }

  /** Records an event with `dr` and `cr` as they stand now; returns its position. */
  record(timestamp: bigint, kind: number, row: number, dr: AccountRec, cr: AccountRec): number {
    this.replaced = null;
    let at = this.size;
    if (at > 0 && this.timestamp(at - 1) >= timestamp) {
      at = this.lowerBound(timestamp);
      if (this.timestamp(at) === timestamp) this.replaced = this.save(at);
      else this.open(at);
    } else {
      this.open(at);
    }
    const b = this.scratch;
    b[0] = dr.debits_pending;
    b[1] = dr.debits_posted;
    b[2] = dr.credits_pending;
    b[3] = dr.credits_posted;
    b[4] = cr.debits_pending;
    b[5] = cr.debits_posted;
    b[6] = cr.credits_pending;
    b[7] = cr.credits_posted;
    this.write(at, timestamp, kind, row, dr.flags, cr.flags, b);
    return at;
  }

  /** Undo of a `record` that inserted or appended at `position`. */
  removeAt(position: number): void {
    if (position < 0 || position >= this.size) {
      throw new Error(`changes: remove at ${position} of ${this.size}`);
    }
    this.wide.delete(this.wideKey(position));
    for (let i = position; i < this.size - 1; i++) this.copy(i + 1, i);
    this.size--;
  }

  /** Undo of a `record` that replaced `saved` at `position`. */
  restoreAt(position: number, saved: SavedChange): void {
    if (position < 0 || position >= this.size || this.timestamp(position) !== saved.timestamp) {
      throw new Error(`changes: restore at ${position} does not hold ${saved.timestamp}`);
    }
    this.wide.delete(this.wideKey(position));
    const e = saved;
    this.write(position, e.timestamp, e.kind, e.row, e.drFlags, e.crFlags, e.balances);
  }

  timestamp(position: number): bigint {
    return this.chunks[position >>> CHUNK_SHIFT]!.timestamp[position & CHUNK_MASK]!;
  }

  kind(position: number): number {
    return this.chunks[position >>> CHUNK_SHIFT]!.kind[position & CHUNK_MASK]!;
  }

  row(position: number): number {
    return this.chunks[position >>> CHUNK_SHIFT]!.row[position & CHUNK_MASK]!;
  }

  flags(position: number, side: 0 | 1): number {
    const c = this.chunks[position >>> CHUNK_SHIFT]!;
    return (side === 0 ? c.drFlags : c.crFlags)[position & CHUNK_MASK]!;
  }

  /** Balance `word` (0..7, see BALANCE_WORDS) of the event at `position`. */
  balance(position: number, word: number): bigint {
    const full = this.wide.size === 0 ? undefined : this.wide.get(this.wideKey(position));
    if (full !== undefined) return full[word]!;
    const c = this.chunks[position >>> CHUNK_SHIFT]!;
    return c.balances[(position & CHUNK_MASK) * BALANCE_WORDS + word]!;
  }

  /** The first position whose timestamp is >= `timestamp`. */
  lowerBound(timestamp: bigint): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamp(mid) < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * An event's identity that survives shifting: a transfer row has at most two events, its own
   * and, for a pending transfer, its expiry.
   */
  private wideKey(position: number): number {
    return this.row(position) * 2 + (this.kind(position) === CHANGE_EXPIRED ? 1 : 0);
  }

  /** Makes room at `position`, shifting the events from there one place up. */
  private open(position: number): void {
    if ((this.size & CHUNK_MASK) === 0 && this.chunks.length === this.size >>> CHUNK_SHIFT) {
      this.chunks.push(new ChangeChunk());
    }
    for (let i = this.size; i > position; i--) this.copy(i - 1, i);
    this.size++;
  }

  private save(position: number): SavedChange {
    const balances: bigint[] = [];
    for (let w = 0; w < BALANCE_WORDS; w++) balances.push(this.balance(position, w));
    return {
      timestamp: this.timestamp(position),
      kind: this.kind(position),
      row: this.row(position),
      drFlags: this.flags(position, 0),
      crFlags: this.flags(position, 1),
      balances,
    };
  }

  private write(
    position: number,
    timestamp: bigint,
    kind: number,
    row: number,
    drFlags: number,
    crFlags: number,
    balances: readonly bigint[],
  ): void {
    const c = this.chunks[position >>> CHUNK_SHIFT]!;
    const o = position & CHUNK_MASK;
    c.timestamp[o] = timestamp;
    c.kind[o] = kind;
    c.row[o] = row;
    c.drFlags[o] = drFlags;
    c.crFlags[o] = crFlags;
    let wide = false;
    for (let w = 0; w < BALANCE_WORDS; w++) {
      const value = balances[w]!;
      c.balances[o * BALANCE_WORDS + w] = value; // ToBigUint64: the low 64 bits.
      if (value > U64_MAX) wide = true;
    }
    if (wide) this.wide.set(this.wideKey(position), balances.slice());
  }

  private copy(from: number, to: number): void {
    const a = this.chunks[from >>> CHUNK_SHIFT]!;
    const b = this.chunks[to >>> CHUNK_SHIFT]!;
    const i = from & CHUNK_MASK;
    const j = to & CHUNK_MASK;
    b.timestamp[j] = a.timestamp[i]!;
    b.kind[j] = a.kind[i]!;
    b.row[j] = a.row[i]!;
    b.drFlags[j] = a.drFlags[i]!;
    b.crFlags[j] = a.crFlags[i]!;
    for (let w = 0; w < BALANCE_WORDS; w++) {
      b.balances[j * BALANCE_WORDS + w] = a.balances[i * BALANCE_WORDS + w]!;
    }
  }
}

/**
 * Records the change event of the transfer just created (the last row; `timestamp` is its own),
 * typed by its flags as TigerBeetle's `transfer_pending_status` is.
 */
export function recordCreated(state: LedgerState, undo: UndoLog, timestamp: bigint): void {
  const transfers = state.transfers;
  const row = transfers.count - 1;
  if (row < 0 || transfers.timestamp(row) !== timestamp) {
    throw new Error(`change event at ${timestamp}: the last transfer is not the one created`);
  }
  const flags = transfers.flags(row);
  let kind = CHANGE_SINGLE_PHASE;
  if ((flags & TransferFlags.pending) !== 0) kind = CHANGE_PENDING;
  else if ((flags & TransferFlags.post_pending_transfer) !== 0) kind = CHANGE_POSTED;
  else if ((flags & TransferFlags.void_pending_transfer) !== 0) kind = CHANGE_VOIDED;
  recordChange(state, undo, timestamp, kind, row);
}

/** Records an event of the transfer at `row` with its accounts as they stand now. */
export function recordChange(
  state: LedgerState,
  undo: UndoLog,
  timestamp: bigint,
  kind: number,
  row: number,
): void {
  const transfers = state.transfers;
  const dr = state.accounts[transfers.debitIndex(row)]!;
  const cr = state.accounts[transfers.creditIndex(row)]!;
  const changes = state.changes;
  const position = changes.record(timestamp, kind, row, dr, cr);
  undo.saveChange(position, changes.replaced);
}
