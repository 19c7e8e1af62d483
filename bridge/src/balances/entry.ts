/**
 * One cached balance: the account's balances as a ledger lookup returned them, the ledger
 * timestamp the lookup is known to follow (`asOfNs`: every write stamped ≤ it is included), and
 * the wall-clock time it was read (for the age a response reports).
 *
 * In Redis the entry is compact JSON with the u128 fields as decimal strings, and `asOfNs` padded
 * to 20 digits so that Lua can compare timestamps as strings (a Lua number is a double: 19-digit
 * nanosecond timestamps would lose their last digits).
 */
import type { AccountBalances } from './view';

export interface CachedBalance {
  balances: AccountBalances;
  asOfNs: bigint;
  fetchedAtMs: number;
}

interface WireEntry {
  dp: string;
  cp: string;
  dq: string;
  cq: string;
  t: string;
  a: string;
  f: number;
}

const U128_DECIMAL = /^(0|[1-9][0-9]{0,38})$/;
const U64_PADDED = /^[0-9]{20}$/;

/** A u64 timestamp as 20 digits, so string order is numeric order. */
export function padTimestamp(ns: bigint): string {
  return ns.toString().padStart(20, '0');
}

export function encodeEntry(entry: CachedBalance): string {
  const b = entry.balances;
  const wire: WireEntry = {
    dp: b.debits_posted.toString(),
    cp: b.credits_posted.toString(),
    dq: b.debits_pending.toString(),
    cq: b.credits_pending.toString(),
    t: b.timestamp.toString(),
    a: padTimestamp(entry.asOfNs),
    f: entry.fetchedAtMs,
  };
  return JSON.stringify(wire);
}

function u128(text: unknown): bigint {
  if (typeof text !== 'string' || !U128_DECIMAL.test(text)) {
    throw new Error(`cached balance field '${String(text).slice(0, 40)}' is not a u128`);
  }
  return BigInt(text);
}

/** The entry in `text`; throws on anything this code did not write (a foreign key, a bug). */
export function decodeEntry(text: string): CachedBalance {
  const wire = JSON.parse(text) as Partial<WireEntry>;
  if (typeof wire.a !== 'string' || !U64_PADDED.test(wire.a)) {
    throw new Error('cached balance without a valid asOf timestamp');
  }
  if (typeof wire.f !== 'number' || !Number.isFinite(wire.f)) {
    throw new Error('cached balance without a fetch time');
  }
  return {
    balances: {
      debits_posted: u128(wire.dp),
      credits_posted: u128(wire.cp),
      debits_pending: u128(wire.dq),
      credits_pending: u128(wire.cq),
      timestamp: u128(wire.t),
    },
    asOfNs: BigInt(wire.a),
    fetchedAtMs: wire.f,
  };
}
