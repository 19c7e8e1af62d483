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
import { z } from 'zod';
import { assert } from '../core/assert';
import { U128_MAX, U16_MAX, U32_MAX, U64_MAX } from '../ledger/port';
import { EventDecodeError } from './errors';

export const CHANGE_TYPES = [
  'single_phase',
  'two_phase_pending',
  'two_phase_posted',
  'two_phase_voided',
  'two_phase_expired',
] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** A TigerBeetle account as of one event (tigerbeetle-node's Account less `ledger`/`reserved`). */
export interface ChangeAccount {
  id: bigint;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  userData128: bigint;
  userData64: bigint;
  userData32: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

/** The transfer of an event (no account ids or ledger: see the event). */
export interface ChangeTransfer {
  id: bigint;
  amount: bigint;
  pendingId: bigint;
  userData128: bigint;
  userData64: bigint;
  userData32: number;
  timeout: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

export interface LedgerChange {
  /** The event's TigerBeetle timestamp (ns): unique per event, the feed's order. */
  timestamp: bigint;
  type: ChangeType;
  ledger: number;
  transfer: ChangeTransfer;
  debitAccount: ChangeAccount;
  creditAccount: ChangeAccount;
}

/** What the AMQP message says about itself (TigerBeetle's properties and headers). */
export const CHANGE_CONTENT_TYPE = 'application/json';
export const CHANGE_APP_ID = 'tigerbeetle';

/** Kafka headers the relay puts on each change record (the value is TigerBeetle's body as is). */
export const CHANGE_SCHEMA = 'tigerbeetle.cdc';
export const CHANGE_HEADERS = {
  schema: 'schema',
  contentType: 'content-type',
} as const;

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

function wide(name: string, max: bigint) {
  return z.union([z.number(), z.string()]).transform((value, ctx): bigint => {
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value) && value >= 0) return BigInt(value);
      ctx.addIssue({ code: 'custom', message: `${name} must be a non-negative safe integer` });
      return z.NEVER;
    }
    if (/^(0|[1-9][0-9]*)$/.test(value) && value.length <= 39 && BigInt(value) <= max) {
      return BigInt(value);
    }
    ctx.addIssue({ code: 'custom', message: `${name} must be a decimal ${name} string` });
    return z.NEVER;
  });
}

const u128 = wide('u128', U128_MAX);
const u64 = wide('u64', U64_MAX);
const u32 = z.number().int().min(0).max(U32_MAX);
const u16 = z.number().int().min(0).max(U16_MAX);

const accountSchema = z
  .object({
    id: u128,
    debits_pending: u128,
    debits_posted: u128,
    credits_pending: u128,
    credits_posted: u128,
    user_data_128: u128,
    user_data_64: u64,
    user_data_32: u32,
    code: u16,
    flags: u16,
    timestamp: u64,
  })
  .transform((a): ChangeAccount => ({
    id: a.id,
    debitsPending: a.debits_pending,
    debitsPosted: a.debits_posted,
    creditsPending: a.credits_pending,
    creditsPosted: a.credits_posted,
    userData128: a.user_data_128,
    userData64: a.user_data_64,
    userData32: a.user_data_32,
    code: a.code,
    flags: a.flags,
    timestamp: a.timestamp,
  }));

const transferSchema = z
  .object({
    id: u128,
    amount: u128,
    pending_id: u128,
    user_data_128: u128,
    user_data_64: u64,
    user_data_32: u32,
    timeout: u32,
    code: u16,
    flags: u16,
    timestamp: u64,
  })
  .transform((t): ChangeTransfer => ({
    id: t.id,
    amount: t.amount,
    pendingId: t.pending_id,
    userData128: t.user_data_128,
    userData64: t.user_data_64,
    userData32: t.user_data_32,
    timeout: t.timeout,
    code: t.code,
    flags: t.flags,
    timestamp: t.timestamp,
  }));

// Not strict: a later TigerBeetle may add fields, and ignoring them is what its docs ask of a
// consumer. Missing or out-of-range fields are refused.
const changeSchema = z
  .object({
    timestamp: u64,
    type: z.enum(CHANGE_TYPES),
    ledger: u32,
    transfer: transferSchema,
    debit_account: accountSchema,
    credit_account: accountSchema,
  })
  .transform((e): LedgerChange => ({
    timestamp: e.timestamp,
    type: e.type,
    ledger: e.ledger,
    transfer: e.transfer,
    debitAccount: e.debit_account,
    creditAccount: e.credit_account,
  }));

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
  const result = changeSchema.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EventDecodeError('invalid_event', `invalid change event: ${issues.join('; ')}`, {
      issues,
    });
  }
  const change = result.data;
  if (change.debitAccount.id === change.creditAccount.id) {
    throw new EventDecodeError('invalid_event', 'change event debits and credits one account', {
      issues: ['credit_account.id: equals debit_account.id'],
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
