/**
 * The ledger change event: TigerBeetle's own change-data-capture message (`tigerbeetle amqp`,
 * docs/operating/cdc.md), read and written byte for byte in TigerBeetle's format.
 *
 * One event per transfer the ledger commits, and one more when a pending transfer expires:
 * `single_phase`, `two_phase_pending`, `two_phase_posted`, `two_phase_voided`,
 * `two_phase_expired`. Each carries the whole transfer and both accounts with their balances AS
 * OF the event, so a consumer never needs the previous event to know an account's totals.
 *
 * The format, as TigerBeetle 0.17.9 writes it (test/fixtures/cdc/ holds captured messages):
 * - UTF-8 JSON, no spaces, keys in a fixed order;
 * - a u64 or u128 is a JSON number when it is at most 2^53 − 1 and a decimal string above;
 *   u32/u16 fields are numbers;
 * - the transfer has no account ids or ledger: they are `debit_account.id`, `credit_account.id`
 *   and the top-level `ledger`;
 * - `timestamp` is the event's: the transfer's own, except for `two_phase_expired`, where it is
 *   the expiry's and `transfer` is the pending transfer that expired.
 *
 * The embedded engine encodes its events with `encodeChange` so the projections read one format
 * whatever the ledger; the decoder trusts nothing and answers every unreadable message with a
 * typed `EventDecodeError` the consumer can dead-letter.
 */
import { assert } from '../core/assert';
import {
  CHANGE_TYPES,
  type ChangeAccount,
  type ChangeTransfer,
  type ChangeType,
  type LedgerChange,
} from '../ledger/changes';
import { U128_MAX, U16_MAX, U32_MAX, U64_MAX } from '../ledger/port';
import { EventDecodeError } from './errors';

export { CHANGE_TYPES } from '../ledger/changes';
export type { ChangeAccount, ChangeTransfer, ChangeType, LedgerChange } from '../ledger/changes';

/** What the AMQP message says about itself (TigerBeetle's properties and headers). */
export const CHANGE_CONTENT_TYPE = 'application/json';
export const CHANGE_APP_ID = 'tigerbeetle';

/** Kafka headers the relay puts on each change record (the value is TigerBeetle's body as is). */
export const CHANGE_SCHEMA = 'tigerbeetle.cdc';
export const CHANGE_HEADERS = {
  schema: 'schema',
  contentType: 'content-type',
  /** The event's type (TigerBeetle's `event_type`): consumers that want one skip the rest unread. */
  type: 'event-type',
} as const;

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const TYPES: ReadonlySet<string> = new Set(CHANGE_TYPES);

/**
 * The checks, written out rather than through a schema library: the relay and the projections
 * decode every event, and a zod schema of this shape cost 90–145 µs per event against about
 * 15 µs for JSON.parse (measured). Unknown fields are ignored, as TigerBeetle's docs ask of a
 * consumer (a later release may add some); a missing or out-of-range field is refused, each
 * named in `issues`.
 */
class Reader {
  readonly issues: string[] = [];

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
    this.issues.push(`${path}: must be an object`);
    return {};
  }

  /** A u64 or u128: a safe integer number, or a canonical decimal string up to `max`. */
  wide(from: Record<string, unknown>, key: string, path: string, max: bigint): bigint {
    const value = from[key];
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value) && value >= 0) return BigInt(value);
    } else if (typeof value === 'string') {
      if (DECIMAL.test(value) && value.length <= 39) {
        const wide = BigInt(value);
        if (wide <= max) return wide;
      }
    }
    this.issues.push(`${path}${key}: must be a ${max === U64_MAX ? 'u64' : 'u128'}`);
    return 0n;
  }

  narrow(from: Record<string, unknown>, key: string, path: string, max: number): number {
    const value = from[key];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max) {
      return value;
    }
    this.issues.push(`${path}${key}: must be an integer 0 … ${max}`);
    return 0;
  }

  account(value: unknown, path: string): ChangeAccount {
    const a = this.object(value, path);
    const at = `${path}.`;
    return {
      id: this.wide(a, 'id', at, U128_MAX),
      debitsPending: this.wide(a, 'debits_pending', at, U128_MAX),
      debitsPosted: this.wide(a, 'debits_posted', at, U128_MAX),
      creditsPending: this.wide(a, 'credits_pending', at, U128_MAX),
      creditsPosted: this.wide(a, 'credits_posted', at, U128_MAX),
      userData128: this.wide(a, 'user_data_128', at, U128_MAX),
      userData64: this.wide(a, 'user_data_64', at, U64_MAX),
      userData32: this.narrow(a, 'user_data_32', at, U32_MAX),
      code: this.narrow(a, 'code', at, U16_MAX),
      flags: this.narrow(a, 'flags', at, U16_MAX),
      timestamp: this.wide(a, 'timestamp', at, U64_MAX),
    };
  }

  transfer(value: unknown): ChangeTransfer {
    const t = this.object(value, 'transfer');
    const at = 'transfer.';
    return {
      id: this.wide(t, 'id', at, U128_MAX),
      amount: this.wide(t, 'amount', at, U128_MAX),
      pendingId: this.wide(t, 'pending_id', at, U128_MAX),
      userData128: this.wide(t, 'user_data_128', at, U128_MAX),
      userData64: this.wide(t, 'user_data_64', at, U64_MAX),
      userData32: this.narrow(t, 'user_data_32', at, U32_MAX),
      timeout: this.narrow(t, 'timeout', at, U32_MAX),
      code: this.narrow(t, 'code', at, U16_MAX),
      flags: this.narrow(t, 'flags', at, U16_MAX),
      timestamp: this.wide(t, 'timestamp', at, U64_MAX),
    };
  }
}

