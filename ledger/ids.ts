/**
 * Deterministic TigerBeetle ids (u128) derived from client-supplied strings, so a retry after any
 * crash produces the same ids and TigerBeetle answers `exists` instead of posting twice.
 *
 * Layout, most significant bit first:
 *
 *   id carries a time (ULID, UUIDv7):  [ 48 ms since epoch | 70 hash | 2 phase | 8 index ]
 *   any other string:                  [ 118 hash                     | 2 phase | 8 index ]
 *
 * - hash: the leading bits of SHA-256 over the UTF-8 bytes of the whole string, so any string of
 *   the accepted charset works and two ids differ unless their hashes collide (2^-70 at worst, per
 *   pair sharing a millisecond). The raw string is hashed: `01ARZ…` and `01arz…` are two journals
 *   (their time prefix is the same, as ULIDs are case-insensitive).
 * - time: TigerBeetle's LSM works best when ids arrive roughly in increasing order (its own `id()`
 *   is time-ordered). ULIDs and UUIDv7s from one client arrive roughly in time order, so putting
 *   their time in the high bits keeps inserts append-like; hashed ids land at random.
 * - phase: 0 create (the journal's transfers), 1 post and 2 void (resolving a hold), 3 account.
 * - index: the transfer's position in the journal's linked chain, 0..255.
 *
 * The hash field is never all zeros nor all ones (a deterministic nudge by one), so an id is never
 * 0 nor 2^128-1, which TigerBeetle reserves.
 */
import * as crypto from 'node:crypto';

export type TransferPhase = 'create' | 'post' | 'void';

/** The id bits a string determines; phase and index fill the low 10 bits (zero here). */
export interface JournalKey {
  /** Milliseconds since the epoch carried by a ULID or UUIDv7, else null. */
  timeMs: number | null;
  /** The high 118 bits of every id derived from this string, in place (low 10 bits zero). */
  bits: bigint;
}

/** Index bits: a journal's chain holds at most 256 transfers (the plan caps it lower). */
export const ID_INDEX_LIMIT = 256;
const INDEX_BITS = 8n;
const PHASE_BITS = 2n;
const LOW_BITS = INDEX_BITS + PHASE_BITS;
const TIME_BITS = 48n;
const HASH_BITS_TIMED = 128n - TIME_BITS - LOW_BITS; // 70
const HASH_BITS_UNTIMED = 128n - LOW_BITS; // 118

const PHASE_CODE: Readonly<Record<TransferPhase, bigint>> = { create: 0n, post: 1n, void: 2n };
const ACCOUNT_PHASE_CODE = 3n;

// ULID: 10 chars of time (50 bits; a first char ≤ 7 keeps it within 48) + 16 of randomness, in
// Crockford's base32 (no I, L, O, U), either case. Decoded through a table: no regex, no strings.
const ULID_LENGTH = 26;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CROCKFORD_VALUE = new Int8Array(128).fill(-1);
for (let v = 0; v < 32; v++) {
  CROCKFORD_VALUE[CROCKFORD.charCodeAt(v)] = v;
  CROCKFORD_VALUE[CROCKFORD.toLowerCase().charCodeAt(v)] = v;
}
// UUIDv7, canonical hyphenated form: version nibble 7, variant 10xx.
const UUID_V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function ulidTimeMs(id: string): number | null {
  if (id.charCodeAt(0) > 55) return null; // above '7': more than 48 bits of time, not a ULID
  let time = 0;
  for (let i = 0; i < ULID_LENGTH; i++) {
    const code = id.charCodeAt(i);
    const value = code < 128 ? CROCKFORD_VALUE[code]! : -1;
    if (value < 0) return null;
    // 10 × 5 bits, the first ≤ 7: at most 2^48 - 1, exact in a double.
    if (i < 10) time = time * 32 + value;
  }
  return time;
}

/** The time a ULID or UUIDv7 carries, in ms since the epoch; null for any other string. */
export function idTimeMs(id: string): number | null {
  if (id.length === ULID_LENGTH) return ulidTimeMs(id);
  if (id.length === 36 && UUID_V7_PATTERN.test(id)) {
    return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  }
  return null;
}

/**
 * The first 128 bits of SHA-256 over the UTF-8 bytes of `text`, big-endian. crypto.hash (Node ≥
 * 20.12) hashes in one call without a Hash object, several times cheaper than createHash for
 * short inputs; this runs twice per journal (its key and its content hash).
 */
export function sha256High128(text: string): bigint {
  const hex =
    typeof crypto.hash === 'function'
      ? crypto.hash('sha256', text, 'hex')
      : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
  return BigInt(`0x${hex.slice(0, 32)}`);
}

/** The leading `width` bits of SHA-256(id), nudged off all-zeros and all-ones. */
function hashBits(id: string, width: bigint): bigint {
  const bits = sha256High128(id) >> (128n - width);
  const max = (1n << width) - 1n;
  if (bits === 0n) return 1n;
  if (bits === max) return max - 1n;
  return bits;
}

/**
 * The id bits of a journal id (or an account id: any client string). Compute it once per journal
 * and derive every transfer id from it with transferIdFromKey.
 */
export function journalKey(id: string): JournalKey {
  const timeMs = idTimeMs(id);
  if (timeMs === null) {
    return { timeMs, bits: hashBits(id, HASH_BITS_UNTIMED) << LOW_BITS };
  }
  const time = BigInt(timeMs) << (128n - TIME_BITS);
  return { timeMs, bits: time | (hashBits(id, HASH_BITS_TIMED) << LOW_BITS) };
}

export function transferIdFromKey(key: JournalKey, phase: TransferPhase, index: number): bigint {
  if (!Number.isInteger(index) || index < 0 || index >= ID_INDEX_LIMIT) {
    throw new Error(`transfer index ${index} outside 0..${ID_INDEX_LIMIT - 1}`);
  }
  return key.bits | (PHASE_CODE[phase] << INDEX_BITS) | BigInt(index);
}

/** The id of transfer `index` of a journal's chain in the given phase. */
export function transferId(journalId: string, phase: TransferPhase, index: number): bigint {
  return transferIdFromKey(journalKey(journalId), phase, index);
}

/** The ids of a journal's chain in one phase: what the service looks up to post or void a hold. */
export function journalTransferIds(
  journalId: string,
  phase: TransferPhase,
  count: number,
): bigint[] {
  const key = journalKey(journalId);
  const ids: bigint[] = [];
  for (let index = 0; index < count; index++) ids.push(transferIdFromKey(key, phase, index));
  return ids;
}

/** The TigerBeetle account id of an account id string: same scheme, phase 3, index 0. */
export function accountLedgerId(accountId: string): bigint {
  return journalKey(accountId).bits | (ACCOUNT_PHASE_CODE << INDEX_BITS);
}
