/**
 * The engine server's wire protocol: length-prefixed binary frames over TCP, little-endian.
 *
 * ```
 * request  [u32 length][u32 request id][u16 operation][body]
 * reply    [u32 length][u32 request id][u8 kind]      [body]
 * ```
 * `length` counts the bytes after itself (id, operation or kind, body) and is at most
 * FRAME_BYTES_MAX: a peer announcing more is cut off before its body is read. `operation` is
 * TigerBeetle's Operation number (tigerbeetle-node/dist/bindings). Request bodies:
 *
 * - create_accounts / create_transfers: n × 128-byte Account / Transfer (./codec.ts, TigerBeetle's
 *   own layout);
 * - lookup_accounts / lookup_transfers: n × 16-byte u128 ids;
 * - get_account_transfers / get_account_balances: one 128-byte AccountFilter, TigerBeetle's layout
 *   (account_id u128 @0, user_data_128 u128 @16, user_data_64 u64 @32, user_data_32 u32 @40,
 *   code u16 @44, reserved 58 bytes @46, timestamp_min u64 @104, timestamp_max u64 @112,
 *   limit u32 @120, flags u32 @124);
 * - query_accounts / query_transfers: one 64-byte QueryFilter, TigerBeetle's layout
 *   (user_data_128 u128 @0, user_data_64 u64 @16, user_data_32 u32 @24, ledger u32 @28,
 *   code u16 @32, reserved 6 bytes @34, timestamp_min u64 @40, timestamp_max u64 @48,
 *   limit u32 @56, flags u32 @60);
 * - get_change_events: one 64-byte ChangeEventsFilter, its reply n × 384-byte ChangeEvent
 *   (./change-codec.ts).
 *
 * Reply bodies, kind `ok`: create results as n × 16 bytes (timestamp u64 @0, status u32 @8,
 * reserved u32 @12 — TigerBeetle 0.17's CreateAccountResult/CreateTransferResult), accounts and
 * transfers as 128-byte records, balances as 128-byte AccountBalance (debits_pending @0,
 * debits_posted @16, credits_pending @32, credits_posted @48 as u128, timestamp u64 @64, reserved
 * 56 bytes). Kind `error`: [u8 LedgerErrorCode][u32 event index, 0xffffffff for none][utf-8
 * message].
 *
 * Every connection opens with the handshake (./handshake.ts); frames flow only once the server has
 * accepted it.
 *
 * A frame that breaks these rules (a short header, an unknown operation or kind, a body whose size
 * does not fit the operation, an unknown error code) is a protocol violation: the receiver closes
 * that connection. Expected failures of a well-formed request are `error` replies.
 */
import {
  type AccountBalance,
  type AccountFilter,
  LedgerError,
  type LedgerErrorCode,
  type QueryFilter,
} from '../port';

/** 16 MiB: far above the largest legal frame (8189 × 128-byte events ≈ 1 MiB), far below harm. */
export const FRAME_BYTES_MAX = 16 * 1024 * 1024;
export const LENGTH_BYTES = 4;
export const REQUEST_HEADER_BYTES = 10;
export const REPLY_HEADER_BYTES = 9;
export const ID_BYTES = 16;
export const RESULT_BYTES = 16;
export const ACCOUNT_FILTER_BYTES = 128;
export const QUERY_FILTER_BYTES = 64;
export const ACCOUNT_BALANCE_BYTES = 128;
export const EVENT_INDEX_NONE = 0xffff_ffff;

export const REPLY_OK = 0;
export const REPLY_ERROR = 1;

/** Exhaustive: a new LedgerErrorCode breaks the build until it has a wire number. */
export const ERROR_CODE_NUMBERS: Record<LedgerErrorCode, number> = {
  too_much_data: 1,
  invalid_event: 2,
  closed: 3,
  unavailable: 4,
};
const ERROR_CODES_BY_NUMBER = new Map<number, LedgerErrorCode>(
  Object.entries(ERROR_CODE_NUMBERS).map(([code, n]) => [n, code as LedgerErrorCode]),
);

export function errorCodeOf(n: number): LedgerErrorCode | undefined {
  return ERROR_CODES_BY_NUMBER.get(n);
}

