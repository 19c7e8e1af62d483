/**
 * Shared fixtures for the journal tests: a valid body, an account registry, and the tables of bad
 * inputs with the error each must produce. errors.test.ts checks that the tables cover every code.
 */
import type { JournalErrorCode } from '../../../bridge/src/journal/errors';
import type { AccountRef } from '../../../bridge/src/journal/plan';
import { accountLedgerId } from '../../../ledger/ids';
import { U128_MAX } from '../../../ledger/port';

export type Body = Record<string, unknown>;
type Line = Record<string, unknown>;

export const ULID = '01HV5Z7Q8Y0000000000000000';

export function validBody(): Body {
  return {
    journalId: ULID,
    date: '2024-03-01',
    description: 'March rent',
    source: 'k6',
    lines: [
      { accountId: 'cash', lineType: 'DEBIT', amount: '1500', lineNumber: 1 },
      { accountId: 'rent', lineType: 'CREDIT', amount: 1500, lineNumber: 2 },
    ],
  };
}

export function ref(accountId: string, asset: string): AccountRef {
  const ledgers: Record<string, number> = { USD: 840, EUR: 978, BTC: 9001 };
  return {
    accountId,
    ledgerId: accountLedgerId(accountId),
    ledger: ledgers[asset]!,
    asset,
    scale: asset === 'BTC' ? 8 : 2,
    holderId: 'holder',
  };
}

export const ACCOUNTS: ReadonlyMap<string, AccountRef> = new Map(
  [
    ref('cash', 'USD'),
    ref('rent', 'USD'),
    ref('fees', 'USD'),
    ref('tax', 'USD'),
    ref('eur-cash', 'EUR'),
    ref('eur-sales', 'EUR'),
  ].map((r) => [r.accountId, r]),
);

function withLines(lines: Line[]): (b: Body) => Body {
  return (b) => ({ ...b, lines });
}

function setLine(index: number, patch: Line): (b: Body) => Body {
  return (b) => {
    const lines = (b.lines as Line[]).map((l) => ({ ...l }));
    lines[index] = { ...lines[index], ...patch };
    return { ...b, lines };
  };
}

function dropLineKey(index: number, key: string): (b: Body) => Body {
  return (b) => {
    const lines = (b.lines as Line[]).map((l) => ({ ...l }));
    delete lines[index]![key];
    return { ...b, lines };
  };
}

function set(key: string, value: unknown): (b: Body) => Body {
  return (b) => ({ ...b, [key]: value });
}

function drop(key: string): (b: Body) => Body {
  return (b) => {
    const copy = { ...b };
    delete copy[key];
    return copy;
  };
}

const line = (accountId: string, lineType: string, amount: unknown, lineNumber: number): Line => ({
  accountId,
  lineType,
  amount,
  lineNumber,
});

export interface Case {
  name: string;
  make: (b: Body) => unknown;
  code: JournalErrorCode;
  field?: string;
  line?: number;
}

