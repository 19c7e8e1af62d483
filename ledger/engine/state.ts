/**
 * The embedded engine's in-memory state: accounts, transfers, their indexes and the queue of
 * pending-transfer deadlines. Mutated only by the state machine (./state-machine.ts and the
 * create-* files); read by ./queries.ts.
 *
 * Layout, chosen so a few million transfers fit in memory and the garbage collector has little to
 * walk:
 * - accounts are objects (`AccountRec`), few and mutable, in creation (= timestamp) order;
 * - transfers are immutable rows in columns of typed arrays, in chunks of `CHUNK_ROWS`, addressed
 *   by a dense row number that is also their order of creation and of timestamp;
 * - ids map to row numbers through `IdIndex` (./id-index.ts), which also stores the ids;
 * - each account keeps the rows that touch it (its `get_account_transfers` index), and, when it
 *   has `flags.history`, its balance after each of those transfers (`get_account_balances`);
 * - the change events (`get_change_events`) in columns of their own (./changes.ts).
 */
import { AccountFlags, U64_MAX } from '../port';
import { ChangeStore } from './changes';
import { IdIndex } from './id-index';

/** TigerBeetle's TimestampRange: the top bit of a u64 timestamp is its LSM tombstone. */
export const TIMESTAMP_MIN = 1n;
export const TIMESTAMP_MAX = (1n << 63n) - 1n;
export const NS_PER_S = 1_000_000_000n;

/** A pending transfer's state, as TigerBeetle's `TransferPendingStatus`. */
export const PENDING_NONE = 0;
export const PENDING_PENDING = 1;
export const PENDING_POSTED = 2;
export const PENDING_VOIDED = 3;
export const PENDING_EXPIRED = 4;

const INDEX_ROWS_MIN = 4;
/** u128 balances after a transfer: (lo, hi) of debits_pending, debits_posted, credits_pending,
 * credits_posted. */
const HISTORY_WORDS = 8;

export class AccountRec {
  debits_pending = 0n;
  debits_posted = 0n;
  credits_pending = 0n;
  credits_posted = 0n;
  /** Rows of the transfers that debit or credit this account, in timestamp order. */
  rows: Uint32Array = new Uint32Array(INDEX_ROWS_MIN);
  rowCount = 0;
  /** With `flags.history`: HISTORY_WORDS per row above, the balances after that transfer. */
  history: BigUint64Array | null;
  /** The chain that last saved this account in the undo log (see ./state-machine.ts). */
  undoChain = 0;

  constructor(
    readonly id: bigint,
    readonly index: number,
    readonly user_data_128: bigint,
    readonly user_data_64: bigint,
    readonly user_data_32: number,
    readonly ledger: number,
    readonly code: number,
    public flags: number,
    readonly timestamp: bigint,
  ) {
    this.history =
      (flags & AccountFlags.history) !== 0
        ? new BigUint64Array(INDEX_ROWS_MIN * HISTORY_WORDS)
        : null;
  }

  /** Appends a transfer row to this account's index (and its balances, with history). */
  pushRow(row: number): void {
    const n = this.rowCount;
    if (n === this.rows.length) {
      const rows = new Uint32Array(n * 2);
      rows.set(this.rows);
      this.rows = rows;
    }
    this.rows[n] = row;
    const history = this.history;
    if (history !== null) {
      if (n * HISTORY_WORDS === history.length) {
        const grown = new BigUint64Array(history.length * 2);
        grown.set(history);
        this.history = grown;
      }
      const w = n * HISTORY_WORDS;
      const h = this.history!;
      putU128(h, w, this.debits_pending);
      putU128(h, w + 2, this.debits_posted);
      putU128(h, w + 4, this.credits_pending);
      putU128(h, w + 6, this.credits_posted);
    }
    this.rowCount = n + 1;
  }

  /** Removes the last row (rollback), which must be `row`. */
  popRow(row: number): void {
    if (this.rowCount === 0 || this.rows[this.rowCount - 1] !== row) {
      throw new Error(`account ${this.id}: rollback of row ${row} out of order`);
    }
    this.rowCount--;
  }

  /** Balances after the transfer at position `position` of this account's index. */
  balanceAt(position: number): [bigint, bigint, bigint, bigint] {
    const h = this.history!;
    const w = position * HISTORY_WORDS;
    return [getU128(h, w), getU128(h, w + 2), getU128(h, w + 4), getU128(h, w + 6)];
  }
}

function putU128(words: BigUint64Array, at: number, value: bigint): void {
  words[at] = value; // ToBigUint64: the low 64 bits.
  words[at + 1] = value > U64_MAX ? value >> 64n : 0n;
}