/** A frame that breaks the protocol: the connection that carried it is closed. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

// --- frame reader ------------------------------------------------------------------------------

/**
 * Splits a byte stream into frames without copying when a frame lies within one chunk (the usual
 * case); frames spanning chunks are joined once. `onFrame` gets the bytes after the length field.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameBytes = -1;

  constructor(
    private readonly headerBytes: number,
    private readonly onFrame: (frame: Buffer) => void,
  ) {}

  /** Throws ProtocolError on a bad length; the caller closes the connection. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.frameBytes < 0) {
        if (this.buffered < LENGTH_BYTES) return;
        const length = this.peekLength();
        if (length > FRAME_BYTES_MAX) {
          throw new ProtocolError(`frame of ${length} bytes exceeds ${FRAME_BYTES_MAX}`);
        }
        if (length < this.headerBytes - LENGTH_BYTES) {
          throw new ProtocolError(`frame of ${length} bytes is shorter than its header`);
        }
        this.take(LENGTH_BYTES);
        this.frameBytes = length;
      }
      if (this.buffered < this.frameBytes) return;
      const frame = this.take(this.frameBytes);
      this.frameBytes = -1;
      this.onFrame(frame);
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= LENGTH_BYTES) return first.readUInt32LE(0);
    return Buffer.concat(this.chunks, LENGTH_BYTES).readUInt32LE(0);
  }

  private take(bytes: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= bytes) {
      out = first.subarray(0, bytes);
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
    } else {
      out = Buffer.allocUnsafe(bytes);
      let copied = 0;
      while (copied < bytes) {
        const chunk = this.chunks[0]!;
        const n = Math.min(chunk.length, bytes - copied);
        chunk.copy(out, copied, 0, n);
        copied += n;
        if (n === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(n);
      }
    }
    this.buffered -= bytes;
    return out;
  }
}

// --- headers -----------------------------------------------------------------------------------

export function requestHeader(requestId: number, operation: number, bodyBytes: number): Buffer {
  const header = Buffer.allocUnsafe(REQUEST_HEADER_BYTES);
  header.writeUInt32LE(REQUEST_HEADER_BYTES - LENGTH_BYTES + bodyBytes, 0);
  header.writeUInt32LE(requestId, 4);
  header.writeUInt16LE(operation, 8);
  return header;
}

/** A reply frame with room for `bodyBytes` after the header, which is filled in. */
export function allocateReply(requestId: number, kind: number, bodyBytes: number): Buffer {
  const frame = Buffer.allocUnsafe(REPLY_HEADER_BYTES + bodyBytes);
  frame.writeUInt32LE(REPLY_HEADER_BYTES - LENGTH_BYTES + bodyBytes, 0);
  frame.writeUInt32LE(requestId, 4);
  frame.writeUInt8(kind, 8);
  return frame;
}

/** A reply header announcing `bodyBytes` that follow in a separate write. */
export function replyHeader(requestId: number, kind: number, bodyBytes: number): Buffer {
  const header = allocateReply(requestId, kind, 0);
  header.writeUInt32LE(REPLY_HEADER_BYTES - LENGTH_BYTES + bodyBytes, 0);
  return header;
}

export function encodeErrorReply(
  requestId: number,
  code: LedgerErrorCode,
  message: string,
  eventIndex: number | undefined,
): Buffer {
  const text = Buffer.from(message, 'utf8');
  const frame = allocateReply(requestId, REPLY_ERROR, 5 + text.length);
  frame.writeUInt8(ERROR_CODE_NUMBERS[code], REPLY_HEADER_BYTES);
  frame.writeUInt32LE(eventIndex ?? EVENT_INDEX_NONE, REPLY_HEADER_BYTES + 1);
  text.copy(frame, REPLY_HEADER_BYTES + 5);
  return frame;
}

/** The client's reading of an `error` reply; a ProtocolError when it breaks the format. */
export function decodeErrorReply(body: Buffer, operation: string): LedgerError {
  if (body.length < 5) throw new ProtocolError(`${operation}: error reply of ${body.length} bytes`);
  const code = errorCodeOf(body.readUInt8(0));
  if (code === undefined) throw new ProtocolError(`${operation}: error code ${body.readUInt8(0)}`);
  const index = body.readUInt32LE(1);
  const message = body.toString('utf8', 5);
  return new LedgerError(code, message, index === EVENT_INDEX_NONE ? undefined : index);
}

export function checkReplyBytes(body: Buffer, bytes: number, operation: string): void {
  if (body.length !== bytes) {
    throw new ProtocolError(`${operation}: reply of ${body.length} bytes, expected ${bytes}`);
  }
}

// --- ids, results, balances --------------------------------------------------------------------

export function putU128(buf: Buffer, o: number, v: bigint): void {
  buf.writeBigUInt64LE(v & 0xffff_ffff_ffff_ffffn, o);
  buf.writeBigUInt64LE(v >> 64n, o + 8);
}

export function getU128(buf: Buffer, o: number): bigint {
  const hi = buf.readBigUInt64LE(o + 8);
  const lo = buf.readBigUInt64LE(o);
  return hi === 0n ? lo : (hi << 64n) | lo;
}

/** Ids must already be wire-checked (u128). */
export function encodeIds(ids: readonly bigint[]): Buffer {
  const buf = Buffer.allocUnsafe(ids.length * ID_BYTES);
  for (let i = 0; i < ids.length; i++) putU128(buf, i * ID_BYTES, ids[i]!);
  return buf;
}

export function decodeIds(body: Buffer): bigint[] {
  const ids = new Array<bigint>(body.length / ID_BYTES);
  for (let i = 0; i < ids.length; i++) ids[i] = getU128(body, i * ID_BYTES);
  return ids;
}

