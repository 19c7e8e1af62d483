/**
 * Binary codec for the embedded engine: TigerBeetle's 128-byte little-endian Account and Transfer.
 *
 * The layouts are TigerBeetle's `extern struct`s (`src/tigerbeetle.zig`, the same bytes as
 * `tb_account_t` / `tb_transfer_t` in `tb_client.h`), so a batch encoded here is byte-for-byte
 * what a TigerBeetle client puts on the wire. The engine writes these bytes into its write-ahead
 * log and decodes them on replay.
 *
 * ```
 * offset  Account            Transfer
 *      0  id u128            id u128
 *     16  debits_pending     debit_account_id u128
 *     32  debits_posted      credit_account_id u128
 *     48  credits_pending    amount u128
 *     64  credits_posted     pending_id u128
 *     80  user_data_128      user_data_128 u128
 *     96  user_data_64 u64   user_data_64 u64
 *    104  user_data_32 u32   user_data_32 u32
 *    108  reserved u32       timeout u32
 *    112  ledger u32         ledger u32
 *    116  code u16           code u16
 *    118  flags u16          flags u16
 *    120  timestamp u64      timestamp u64
 * ```
 *
 * Speed matters: this runs for every transfer, twice (encode on append, decode on replay and in
 * the engine). BigInt arithmetic is the cost, so small values (< 2^53, the common case for
 * amounts, balances and user data) travel as doubles split into 32-bit words, and only large
 * values (time-ordered ids, timestamps) go through DataView's BigInt accessors, which are
 * V8 builtins. Encoding checks every field's type and range and throws a `CodecRangeError`
 * naming the event and field: a value that does not fit is never silently truncated.
 */
import * as port from '../port';
import type { Account, Transfer } from '../port';

export const ACCOUNT_SIZE = 128;
export const TRANSFER_SIZE = 128;

/** Largest integer a double holds exactly (2^53 - 1), as a bigint for the fast-path compare. */
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** Copied out of the port module: compiled imports are getter calls on every access. */
const U64_MAX = port.U64_MAX;
const U128_MAX = port.U128_MAX;
/** Values below this high word (2^21) make a 64-bit value < 2^53, i.e. exact as a double. */
const SAFE_HIGH_WORD_LIMIT = 0x20_0000;
const TWO_POW_32 = 0x1_0000_0000;
/** Module-local aliases: a global lookup per field is slow where the global object is
 *  intercepted (jest runs tests in a vm context, measured 5x slower without these). */
const toNumber = Number;
const toBigInt = BigInt;