function getU128(words: BigUint64Array, at: number): bigint {
  const hi = words[at + 1]!;
  return hi === 0n ? words[at]! : (hi << 64n) | words[at]!;
}

const CHUNK_SHIFT = 14;
/** Rows per chunk: 16384 rows of 73 bytes, ~1.2 MB, allocated as the ledger grows. */
export const CHUNK_ROWS = 1 << CHUNK_SHIFT;
/** A row's offset inside its chunk. */
export const CHUNK_MASK = CHUNK_ROWS - 1;

/** One chunk of transfer columns. Ids live in the store's IdIndex, pending ids in a Map. */
export class TransferChunk {
  readonly amountLo = new BigUint64Array(CHUNK_ROWS);
  readonly amountHi = new BigUint64Array(CHUNK_ROWS);
  readonly userData128Lo = new BigUint64Array(CHUNK_ROWS);
  readonly userData128Hi = new BigUint64Array(CHUNK_ROWS);
  readonly userData64 = new BigUint64Array(CHUNK_ROWS);
  readonly timestamp = new BigUint64Array(CHUNK_ROWS);
  /** Account indexes (`AccountRec.index`), not ids. */
  readonly debit = new Uint32Array(CHUNK_ROWS);
  readonly credit = new Uint32Array(CHUNK_ROWS);
  readonly userData32 = new Uint32Array(CHUNK_ROWS);
  readonly timeout = new Uint32Array(CHUNK_ROWS);
  readonly ledger = new Uint32Array(CHUNK_ROWS);
  readonly code = new Uint16Array(CHUNK_ROWS);
  readonly flags = new Uint16Array(CHUNK_ROWS);
  readonly pendingStatus = new Uint8Array(CHUNK_ROWS);
}

/** The fields of a new transfer row, in a reused object (no allocation per transfer). */
export class TransferRow {
  id = 0n;
  debit = 0;
  credit = 0;
  amount = 0n;
  pendingId = 0n;
  userData128 = 0n;
  userData64 = 0n;
  userData32 = 0;
  timeout = 0;
  ledger = 0;
  code = 0;
  flags = 0;
  timestamp = 0n;
}

export class TransferStore {
  readonly ids = new IdIndex();
  /** Non-zero `pending_id`s (post/void transfers only), by row. */
  readonly pendingIds = new Map<number, bigint>();
  private readonly chunks: TransferChunk[] = [];

  get count(): number {
    return this.ids.size;
  }

  chunk(row: number): TransferChunk {
    return this.chunks[row >>> CHUNK_SHIFT]!;
  }

  append(r: TransferRow): number {
    const row = this.ids.add(r.id);
    const o = row & CHUNK_MASK;
    if (o === 0 && this.chunks.length === row >>> CHUNK_SHIFT)
      this.chunks.push(new TransferChunk());
    const c = this.chunks[row >>> CHUNK_SHIFT]!;
    c.amountLo[o] = r.amount;
    c.amountHi[o] = r.amount > U64_MAX ? r.amount >> 64n : 0n;
    c.userData128Lo[o] = r.userData128;
    c.userData128Hi[o] = r.userData128 > U64_MAX ? r.userData128 >> 64n : 0n;
    c.userData64[o] = r.userData64;
    c.timestamp[o] = r.timestamp;
    c.debit[o] = r.debit;
    c.credit[o] = r.credit;
    c.userData32[o] = r.userData32;
    c.timeout[o] = r.timeout;
    c.ledger[o] = r.ledger;
    c.code[o] = r.code;
    c.flags[o] = r.flags;
    c.pendingStatus[o] = PENDING_NONE;
    if (r.pendingId !== 0n) this.pendingIds.set(row, r.pendingId);
    return row;
  }

  /** Removes the last row (rollback of a linked chain). */
  removeLast(): void {
    const row = this.count - 1;
    this.ids.removeLast();
    this.pendingIds.delete(row);
  }

  debitIndex(row: number): number {
    return this.chunks[row >>> CHUNK_SHIFT]!.debit[row & CHUNK_MASK]!;
  }

  creditIndex(row: number): number {
    return this.chunks[row >>> CHUNK_SHIFT]!.credit[row & CHUNK_MASK]!;
  }

  amount(row: number): bigint {
    const c = this.chunks[row >>> CHUNK_SHIFT]!;
    const o = row & CHUNK_MASK;
    const hi = c.amountHi[o]!;
    return hi === 0n ? c.amountLo[o]! : (hi << 64n) | c.amountLo[o]!;
  }

  userData128(row: number): bigint {
    const c = this.chunks[row >>> CHUNK_SHIFT]!;
    const o = row & CHUNK_MASK;
    const hi = c.userData128Hi[o]!;
    return hi === 0n ? c.userData128Lo[o]! : (hi << 64n) | c.userData128Lo[o]!;
  }