/** Reads one change message; every failure is an `EventDecodeError` to dead-letter. */
export function decodeChange(value: Buffer | Uint8Array | string | null): LedgerChange {
  if (value === null) throw new EventDecodeError('malformed', 'change message has no value');
  let parsed: unknown;
  try {
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
    parsed = JSON.parse(text);
  } catch (error) {
    throw new EventDecodeError('malformed', `change message is not JSON: ${String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EventDecodeError('malformed', 'change message is not a JSON object');
  }
  const event = parsed as Record<string, unknown>;
  const read = new Reader();
  const type = event.type;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    read.issues.push(`type: must be one of ${CHANGE_TYPES.join(', ')}`);
  }
  const change: LedgerChange = {
    timestamp: read.wide(event, 'timestamp', '', U64_MAX),
    type: type as ChangeType,
    ledger: read.narrow(event, 'ledger', '', U32_MAX),
    transfer: read.transfer(event.transfer),
    debitAccount: read.account(event.debit_account, 'debit_account'),
    creditAccount: read.account(event.credit_account, 'credit_account'),
  };
  if (read.issues.length === 0 && change.debitAccount.id === change.creditAccount.id) {
    read.issues.push('credit_account.id: equals debit_account.id');
  }
  if (read.issues.length > 0) {
    throw new EventDecodeError('invalid_event', `invalid change event: ${read.issues.join('; ')}`, {
      issues: read.issues,
    });
  }
  return change;
}

/** A u64/u128 as TigerBeetle writes it: a number up to 2^53 − 1, a string above. */
function wideJson(value: bigint): string {
  return value <= SAFE_MAX ? value.toString() : `"${value}"`;
}

function accountJson(a: ChangeAccount): string {
  return (
    `{"id":${wideJson(a.id)},"debits_pending":${wideJson(a.debitsPending)},` +
    `"debits_posted":${wideJson(a.debitsPosted)},"credits_pending":${wideJson(a.creditsPending)},` +
    `"credits_posted":${wideJson(a.creditsPosted)},"user_data_128":${wideJson(a.userData128)},` +
    `"user_data_64":${wideJson(a.userData64)},"user_data_32":${a.userData32},"code":${a.code},` +
    `"flags":${a.flags},"timestamp":${wideJson(a.timestamp)}}`
  );
}

/** Encodes an event exactly as `tigerbeetle amqp` does (the engine's feed uses it). */
export function encodeChange(change: LedgerChange): Buffer {
  const { transfer: t } = change;
  assert(CHANGE_TYPES.includes(change.type), `unknown change type ${change.type}`);
  assert(change.debitAccount.id !== change.creditAccount.id, 'change on one account twice');
  const json =
    `{"timestamp":${wideJson(change.timestamp)},"type":"${change.type}","ledger":${change.ledger},` +
    `"transfer":{"id":${wideJson(t.id)},"amount":${wideJson(t.amount)},` +
    `"pending_id":${wideJson(t.pendingId)},"user_data_128":${wideJson(t.userData128)},` +
    `"user_data_64":${wideJson(t.userData64)},"user_data_32":${t.userData32},` +
    `"timeout":${t.timeout},"code":${t.code},"flags":${t.flags},` +
    `"timestamp":${wideJson(t.timestamp)}},` +
    `"debit_account":${accountJson(change.debitAccount)},` +
    `"credit_account":${accountJson(change.creditAccount)}}`;
  return Buffer.from(json, 'utf8');
}

/** The AMQP message properties `tigerbeetle amqp` publishes with (amqplib's option names). */
export function changeAmqpProperties(change: LedgerChange): {
  contentType: string;
  appId: string;
  deliveryMode: 2;
  timestamp: number;
  headers: Record<string, string | number>;
} {
  return {
    contentType: CHANGE_CONTENT_TYPE,
    appId: CHANGE_APP_ID,
    deliveryMode: 2,
    // AMQP timestamps are seconds: TigerBeetle truncates, so do we.
    timestamp: Number(change.timestamp / 1_000_000_000n),
    headers: {
      event_type: change.type,
      ledger: change.ledger,
      transfer_code: change.transfer.code,
      debit_account_code: change.debitAccount.code,
      credit_account_code: change.creditAccount.code,
    },
  };
}

/** The account a change record is keyed by, and which side of the transfer it is. */
export type ChangeSide = 'debit' | 'credit';

/**
 * The side of `change` that the Kafka record keyed `key` carries: the relay writes each event
 * twice, once keyed by each account's id, so every account's events stay in order on one
 * partition. Null when the key names neither account (a foreign or corrupt record).
 */
export function sideOfKey(change: LedgerChange, key: string): ChangeSide | null {
  if (key === change.debitAccount.id.toString()) return 'debit';
  if (key === change.creditAccount.id.toString()) return 'credit';
  return null;
}

/** The Kafka keys of an event's two records, debit side first. */
export function changeKeys(change: Pick<LedgerChange, 'debitAccount' | 'creditAccount'>): {
  debit: string;
  credit: string;
} {
  return { debit: change.debitAccount.id.toString(), credit: change.creditAccount.id.toString() };
}
