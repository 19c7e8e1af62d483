/**
 * Hostile raw transfer batches: every field's wrong types, signs, sizes and overflows (400 naming
 * the field), envelopes of the wrong size, and transfers the ledger itself refuses (200 with
 * TigerBeetle's status per event). No case here may create a transfer: their accounts do not
 * exist (random ids of the run), so the reconciler has nothing of theirs to find.
 */
import { randomBytes } from 'node:crypto';
import { BATCH_EVENTS_MAX, U128_MAX, U64_MAX } from '../../../../ledger/port';
import type { RawRequest } from '../raw-client';
import { type HostileCase, json } from './world';

const ROUTE = 'POST /api/transfers/batch';

/** A u128 no account or transfer of any run has (random, as TigerBeetle's own tests pick). */
function randomU128(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`).toString();
}

/** A transfer between accounts that do not exist: the ledger refuses it, it never posts. */
function transfer(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: randomU128(),
    debit_account_id: randomU128(),
    credit_account_id: randomU128(),
    amount: '10',
    ledger: 1,
    code: 1,
    ...patch,
  };
}

const batch = (transfers: unknown[]) => (): RawRequest =>
  json('POST', '/api/transfers/batch', { transfers });

const FIELD_CASES: Array<[string, Record<string, unknown>, string]> = [
  ['id missing', { id: undefined }, 'id'],
  ['id negative', { id: '-1' }, 'id'],
  ['id 2^128', { id: (U128_MAX + 1n).toString() }, 'id'],
  ['id a number above 2^53', { id: 2 ** 53 }, 'id'],
  ['id fractional', { id: 1.5 }, 'id'],
  ['id in hex', { id: '0x10' }, 'id'],
  ['id with a leading zero', { id: '01' }, 'id'],
  ['id with spaces', { id: ' 1 ' }, 'id'],
  ['id with Arabic-Indic digits', { id: '١٢٣' }, 'id'],
  ['id an object', { id: { low: 1 } }, 'id'],
  ['id null', { id: null }, 'id'],
  ['id true', { id: true }, 'id'],
  ['debit_account_id an array', { debit_account_id: ['1'] }, 'debit_account_id'],
  ['credit_account_id empty', { credit_account_id: '' }, 'credit_account_id'],
  ['amount negative', { amount: -1 }, 'amount'],
  ['amount 2^128', { amount: (U128_MAX + 1n).toString() }, 'amount'],
  ['amount with an exponent', { amount: '1e3' }, 'amount'],
  ['ledger negative', { ledger: -1 }, 'ledger'],
  ['ledger 2^32', { ledger: 2 ** 32 }, 'ledger'],
  ['ledger a string', { ledger: '1' }, 'ledger'],
  ['code 2^16', { code: 65_536 }, 'code'],
  ['flags 2^16', { flags: 65_536 }, 'flags'],
  ['user_data_32 negative', { user_data_32: -1 }, 'user_data_32'],
  ['user_data_64 2^64', { user_data_64: (U64_MAX + 1n).toString() }, 'user_data_64'],
  ['timeout 2^32', { timeout: 2 ** 32 }, 'timeout'],
  ['timestamp 2^64', { timestamp: (U64_MAX + 1n).toString() }, 'timestamp'],
];

/** What TigerBeetle answers for a transfer it refuses: patch → status. */
const LEDGER_CASES: Array<[string, Record<string, unknown>, string]> = [
  ['accounts that do not exist', {}, 'debit_account_not_found'],
  ['id 0', { id: '0' }, 'id_must_not_be_zero'],
  ['id 2^128-1', { id: U128_MAX.toString() }, 'id_must_not_be_int_max'],
  ['debit account 0', { debit_account_id: '0' }, 'debit_account_id_must_not_be_zero'],
  ['credit account 0', { credit_account_id: '0' }, 'credit_account_id_must_not_be_zero'],
  [
    'the same account on both sides',
    { credit_account_id: '77', debit_account_id: '77' },
    'accounts_must_be_different',
  ],
  ['ledger 0', { ledger: 0 }, 'ledger_must_not_be_zero'],
  ['code 0', { code: 0 }, 'code_must_not_be_zero'],
  ['a timestamp', { timestamp: '1' }, 'timestamp_must_be_zero'],
  ['a reserved flag', { flags: 1 << 15 }, 'reserved_flag'],
  ['a pending_id without post or void', { pending_id: '5' }, 'pending_id_must_be_zero'],
  ['a timeout without pending', { timeout: 60 }, 'timeout_reserved_for_pending_transfer'],
  ['a linked chain left open', { flags: 1 }, 'linked_event_chain_open'],
];

export const TRANSFER_CASES: HostileCase[] = [
  ...FIELD_CASES.map(([name, patch, field]): HostileCase => ({
    name: `${ROUTE}: ${name}`,
    route: ROUTE,
    request: () => batch([transfer(), transfer(patch)])(),
    status: 400,
    code: 'field_invalid',
    field: `transfers[1].${field}`,
  })),
  {
    name: `${ROUTE}: an unknown field`,
    route: ROUTE,
    request: () => batch([transfer({ memo: 'x' })])(),
    status: 400,
    code: 'field_invalid',
    field: 'transfers[0]',
  },
  ...LEDGER_CASES.map(([name, patch, status]): HostileCase => ({
    name: `${ROUTE}: ${name}`,
    route: ROUTE,
    request: () => batch([transfer(patch)])(),
    status: 200,
    code: null,
    check: (a) => expect(a.json.results.map((r: { status: string }) => r.status)).toEqual([status]),
  })),
  {
    name: `${ROUTE}: a linked pair whose first fails`,
    route: ROUTE,
    request: () => batch([transfer({ flags: 1 }), transfer()])(),
    status: 200,
    code: null,
    check: (a) =>
      expect(a.json.results.map((r: { status: string }) => r.status)).toEqual([
        'debit_account_not_found',
        'linked_event_failed',
      ]),
  },
  {
    name: `${ROUTE}: ${BATCH_EVENTS_MAX + 1} transfers`,
    route: ROUTE,
    request: batch(Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => ({}))),
    status: 413,
    code: 'batch_too_large',
    field: 'transfers',
  },
  {
    name: `${ROUTE}: no transfers`,
    route: ROUTE,
    request: batch([]),
    status: 400,
    code: 'field_invalid',
    field: 'transfers',
  },
  {
    name: `${ROUTE}: transfers a string`,
    route: ROUTE,
    request: () => json('POST', '/api/transfers/batch', { transfers: 'all' }),
    status: 400,
    code: 'field_invalid',
    field: 'transfers',
  },
  {
    name: `${ROUTE}: a transfer that is a number`,
    route: ROUTE,
    request: batch([7]),
    status: 400,
    code: 'field_invalid',
    field: 'transfers[0]',
  },
];
