/**
 * get_change_events on the engine server's wire (./protocol.ts), in TigerBeetle's layouts
 * (src/tigerbeetle.zig), so the engine's change feed reads the server as `tigerbeetle amqp` reads
 * a cluster:
 *
 * - request: one 64-byte ChangeEventsFilter (timestamp_min u64 @0, timestamp_max u64 @8, limit
 *   u32 @16, reserved 44 bytes @20); the engine takes timestamp_max 0 (no upper bound) only;
 * - reply: n × 384-byte ChangeEvent: the transfer (id, amount, pending_id, user_data_128 u128
 *   @0..63, user_data_64 u64 @64, user_data_32 u32 @72, timeout u32 @76, code u16 @80, flags u16
 *   @82), ledger u32 @84, type u8 @88, reserved 39 bytes; the debit account @128 and the credit
 *   account @240 (id, debits_pending, debits_posted, credits_pending, credits_posted, user_data_128
 *   u128, user_data_64 u64 @+96, user_data_32 u32 @+104, code u16 @+108, flags u16 @+110); then
 *   the timestamps u64 of the event @352, the transfer @360, the debit @368 and credit @376
 *   account.
 */
import { LedgerError, U32_MAX, U64_MAX } from '../port';
import {
  type ChangeAccount,
  CHANGE_EVENTS_MAX,
  CHANGE_TYPES,
  type ChangeTransfer,
  type LedgerChange,
} from './changes';
import { getU128, ProtocolError, putU128 } from './protocol';

export const CHANGE_EVENTS_FILTER_BYTES = 64;
export const CHANGE_EVENT_BYTES = 384;
const DEBIT_ACCOUNT_AT = 128;
const CREDIT_ACCOUNT_AT = 240;
const TIMESTAMPS_AT = 352;

/** The filter's wire ranges, then the reply limit, as for the other queries. */
export function checkChangesFilter(timestampMin: bigint, limit: number): void {
  if (typeof timestampMin !== 'bigint' || timestampMin < 0n || timestampMin > U64_MAX) {
    throw new LedgerError('invalid_event', 'get_change_events: timestamp_min must be a u64');
  }
  if (!Number.isInteger(limit) || limit < 0 || limit > U32_MAX) {
    throw new LedgerError('invalid_event', 'get_change_events: limit must be a u32');
  }
  if (limit > CHANGE_EVENTS_MAX) {
    throw new LedgerError(
      'too_much_data',
      `get_change_events: limit ${limit} exceeds the ${CHANGE_EVENTS_MAX} events one reply holds`,
    );
  }
}

/** The filter must already be checked. */
export function encodeChangesFilter(timestampMin: bigint, limit: number): Buffer {
  const buf = Buffer.alloc(CHANGE_EVENTS_FILTER_BYTES);
  buf.writeBigUInt64LE(timestampMin, 0);
  buf.writeUInt32LE(limit, 16);
  return buf;
}

/** Throws ProtocolError for a filter the engine does not take (a bound above, reserved bytes). */
export function decodeChangesFilter(body: Buffer): { timestampMin: bigint; limit: number } {
  if (body.length !== CHANGE_EVENTS_FILTER_BYTES) {
    throw new ProtocolError(`get_change_events: filter of ${body.length} bytes`);
  }
  if (body.readBigUInt64LE(8) !== 0n) {
    throw new ProtocolError('get_change_events: the engine takes no timestamp_max');
  }
  if (body.subarray(20).some((byte) => byte !== 0)) {
    throw new ProtocolError('get_change_events: reserved bytes must be zero');
  }
  return { timestampMin: body.readBigUInt64LE(0), limit: body.readUInt32LE(16) };
}