/** An event field outside its wire range or of the wrong type; nothing was encoded. */
export class CodecRangeError extends RangeError {
  override readonly name = 'CodecRangeError';
  constructor(
    /** Index of the offending event in the batch. */
    readonly eventIndex: number,
    readonly field: string,
    value: unknown,
    expected: string,
  ) {
    super(`event ${eventIndex}: ${field} must be ${expected}, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return String(value);
  return typeof value;
}

// --- writers -----------------------------------------------------------------------------------

function putU128(dv: DataView, o: number, v: bigint, index: number, field: string): void {
  if (typeof v === 'bigint' && v >= 0n) {
    if (v <= SAFE_MAX) {
      const n = toNumber(v);
      const lo = n >>> 0;
      dv.setUint32(o, lo, true);
      dv.setUint32(o + 4, (n - lo) / TWO_POW_32, true);
      dv.setUint32(o + 8, 0, true);
      dv.setUint32(o + 12, 0, true);
      return;
    }
    if (v <= U128_MAX) {
      // setBigUint64 takes the value modulo 2^64, so the low half needs no masking.
      dv.setBigUint64(o, v, true);
      dv.setBigUint64(o + 8, v >> 64n, true);
      return;
    }
  }
  throw new CodecRangeError(index, field, v, 'a bigint in [0, 2^128)');
}

function putU64(dv: DataView, o: number, v: bigint, index: number, field: string): void {
  if (typeof v === 'bigint' && v >= 0n) {
    if (v <= SAFE_MAX) {
      const n = toNumber(v);
      const lo = n >>> 0;
      dv.setUint32(o, lo, true);
      dv.setUint32(o + 4, (n - lo) / TWO_POW_32, true);
      return;
    }
    if (v <= U64_MAX) {
      dv.setBigUint64(o, v, true);
      return;
    }
  }
  throw new CodecRangeError(index, field, v, 'a bigint in [0, 2^64)');
}

function putU32(dv: DataView, o: number, v: number, index: number, field: string): void {
  // `>>> 0` is the identity exactly for integers in [0, 2^32); it also rejects NaN, fractions,
  // and non-numbers (a bigint would throw a TypeError inside `>>>`, so check the type first).
  if (typeof v !== 'number' || v >>> 0 !== v) {
    throw new CodecRangeError(index, field, v, 'an integer in [0, 2^32)');
  }
  dv.setUint32(o, v, true);
}

function putU16(dv: DataView, o: number, v: number, index: number, field: string): void {
  if (typeof v !== 'number' || (v & 0xffff) !== v) {
    throw new CodecRangeError(index, field, v, 'an integer in [0, 2^16)');
  }
  dv.setUint16(o, v, true);
}

// --- readers -----------------------------------------------------------------------------------

function getU128(dv: DataView, o: number): bigint {
  if ((dv.getUint32(o + 8, true) | dv.getUint32(o + 12, true)) === 0) return getU64(dv, o);
  return (dv.getBigUint64(o + 8, true) << 64n) | dv.getBigUint64(o, true);
}

function getU64(dv: DataView, o: number): bigint {
  const hi = dv.getUint32(o + 4, true);
  if (hi < SAFE_HIGH_WORD_LIMIT) return toBigInt(hi * TWO_POW_32 + dv.getUint32(o, true));
  return dv.getBigUint64(o, true);
}

/** A fresh buffer whose DataView starts at byte 0 of its own ArrayBuffer (no pool sharing). */
function allocate(bytes: number): { buf: Buffer; dv: DataView } {
  const buf = Buffer.allocUnsafeSlow(bytes);
  return { buf, dv: new DataView(buf.buffer, buf.byteOffset, bytes) };
}

function viewOf(buf: Uint8Array, size: number, what: string): DataView {
  if (buf.byteLength % size !== 0) {
    throw new RangeError(`${what}: ${buf.byteLength} bytes is not a multiple of ${size}`);
  }
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

// --- Account -----------------------------------------------------------------------------------

export function encodeAccounts(batch: readonly Account[]): Buffer {
  const { buf, dv } = allocate(batch.length * ACCOUNT_SIZE);
  for (let i = 0; i < batch.length; i++) {
    const a = batch[i]!;
    const o = i * ACCOUNT_SIZE;
    putU128(dv, o, a.id, i, 'id');
    putU128(dv, o + 16, a.debits_pending, i, 'debits_pending');
    putU128(dv, o + 32, a.debits_posted, i, 'debits_posted');
    putU128(dv, o + 48, a.credits_pending, i, 'credits_pending');
    putU128(dv, o + 64, a.credits_posted, i, 'credits_posted');
    putU128(dv, o + 80, a.user_data_128, i, 'user_data_128');
    putU64(dv, o + 96, a.user_data_64, i, 'user_data_64');
    putU32(dv, o + 104, a.user_data_32, i, 'user_data_32');
    putU32(dv, o + 108, a.reserved, i, 'reserved');
    putU32(dv, o + 112, a.ledger, i, 'ledger');
    putU16(dv, o + 116, a.code, i, 'code');
    putU16(dv, o + 118, a.flags, i, 'flags');
    putU64(dv, o + 120, a.timestamp, i, 'timestamp');
  }
  return buf;
}

export function decodeAccounts(buf: Uint8Array): Account[] {
  const dv = viewOf(buf, ACCOUNT_SIZE, 'decodeAccounts');
  const count = buf.byteLength / ACCOUNT_SIZE;
  const out = new Array<Account>(count);
  for (let i = 0; i < count; i++) {
    const o = i * ACCOUNT_SIZE;
    // One literal with every field in declaration order keeps a single hidden class.
    out[i] = {
      id: getU128(dv, o),
      debits_pending: getU128(dv, o + 16),
      debits_posted: getU128(dv, o + 32),
      credits_pending: getU128(dv, o + 48),
      credits_posted: getU128(dv, o + 64),
      user_data_128: getU128(dv, o + 80),
      user_data_64: getU64(dv, o + 96),
      user_data_32: dv.getUint32(o + 104, true),
      reserved: dv.getUint32(o + 108, true),
      ledger: dv.getUint32(o + 112, true),
      code: dv.getUint16(o + 116, true),
      flags: dv.getUint16(o + 118, true),
      timestamp: getU64(dv, o + 120),
    };
  }
  return out;
}

// --- Transfer ----------------------------------------------------------------------------------

export function encodeTransfers(batch: readonly Transfer[]): Buffer {
  const { buf, dv } = allocate(batch.length * TRANSFER_SIZE);
  for (let i = 0; i < batch.length; i++) {
    const t = batch[i]!;
    const o = i * TRANSFER_SIZE;
    putU128(dv, o, t.id, i, 'id');
    putU128(dv, o + 16, t.debit_account_id, i, 'debit_account_id');
    putU128(dv, o + 32, t.credit_account_id, i, 'credit_account_id');
    putU128(dv, o + 48, t.amount, i, 'amount');
    putU128(dv, o + 64, t.pending_id, i, 'pending_id');
    putU128(dv, o + 80, t.user_data_128, i, 'user_data_128');
    putU64(dv, o + 96, t.user_data_64, i, 'user_data_64');
    putU32(dv, o + 104, t.user_data_32, i, 'user_data_32');
    putU32(dv, o + 108, t.timeout, i, 'timeout');
    putU32(dv, o + 112, t.ledger, i, 'ledger');
    putU16(dv, o + 116, t.code, i, 'code');
    putU16(dv, o + 118, t.flags, i, 'flags');
    putU64(dv, o + 120, t.timestamp, i, 'timestamp');
  }
  return buf;
}

export function decodeTransfers(buf: Uint8Array): Transfer[] {
  const dv = viewOf(buf, TRANSFER_SIZE, 'decodeTransfers');
  const count = buf.byteLength / TRANSFER_SIZE;
  const out = new Array<Transfer>(count);
  for (let i = 0; i < count; i++) {
    const o = i * TRANSFER_SIZE;
    out[i] = {
      id: getU128(dv, o),
      debit_account_id: getU128(dv, o + 16),
      credit_account_id: getU128(dv, o + 32),
      amount: getU128(dv, o + 48),
      pending_id: getU128(dv, o + 64),
      user_data_128: getU128(dv, o + 80),
      user_data_64: getU64(dv, o + 96),
      user_data_32: dv.getUint32(o + 104, true),
      timeout: dv.getUint32(o + 108, true),
      ledger: dv.getUint32(o + 112, true),
      code: dv.getUint16(o + 116, true),
      flags: dv.getUint16(o + 118, true),
      timestamp: getU64(dv, o + 120),
    };
  }
  return out;
}