/** parseJournal: body → the first problem's code, field and line. */
export const SCHEMA_CASES: Case[] = [
  { name: 'body is an array', make: () => [], code: 'invalid_body' },
  { name: 'body is a string', make: () => 'journal', code: 'invalid_body' },
  { name: 'body is null', make: () => null, code: 'invalid_body' },
  {
    name: 'journalId missing',
    make: drop('journalId'),
    code: 'field_required',
    field: 'journalId',
  },
  { name: 'source missing', make: drop('source'), code: 'field_required', field: 'source' },
  { name: 'lines missing', make: drop('lines'), code: 'field_required', field: 'lines' },
  {
    name: 'amount missing',
    make: dropLineKey(1, 'amount'),
    code: 'field_required',
    field: 'lines[1].amount',
    line: 2,
  },
  {
    name: 'timeoutSeconds missing',
    make: set('pending', {}),
    code: 'field_required',
    field: 'pending.timeoutSeconds',
  },
  {
    name: 'journalId with a space',
    make: set('journalId', 'a b'),
    code: 'field_invalid',
    field: 'journalId',
  },
  {
    name: 'journalId empty',
    make: set('journalId', ''),
    code: 'field_invalid',
    field: 'journalId',
  },
  {
    name: 'journalId of 129 chars',
    make: set('journalId', 'x'.repeat(129)),
    code: 'field_invalid',
    field: 'journalId',
  },
  {
    name: 'journalId a number',
    make: set('journalId', 7),
    code: 'field_invalid',
    field: 'journalId',
  },
  { name: 'date not real', make: set('date', '2023-02-29'), code: 'field_invalid', field: 'date' },
  {
    name: 'date local time',
    make: set('date', '2024-03-01T10:00'),
    code: 'field_invalid',
    field: 'date',
  },
  {
    name: 'date before 1970',
    make: set('date', '1969-12-31'),
    code: 'field_invalid',
    field: 'date',
  },
  { name: 'date a number', make: set('date', 20240301), code: 'field_invalid', field: 'date' },
  { name: 'date null', make: set('date', null), code: 'field_invalid', field: 'date' },
  {
    name: 'description of 1025 chars',
    make: set('description', 'd'.repeat(1025)),
    code: 'field_invalid',
    field: 'description',
  },
  {
    name: 'description with U+0000',
    make: set('description', 'a\u0000b'),
    code: 'field_invalid',
    field: 'description',
  },
  {
    name: 'description with a lone surrogate',
    make: set('description', 'a\ud800b'),
    code: 'field_invalid',
    field: 'description',
  },
  {
    name: 'source with U+0000',
    make: set('source', '\u0000'),
    code: 'field_invalid',
    field: 'source',
  },
  {
    name: 'source with a lone low surrogate',
    make: set('source', 'x\udc00'),
    code: 'field_invalid',
    field: 'source',
  },
  { name: 'source empty', make: set('source', ''), code: 'field_invalid', field: 'source' },
  {
    name: 'source of 65 chars',
    make: set('source', 's'.repeat(65)),
    code: 'field_invalid',
    field: 'source',
  },
  { name: 'lines an object', make: set('lines', {}), code: 'field_invalid', field: 'lines' },
  {
    name: 'a line is a number',
    make: (b) => ({ ...b, lines: [(b.lines as Line[])[0], 5] }),
    code: 'field_invalid',
    field: 'lines[1]',
  },
  {
    name: 'accountId invalid',
    make: setLine(0, { accountId: 'cash/usd' }),
    code: 'field_invalid',
    field: 'lines[0].accountId',
    line: 1,
  },
  {
    name: 'lineType lower case',
    make: setLine(1, { lineType: 'credit' }),
    code: 'field_invalid',
    field: 'lines[1].lineType',
    line: 2,
  },
  {
    name: 'lineNumber zero (no line to name)',
    make: setLine(1, { lineNumber: 0 }),
    code: 'field_invalid',
    field: 'lines[1].lineNumber',
  },
  {
    name: 'lineNumber fractional',
    make: setLine(1, { lineNumber: 1.5 }),
    code: 'field_invalid',
    field: 'lines[1].lineNumber',
  },
  {
    name: 'lineNumber above 10000',
    make: setLine(1, { lineNumber: 10_001 }),
    code: 'field_invalid',
    field: 'lines[1].lineNumber',
  },
  {
    name: 'lineNumber a string',
    make: setLine(1, { lineNumber: '2' }),
    code: 'field_invalid',
    field: 'lines[1].lineNumber',
  },
  { name: 'pending a number', make: set('pending', 60), code: 'field_invalid', field: 'pending' },
  { name: 'unknown body key', make: set('pendng', 1), code: 'unknown_field', field: 'pendng' },
  {
    name: 'unknown line key',
    make: setLine(1, { memo: 'x' }),
    code: 'unknown_field',
    field: 'lines[1].memo',
    line: 2,
  },
  {
    name: 'unknown pending key',
    make: set('pending', { timeoutSeconds: 60, at: 1 }),
    code: 'unknown_field',
    field: 'pending.at',
  },
  { name: 'no lines', make: withLines([]), code: 'too_few_lines', field: 'lines' },
  {
    name: 'one line',
    make: withLines([line('cash', 'DEBIT', 1, 1)]),
    code: 'too_few_lines',
    field: 'lines',
  },
  {
    name: '65 lines',
    make: withLines(
      Array.from({ length: 65 }, (_, i) => line('cash', i === 0 ? 'DEBIT' : 'CREDIT', 1, i + 1)),
    ),
    code: 'too_many_lines',
    field: 'lines',
  },
  {
    name: 'lineNumber used twice',
    make: withLines([line('cash', 'DEBIT', 5, 7), line('rent', 'CREDIT', 5, 7)]),
    code: 'duplicate_line_number',
    field: 'lines[1].lineNumber',
    line: 7,
  },
  ...(
    [
      ['decimal point', '1.5'],
      ['sign', '-5'],
      ['plus sign', '+5'],
      ['exponent', '1e3'],
      ['leading zero', '007'],
      ['space', ' 1'],
      ['empty string', ''],
      ['hex', '0x10'],
      ['fraction number', 1.5],
      ['unsafe number', 2 ** 53],
      ['boolean', true],
      ['null', null],
      ['object', { value: 1 }],
    ] as const
  ).map(([what, amount]): Case => ({
    name: `amount: ${what}`,
    make: setLine(0, { amount }),
    code: 'amount_invalid',
    field: 'lines[0].amount',
    line: 1,
  })),
  ...(
    [
      ['zero number', 0],
      ['zero string', '0'],
      ['negative number', -1],
      ['2^128', (U128_MAX + 1n).toString()],
      ['40 digits', '9'.repeat(40)],
    ] as const
  ).map(([what, amount]): Case => ({
    name: `amount: ${what}`,
    make: setLine(0, { amount }),
    code: 'amount_out_of_range',
    field: 'lines[0].amount',
    line: 1,
  })),
  ...([0, -1, 1.5, 2 ** 32, '60', null] as const).map((timeoutSeconds): Case => ({
    name: `timeoutSeconds ${JSON.stringify(timeoutSeconds)}`,
    make: set('pending', { timeoutSeconds }),
    code: 'timeout_invalid',
    field: 'pending.timeoutSeconds',
  })),
];

