/**
 * Wire-range checks for events crossing the Ledger port.
 *
 * TigerBeetle's client refuses, before sending, any field that does not fit its integer width
 * (u128 ids and amounts, u64, u32, u16 fields). Both adapters run these checks so bad input is a
 * typed `LedgerError('invalid_event')` naming the event and field, never a crash or a silently
 * truncated value. Semantic checks (ids of zero, reserved flags, ...) are not here: those are
 * TigerBeetle statuses, returned per event by the engine or the cluster.
 */
import {
  type Account,
  type AccountFilter,
  BATCH_EVENTS_MAX,
  LedgerError,
  type QueryFilter,
  type Transfer,
  U128_MAX,
  U16_MAX,
  U32_MAX,
  U64_MAX,
} from './port';

type Width = 'u128' | 'u64' | 'u32' | 'u16';

const ACCOUNT_FIELDS: ReadonlyArray<readonly [keyof Account, Width]> = [
  ['id', 'u128'],
  ['debits_pending', 'u128'],
  ['debits_posted', 'u128'],
  ['credits_pending', 'u128'],
  ['credits_posted', 'u128'],
  ['user_data_128', 'u128'],
  ['user_data_64', 'u64'],
  ['user_data_32', 'u32'],
  ['reserved', 'u32'],
  ['ledger', 'u32'],
  ['code', 'u16'],
  ['flags', 'u16'],
  ['timestamp', 'u64'],
];

const TRANSFER_FIELDS: ReadonlyArray<readonly [keyof Transfer, Width]> = [
  ['id', 'u128'],
  ['debit_account_id', 'u128'],
  ['credit_account_id', 'u128'],
  ['amount', 'u128'],
  ['pending_id', 'u128'],
  ['user_data_128', 'u128'],
  ['user_data_64', 'u64'],
  ['user_data_32', 'u32'],
  ['timeout', 'u32'],
  ['ledger', 'u32'],
  ['code', 'u16'],
  ['flags', 'u16'],
  ['timestamp', 'u64'],
];

const ACCOUNT_FILTER_FIELDS: ReadonlyArray<readonly [keyof AccountFilter, Width]> = [
  ['account_id', 'u128'],
  ['user_data_128', 'u128'],
  ['user_data_64', 'u64'],
  ['user_data_32', 'u32'],
  ['code', 'u16'],
  ['timestamp_min', 'u64'],
  ['timestamp_max', 'u64'],
  ['limit', 'u32'],
  ['flags', 'u32'],
];

const QUERY_FILTER_FIELDS: ReadonlyArray<readonly [keyof QueryFilter, Width]> = [
  ['user_data_128', 'u128'],
  ['user_data_64', 'u64'],
  ['user_data_32', 'u32'],
  ['ledger', 'u32'],
  ['code', 'u16'],
  ['timestamp_min', 'u64'],
  ['timestamp_max', 'u64'],
  ['limit', 'u32'],
  ['flags', 'u32'],
];

function fits(value: unknown, width: Width): boolean {
  switch (width) {
    case 'u128':
      return typeof value === 'bigint' && value >= 0n && value <= U128_MAX;
    case 'u64':
      return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
    case 'u32':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= U32_MAX;
    case 'u16':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= U16_MAX;
  }
}

function checkFields<T extends object>(
  event: T | undefined,
  fields: ReadonlyArray<readonly [keyof T, Width]>,
  what: string,
  index: number,
): void {
  if (typeof event !== 'object' || event === null) {
    throw new LedgerError('invalid_event', `${what}[${index}] is not an object`, index);
  }
  for (const [field, width] of fields) {
    const value: unknown = event[field];
    if (!fits(value, width)) {
      throw new LedgerError(
        'invalid_event',
        `${what}[${index}].${String(field)} must be a ${width}` +
          ` (${width === 'u128' || width === 'u64' ? 'bigint' : 'integer'}), got ${String(value)}`,
        index,
      );
    }
  }
}

export function assertBatchSize(length: number, what: string): void {
  if (length > BATCH_EVENTS_MAX) {
    throw new LedgerError(
      'too_much_data',
      `${what}: ${length} events exceed the batch limit of ${BATCH_EVENTS_MAX}`,
    );
  }
}

export function checkAccountsWire(batch: readonly Account[]): void {
  assertBatchSize(batch.length, 'create_accounts');
  for (let i = 0; i < batch.length; i++)
    checkFields<Account>(batch[i], ACCOUNT_FIELDS, 'accounts', i);
}

export function checkTransfersWire(batch: readonly Transfer[]): void {
  assertBatchSize(batch.length, 'create_transfers');
  for (let i = 0; i < batch.length; i++)
    checkFields<Transfer>(batch[i], TRANSFER_FIELDS, 'transfers', i);
}

export function checkIdsWire(ids: readonly bigint[], what: string): void {
  assertBatchSize(ids.length, what);
  for (let i = 0; i < ids.length; i++) {
    if (!fits(ids[i], 'u128')) {
      throw new LedgerError('invalid_event', `${what}[${i}] must be a u128 bigint`, i);
    }
  }
}

export function checkAccountFilterWire(filter: AccountFilter): void {
  checkFields(filter, ACCOUNT_FILTER_FIELDS, 'account_filter', 0);
}

export function checkQueryFilterWire(filter: QueryFilter): void {
  checkFields(filter, QUERY_FILTER_FIELDS, 'query_filter', 0);
}