  timestamp(row: number): bigint {
    return this.chunks[row >>> CHUNK_SHIFT]!.timestamp[row & CHUNK_MASK]!;
  }

  flags(row: number): number {
    return this.chunks[row >>> CHUNK_SHIFT]!.flags[row & CHUNK_MASK]!;
  }

  pendingStatus(row: number): number {
    return this.chunks[row >>> CHUNK_SHIFT]!.pendingStatus[row & CHUNK_MASK]!;
  }

  setPendingStatus(row: number, status: number): void {
    this.chunks[row >>> CHUNK_SHIFT]!.pendingStatus[row & CHUNK_MASK] = status;
  }

  pendingId(row: number): bigint {
    return this.pendingIds.get(row) ?? 0n;
  }

  /** The first row whose timestamp is >= `timestamp` (rows are in timestamp order). */
  lowerBound(timestamp: bigint): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamp(mid) < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  hasTimestamp(timestamp: bigint): boolean {
    const row = this.lowerBound(timestamp);
    return row < this.count && this.timestamp(row) === timestamp;
  }

  lastTimestamp(): bigint {
    return this.count === 0 ? 0n : this.timestamp(this.count - 1);
  }
}

/**
 * Deadlines of pending transfers with a timeout, as a binary min-heap ordered like TigerBeetle's
 * `expires_at` index: by deadline, then by the pending transfer's timestamp. Entries are removed
 * lazily: one whose row no longer holds a still-pending transfer with that timestamp (posted,
 * voided, or rolled back and the row reused) is discarded when it reaches the top.
 */
export class ExpiryQueue {
  private readonly deadlines: bigint[] = [];
  private readonly timestamps: bigint[] = [];
  private readonly rows: number[] = [];

  get size(): number {
    return this.rows.length;
  }

  push(deadline: bigint, timestamp: bigint, row: number): void {
    let i = this.rows.length;
    this.deadlines.push(deadline);
    this.timestamps.push(timestamp);
    this.rows.push(row);
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The top entry's row if it is still a pending transfer, discarding stale entries first. */
  peekValid(store: TransferStore): number {
    while (this.rows.length > 0) {
      const row = this.rows[0]!;
      if (
        row < store.count &&
        store.timestamp(row) === this.timestamps[0] &&
        store.pendingStatus(row) === PENDING_PENDING
      ) {
        return row;
      }
      this.pop();
    }
    return -1;
  }

  topDeadline(): bigint {
    return this.deadlines[0]!;
  }

  pop(): void {
    const last = this.rows.length - 1;
    this.swap(0, last);
    this.deadlines.pop();
    this.timestamps.pop();
    this.rows.pop();
    let i = 0;
    for (;;) {
      const left = i * 2 + 1;
      if (left >= last) break;
      const right = left + 1;
      const child = right < last && this.less(right, left) ? right : left;
      if (!this.less(child, i)) break;
      this.swap(i, child);
      i = child;
    }
  }

  private less(a: number, b: number): boolean {
    const da = this.deadlines[a]!;
    const db = this.deadlines[b]!;
    return da < db || (da === db && this.timestamps[a]! < this.timestamps[b]!);
  }

  private swap(a: number, b: number): void {
    const d = this.deadlines[a]!;
    this.deadlines[a] = this.deadlines[b]!;
    this.deadlines[b] = d;
    const t = this.timestamps[a]!;
    this.timestamps[a] = this.timestamps[b]!;
    this.timestamps[b] = t;
    const r = this.rows[a]!;
    this.rows[a] = this.rows[b]!;
    this.rows[b] = r;
  }
}

/** Everything the state machine owns, shared by the create-* and query functions. */
export class LedgerState {
  readonly accounts: AccountRec[] = [];
  readonly accountIds = new IdIndex();
  readonly transfers = new TransferStore();
  /** Transfer ids that failed with a transient status: retries get `id_already_failed`. */
  readonly failedTransferIds = new IdIndex();
  readonly expiries = new ExpiryQueue();
  /** One event per transfer created and per pending transfer expired, in timestamp order. */
  readonly changes = new ChangeStore();

  account(id: bigint): AccountRec | undefined {
    const index = this.accountIds.get(id);
    return index < 0 ? undefined : this.accounts[index];
  }

  /** Accounts are created in timestamp order (imports must not regress), so binary search. */
  hasAccountTimestamp(timestamp: bigint): boolean {
    let lo = 0;
    let hi = this.accounts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.accounts[mid]!.timestamp < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.accounts.length && this.accounts[lo]!.timestamp === timestamp;
  }

  lastAccountTimestamp(): bigint {
    const n = this.accounts.length;
    return n === 0 ? 0n : this.accounts[n - 1]!.timestamp;
  }
}