/** Writes create results into `frame` after the reply header. */
export function writeResults(
  frame: Buffer,
  results: readonly { timestamp: bigint; status: number }[],
): void {
  let o = REPLY_HEADER_BYTES;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    frame.writeBigUInt64LE(r.timestamp, o);
    frame.writeUInt32LE(r.status, o + 8);
    frame.writeUInt32LE(0, o + 12);
    o += RESULT_BYTES;
  }
}

export function decodeResults<S extends number>(body: Buffer): { timestamp: bigint; status: S }[] {
  const out = new Array<{ timestamp: bigint; status: S }>(body.length / RESULT_BYTES);
  for (let i = 0; i < out.length; i++) {
    const o = i * RESULT_BYTES;
    out[i] = { timestamp: body.readBigUInt64LE(o), status: body.readUInt32LE(o + 8) as S };
  }
  return out;
}

export function encodeBalances(balances: readonly AccountBalance[]): Buffer {
  const buf = Buffer.alloc(balances.length * ACCOUNT_BALANCE_BYTES);
  for (let i = 0; i < balances.length; i++) {
    const b = balances[i]!;
    const o = i * ACCOUNT_BALANCE_BYTES;
    putU128(buf, o, b.debits_pending);
    putU128(buf, o + 16, b.debits_posted);
    putU128(buf, o + 32, b.credits_pending);
    putU128(buf, o + 48, b.credits_posted);
    buf.writeBigUInt64LE(b.timestamp, o + 64);
  }
  return buf;
}

export function decodeBalances(body: Buffer): AccountBalance[] {
  const out = new Array<AccountBalance>(body.length / ACCOUNT_BALANCE_BYTES);
  for (let i = 0; i < out.length; i++) {
    const o = i * ACCOUNT_BALANCE_BYTES;
    out[i] = {
      debits_pending: getU128(body, o),
      debits_posted: getU128(body, o + 16),
      credits_pending: getU128(body, o + 32),
      credits_posted: getU128(body, o + 48),
      timestamp: body.readBigUInt64LE(o + 64),
    };
  }
  return out;
}

// --- filters -----------------------------------------------------------------------------------

/** The filter must already be wire-checked. */
export function encodeAccountFilter(f: AccountFilter): Buffer {
  const buf = Buffer.alloc(ACCOUNT_FILTER_BYTES);
  putU128(buf, 0, f.account_id);
  putU128(buf, 16, f.user_data_128);
  buf.writeBigUInt64LE(f.user_data_64, 32);
  buf.writeUInt32LE(f.user_data_32, 40);
  buf.writeUInt16LE(f.code, 44);
  buf.writeBigUInt64LE(f.timestamp_min, 104);
  buf.writeBigUInt64LE(f.timestamp_max, 112);
  buf.writeUInt32LE(f.limit, 120);
  buf.writeUInt32LE(f.flags, 124);
  return buf;
}

export function decodeAccountFilter(body: Buffer): AccountFilter {
  return {
    account_id: getU128(body, 0),
    user_data_128: getU128(body, 16),
    user_data_64: body.readBigUInt64LE(32),
    user_data_32: body.readUInt32LE(40),
    code: body.readUInt16LE(44),
    timestamp_min: body.readBigUInt64LE(104),
    timestamp_max: body.readBigUInt64LE(112),
    limit: body.readUInt32LE(120),
    flags: body.readUInt32LE(124),
  };
}

export function encodeQueryFilter(f: QueryFilter): Buffer {
  const buf = Buffer.alloc(QUERY_FILTER_BYTES);
  putU128(buf, 0, f.user_data_128);
  buf.writeBigUInt64LE(f.user_data_64, 16);
  buf.writeUInt32LE(f.user_data_32, 24);
  buf.writeUInt32LE(f.ledger, 28);
  buf.writeUInt16LE(f.code, 32);
  buf.writeBigUInt64LE(f.timestamp_min, 40);
  buf.writeBigUInt64LE(f.timestamp_max, 48);
  buf.writeUInt32LE(f.limit, 56);
  buf.writeUInt32LE(f.flags, 60);
  return buf;
}

export function decodeQueryFilter(body: Buffer): QueryFilter {
  return {
    user_data_128: getU128(body, 0),
    user_data_64: body.readBigUInt64LE(16),
    user_data_32: body.readUInt32LE(24),
    ledger: body.readUInt32LE(28),
    code: body.readUInt16LE(32),
    timestamp_min: body.readBigUInt64LE(40),
    timestamp_max: body.readBigUInt64LE(48),
    limit: body.readUInt32LE(56),
    flags: body.readUInt32LE(60),
  };
}

/** Parses `host:port` (host defaults to 127.0.0.1 when only a port is given). */
export function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = at < 0 ? '127.0.0.1' : address.slice(0, at) || '127.0.0.1';
  const port = Number(at < 0 ? address : address.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`engine address ${JSON.stringify(address)}: expected host:port`);
  }
  return { host, port };
}