export function encodeChangeEvents(changes: readonly LedgerChange[]): Buffer {
  const buf = Buffer.alloc(changes.length * CHANGE_EVENT_BYTES);
  for (let i = 0; i < changes.length; i++) {
    const e = changes[i]!;
    const o = i * CHANGE_EVENT_BYTES;
    const t = e.transfer;
    putU128(buf, o, t.id);
    putU128(buf, o + 16, t.amount);
    putU128(buf, o + 32, t.pendingId);
    putU128(buf, o + 48, t.userData128);
    buf.writeBigUInt64LE(t.userData64, o + 64);
    buf.writeUInt32LE(t.userData32, o + 72);
    buf.writeUInt32LE(t.timeout, o + 76);
    buf.writeUInt16LE(t.code, o + 80);
    buf.writeUInt16LE(t.flags, o + 82);
    buf.writeUInt32LE(e.ledger, o + 84);
    buf.writeUInt8(CHANGE_TYPES.indexOf(e.type), o + 88);
    putAccount(buf, o + DEBIT_ACCOUNT_AT, e.debitAccount);
    putAccount(buf, o + CREDIT_ACCOUNT_AT, e.creditAccount);
    buf.writeBigUInt64LE(e.timestamp, o + TIMESTAMPS_AT);
    buf.writeBigUInt64LE(t.timestamp, o + TIMESTAMPS_AT + 8);
    buf.writeBigUInt64LE(e.debitAccount.timestamp, o + TIMESTAMPS_AT + 16);
    buf.writeBigUInt64LE(e.creditAccount.timestamp, o + TIMESTAMPS_AT + 24);
  }
  return buf;
}

export function decodeChangeEvents(body: Buffer): LedgerChange[] {
  if (body.length % CHANGE_EVENT_BYTES !== 0) {
    throw new ProtocolError(`get_change_events: reply of ${body.length} bytes`);
  }
  const out = new Array<LedgerChange>(body.length / CHANGE_EVENT_BYTES);
  for (let i = 0; i < out.length; i++) {
    const o = i * CHANGE_EVENT_BYTES;
    const type = CHANGE_TYPES[body.readUInt8(o + 88)];
    if (type === undefined) throw new ProtocolError(`change event type ${body.readUInt8(o + 88)}`);
    const transfer: ChangeTransfer = {
      id: getU128(body, o),
      amount: getU128(body, o + 16),
      pendingId: getU128(body, o + 32),
      userData128: getU128(body, o + 48),
      userData64: body.readBigUInt64LE(o + 64),
      userData32: body.readUInt32LE(o + 72),
      timeout: body.readUInt32LE(o + 76),
      code: body.readUInt16LE(o + 80),
      flags: body.readUInt16LE(o + 82),
      timestamp: body.readBigUInt64LE(o + TIMESTAMPS_AT + 8),
    };
    out[i] = {
      timestamp: body.readBigUInt64LE(o + TIMESTAMPS_AT),
      type,
      ledger: body.readUInt32LE(o + 84),
      transfer,
      debitAccount: getAccount(body, o + DEBIT_ACCOUNT_AT, o + TIMESTAMPS_AT + 16),
      creditAccount: getAccount(body, o + CREDIT_ACCOUNT_AT, o + TIMESTAMPS_AT + 24),
    };
  }
  return out;
}

/** An account's 112 bytes (its timestamp is among the event's timestamps). */
function putAccount(buf: Buffer, o: number, a: ChangeAccount): void {
  putU128(buf, o, a.id);
  putU128(buf, o + 16, a.debitsPending);
  putU128(buf, o + 32, a.debitsPosted);
  putU128(buf, o + 48, a.creditsPending);
  putU128(buf, o + 64, a.creditsPosted);
  putU128(buf, o + 80, a.userData128);
  buf.writeBigUInt64LE(a.userData64, o + 96);
  buf.writeUInt32LE(a.userData32, o + 104);
  buf.writeUInt16LE(a.code, o + 108);
  buf.writeUInt16LE(a.flags, o + 110);
}

function getAccount(body: Buffer, o: number, timestampAt: number): ChangeAccount {
  return {
    id: getU128(body, o),
    debitsPending: getU128(body, o + 16),
    debitsPosted: getU128(body, o + 32),
    creditsPending: getU128(body, o + 48),
    creditsPosted: getU128(body, o + 64),
    userData128: getU128(body, o + 80),
    userData64: body.readBigUInt64LE(o + 96),
    userData32: body.readUInt32LE(o + 104),
    code: body.readUInt16LE(o + 108),
    flags: body.readUInt16LE(o + 110),
    timestamp: body.readBigUInt64LE(timestampAt),
  };
}