/** planJournal: a valid body that the ledger cannot take → code, field, line. */
export const PLAN_CASES: Case[] = [
  {
    name: 'unknown account',
    make: setLine(1, { accountId: 'ghost' }),
    code: 'account_not_found',
    field: 'lines[1].accountId',
    line: 2,
  },
  {
    name: 'debits exceed credits',
    make: setLine(1, { amount: 1400 }),
    code: 'unbalanced_journal',
    field: 'lines',
  },
  {
    name: 'two debits, no credit',
    make: withLines([line('cash', 'DEBIT', 5, 1), line('rent', 'DEBIT', 5, 2)]),
    code: 'unbalanced_journal',
    field: 'lines',
  },
  {
    name: 'USD debit against EUR credit',
    make: withLines([line('cash', 'DEBIT', 5, 1), line('eur-sales', 'CREDIT', 5, 2)]),
    code: 'asset_mismatch',
    field: 'lines[0].accountId',
    line: 1,
  },
  {
    name: 'an account paying itself',
    make: withLines([line('cash', 'DEBIT', 5, 1), line('cash', 'CREDIT', 5, 2)]),
    code: 'self_transfer',
    field: 'lines[0].accountId',
    line: 1,
  },
  {
    name: 'an account paying itself in part',
    make: withLines([
      line('fees', 'DEBIT', 10, 1),
      line('fees', 'CREDIT', 4, 2),
      line('cash', 'CREDIT', 6, 3),
    ]),
    code: 'self_transfer',
    field: 'lines[0].accountId',
    line: 1,
  },
];

/** planHoldResolution and parseHoldPost: codes they raise (exercised in plan.test.ts). */
export const HOLD_CODES: JournalErrorCode[] = [
  'journal_not_found',
  'journal_not_pending',
  'hold_partial_unsupported',
  'hold_amount_exceeds_pending',
  'amount_out_of_range',
];

/** parseJournalBatch's envelope codes (exercised in schema.test.ts). */
export const BATCH_CODES: JournalErrorCode[] = [
  'invalid_body',
  'field_required',
  'field_invalid',
  'too_many_journals',
  'unknown_field',
];

/** Codes raised outside these modules, with where; still defined here so the table is whole. */
export const RAISED_ELSEWHERE: Partial<Record<JournalErrorCode, string>> = {
  invalid_json: 'the HTTP body reader, when JSON.parse fails',
  journal_conflict: "the journal service, on TigerBeetle's exists_with_different_* statuses",
  journal_rejected: 'the journal service, when the ledger refuses the chain (test/http)',
};
