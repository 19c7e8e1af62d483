/**
 * Hostile journals: every schema and plan case of the journal tables (test/support/journal/
 * cases.ts) with this run's ids, then numbers, dates, text and ids chosen to slip past a parser
 * (Infinity, -0, surrogates, normalisation forms, homoglyphs, u128 overflow in the ledger),
 * retries and conflicts, bulk envelopes and holds resolved in ways the ledger refuses.
 */
import { JOURNAL_ERRORS } from '../../../../bridge/src/journal/errors';
import { U128_MAX } from '../../../../ledger/port';
import { type Case, PLAN_CASES, SCHEMA_CASES, ULID, validBody } from '../../journal/cases';
import type { RawAnswer } from '../raw-client';
import {
  type HostileCase,
  json,
  journalBody,
  postJournal,
  type World,
  WORLD_ACCOUNTS,
} from './world';

const JOURNAL = 'POST /api/journal';
const BULK = 'POST /api/journals/batch';

/** A table body with this run's ids: its accounts are the world's, its journal id the run's. */
function localize(body: unknown, w: World, journalId: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...body };
  if (copy.journalId === ULID) copy.journalId = journalId;
  if (Array.isArray(copy.lines)) {
    copy.lines = copy.lines.map((line: unknown) => {
      const l = line as { accountId?: unknown };
      if (typeof line !== 'object' || line === null || typeof l.accountId !== 'string') return line;
      const known = l.accountId in WORLD_ACCOUNTS || l.accountId === 'ghost';
      return known ? { ...line, accountId: w.id(l.accountId) } : line;
    });
  }
  return copy;
}

function tableCase(kind: string, c: Case, index: number): HostileCase {
  return {
    name: `${JOURNAL}: ${kind} ${c.name}`,
    route: JOURNAL,
    request: (w) =>
      json('POST', '/api/journal', localize(c.make(validBody()), w, w.id(`${kind}-${index}`))),
    status: JOURNAL_ERRORS[c.code].httpStatus,
    code: c.code,
    field: c.field,
    check: c.line === undefined ? undefined : (a) => expect(a.json.error.line).toBe(c.line),
  };
}

const cashToRent = (w: World, amount: number | string) =>
  [
    [w.id('cash'), 'DEBIT', amount],
    [w.id('rent'), 'CREDIT', amount],
  ] as const;

/** A journal body as text with `amount` spliced in raw (JSON.stringify cannot write 1e400). */
function rawAmount(w: World, name: string, amount: string): (w: World) => ReturnType<typeof json> {
  return () => {
    const text = JSON.stringify(journalBody(w.id(name), cashToRent(w, 0)));
    return {
      ...json('POST', '/api/journal', {}),
      body: text.replace(/"amount":0/, `"amount":${amount}`),
    };
  };
}

type Body = Record<string, unknown>;

type Own = [string, (w: World) => unknown, number, string | null, string?];

const OWN: Own[] = [
  [
    'a journal whose text is emoji, combining marks, RTL and zero-width characters',
    (w) =>
      journalBody(w.id('unicode'), cashToRent(w, 1), {
        description: 'café\u0301 🧾 \u202Egnp.exe\u202C a\u200Db \u{10FFFF}',
        source: '東京/ü',
      }),
    201,
    null,
  ],
  [
    'a description of 512 emoji (1,024 UTF-16 units)',
    (w) => journalBody(w.id('emoji-512'), cashToRent(w, 1), { description: '😀'.repeat(512) }),
    201,
    null,
  ],
  [
    'a description of 513 emoji (1,026 UTF-16 units)',
    (w) => journalBody(w.id('emoji-513'), cashToRent(w, 1), { description: '😀'.repeat(513) }),
    400,
    'field_invalid',
    'description',
  ],
  [
    'a journalId in NFD with an accent',
    (w) => journalBody(`${w.id('e')}\u0301`, cashToRent(w, 1)),
    400,
    'field_invalid',
    'journalId',
  ],
  [
    'a journalId with a Cyrillic homoglyph',
    (w) => journalBody(`${w.id('j')}\u0430`, cashToRent(w, 1)),
    400,
    'field_invalid',
    'journalId',
  ],
  [
    'an accountId with a Cyrillic homoglyph',
    (w) =>
      journalBody(w.id('homoglyph'), [
        [w.id('c\u0430sh'), 'DEBIT', 1],
        [w.id('rent'), 'CREDIT', 1],
      ]),
    400,
    'field_invalid',
    'lines[0].accountId',
  ],
  [
    'an accountId with fullwidth letters',
    (w) =>
      journalBody(w.id('fullwidth'), [
        [w.id('ｃａｓｈ'), 'DEBIT', 1],
        [w.id('rent'), 'CREDIT', 1],
      ]),
    400,
    'field_invalid',
    'lines[0].accountId',
  ],
  [
    'a journalId with a percent-encoded NUL as text',
    (w) => journalBody(`${w.id('j')}%00`, cashToRent(w, 1)),
    400,
    'field_invalid',
    'journalId',
  ],
  [
    'amounts of 2^53 as strings',
    (w) => journalBody(w.id('2p53'), cashToRent(w, '9007199254740992')),
    201,
    null,
  ],
  [
    'amounts of 2^53-1 as numbers',
    (w) => journalBody(w.id('2p53m1'), cashToRent(w, 9007199254740991)),
    201,
    null,
  ],
  [
    '2^128-1 on an account that already has a balance',
    (w) => journalBody(w.id('u128'), cashToRent(w, U128_MAX.toString())),
    422,
    'journal_rejected',
  ],
  [
    'a debit that would take a wallet below zero',
    (w) =>
      journalBody(w.id('overdraft'), [
        [w.id('wallet'), 'DEBIT', 5],
        [w.id('cash'), 'CREDIT', 5],
      ]),
    422,
    'journal_rejected',
  ],
  [
    '64 lines',
    (w) =>
      journalBody(
        w.id('64-lines'),
        Array.from(
          { length: 64 },
          (_, i) =>
            [w.id(i % 2 === 0 ? 'cash' : 'rent'), i % 2 === 0 ? 'DEBIT' : 'CREDIT', 1] as const,
        ),
      ),
    201,
    null,
  ],
  [
    'lineNumbers 1 and 10,000',
    (w) => ({
      ...journalBody(w.id('line-gap'), cashToRent(w, 1)),
      lines: [
        { accountId: w.id('cash'), lineType: 'DEBIT', amount: 1, lineNumber: 10_000 },
        { accountId: w.id('rent'), lineType: 'CREDIT', amount: 1, lineNumber: 1 },
      ],
    }),
    201,
    null,
  ],
  [
    'a hold of the longest timeout (2^32-1 s)',
    (w) =>
      journalBody(w.id('long-hold'), cashToRent(w, 1), { pending: { timeoutSeconds: 4294967295 } }),
    201,
    null,
  ],
  [
    'pending null (posts at once)',
    (w) => journalBody(w.id('pending-null'), cashToRent(w, 1), { pending: null }),
    201,
    null,
  ],
  [
    'a leap day at the end of the range',
    (w) =>
      journalBody(w.id('leap'), cashToRent(w, 1), { date: '9996-02-29T23:59:59.999999999-23:59' }),
    201,
    null,
  ],
  ...(
    [
      ['24:00', '2024-02-28T24:00:00Z'],
      ['a year of five digits', '10000-01-01'],
      ['before the epoch by an offset', '1970-01-01T00:00:00+00:01'],
      ['month 13', '2024-13-01'],
      ['fullwidth digits', '２０２４-01-01'],
      ['a trailing newline', '2024-01-01\n'],
      ['a week date', '2024-W01-1'],
      ['an ordinal date', '2024-001'],
      ['seconds 60 (a leap second)', '2016-12-31T23:59:60Z'],
      ['an offset of 24 hours', '2024-01-01T00:00:00+24:00'],
    ] as const
  ).map(([name, date]): Own => [
    `a date with ${name}`,
    (w) => journalBody(w.id('date'), cashToRent(w, 1), { date }),
    400,
    'field_invalid',
    'date',
  ]),
];

const RAW_AMOUNTS: Array<[string, string, string]> = [
  ['1e400 (Infinity once parsed)', '1e400', 'amount_invalid'],
  ['-0', '-0', 'amount_out_of_range'],
  ['1e-400 (0 once parsed)', '1e-400', 'amount_out_of_range'],
  ['a 400-digit number', '9'.repeat(400), 'amount_invalid'],
];

/** A set-up then a request on the same journal id: retries and conflicts. */
const RETRIES: HostileCase[] = [
  {
    name: `${JOURNAL}: the same journal again answers the same body`,
    route: JOURNAL,
    setup: (w) => postJournal(w, journalBody(w.id('retry'), cashToRent(w, 7))).then(() => {}),
    request: (w) => json('POST', '/api/journal', journalBody(w.id('retry'), cashToRent(w, 7))),
    status: 201,
    code: null,
  },
  {
    name: `${JOURNAL}: the same journal id with another amount`,
    route: JOURNAL,
    setup: (w) => postJournal(w, journalBody(w.id('conflict'), cashToRent(w, 7))).then(() => {}),
    request: (w) => json('POST', '/api/journal', journalBody(w.id('conflict'), cashToRent(w, 8))),
    status: 409,
    code: 'journal_conflict',
  },
  {
    name: `${JOURNAL}: a retry with the description in NFD instead of NFC`,
    route: JOURNAL,
    setup: (w) =>
      postJournal(w, journalBody(w.id('nfc'), cashToRent(w, 7), { description: 'caf\u00e9' })).then(
        () => {},
      ),
    request: (w) =>
      json(
        'POST',
        '/api/journal',
        journalBody(w.id('nfc'), cashToRent(w, 7), { description: 'cafe\u0301' }),
      ),
    status: 409,
    code: 'journal_conflict',
  },
];

function bulk(journals: (w: World) => unknown[]): (w: World) => ReturnType<typeof json> {
  return (w) => json('POST', '/api/journals/batch', { journals: journals(w) });
}

const resultStatuses = (expected: number[]) => (a: RawAnswer) =>
  expect(a.json.results.map((r: { status: number }) => r.status)).toEqual(expected);

const BULK_CASES: HostileCase[] = [
  {
    name: `${BULK}: every schema case as one journal each`,
    route: BULK,
    request: bulk((w) =>
      SCHEMA_CASES.map((c, i) => localize(c.make(validBody()), w, w.id(`bulk-s${i}`))),
    ),
    status: 200,
    code: null,
    check: (a) =>
      expect(a.json.results.map((r: { error: { code: string } }) => r.error.code)).toEqual(
        SCHEMA_CASES.map((c) => c.code),
      ),
  },
  {
    name: `${BULK}: every plan case as one journal each`,
    route: BULK,
    request: bulk((w) =>
      PLAN_CASES.map((c, i) => localize(c.make(validBody()), w, w.id(`bulk-p${i}`))),
    ),
    status: 200,
    code: null,
    check: resultStatuses(PLAN_CASES.map(() => 422)),
  },
  {
    name: `${BULK}: a good journal beside a bad one`,
    route: BULK,
    request: bulk((w) => [journalBody(w.id('bulk-ok'), cashToRent(w, 2)), { journalId: 'x' }]),
    status: 200,
    code: null,
    check: resultStatuses([201, 400]),
  },
  {
    name: `${BULK}: the same journal twice`,
    route: BULK,
    request: bulk((w) => [1, 2].map(() => journalBody(w.id('bulk-twice'), cashToRent(w, 2)))),
    status: 200,
    code: null,
    check: resultStatuses([201, 201]),
  },
  {
    name: `${BULK}: one journal id with two contents`,
    route: BULK,
    request: bulk((w) => [2, 3].map((n) => journalBody(w.id('bulk-clash'), cashToRent(w, n)))),
    status: 200,
    code: null,
    check: resultStatuses([201, 409]),
  },
  {
    name: `${BULK}: 1,001 journals`,
    route: BULK,
    request: bulk(() => Array.from({ length: 1001 }, () => ({}))),
    status: 400,
    code: 'too_many_journals',
    field: 'journals',
  },
  {
    name: `${BULK}: journals empty`,
    route: BULK,
    request: bulk(() => []),
    status: 400,
    code: 'field_invalid',
    field: 'journals',
  },
  {
    name: `${BULK}: journals an object`,
    route: BULK,
    request: () => json('POST', '/api/journals/batch', { journals: { 0: {} } }),
    status: 400,
    code: 'field_invalid',
    field: 'journals',
  },
  {
    name: `${BULK}: an unknown field beside journals`,
    route: BULK,
    request: (w) =>
      json('POST', '/api/journals/batch', {
        journals: [journalBody(w.id('bulk-u'), cashToRent(w, 1))],
        atomic: true,
      }),
    status: 400,
    code: 'unknown_field',
    field: 'atomic',
  },
  {
    name: `${BULK}: the body an array`,
    route: BULK,
    request: () => json('POST', '/api/journals/batch', []),
    status: 400,
    code: 'invalid_body',
  },
  {
    name: `${BULK}: a prototype key inside one journal refuses the request`,
    route: BULK,
    request: (w) => ({
      ...json('POST', '/api/journals/batch', {}),
      body: `{"journals":[${JSON.stringify(journalBody(w.id('bulk-proto'), cashToRent(w, 1)))},{"__proto__":{}}]}`,
    }),
    status: 400,
    code: 'forbidden_key',
    field: 'journals[1].__proto__',
  },
];

export const JOURNAL_CASES: HostileCase[] = [
  ...SCHEMA_CASES.map((c, i) => tableCase('schema', c, i)),
  ...PLAN_CASES.map((c, i) => tableCase('plan', c, i)),
  ...OWN.map(([name, body, status, code, field]): HostileCase => ({
    name: `${JOURNAL}: ${name}`,
    route: JOURNAL,
    request: (w) => json('POST', '/api/journal', body(w)),
    status,
    code,
    field,
    check:
      status === 201
        ? (a, w) => expect(a.json.status).toBe((body(w) as Body).pending ? 'held' : 'posted')
        : undefined,
  })),
  ...RAW_AMOUNTS.map(([name, amount, code], i): HostileCase => ({
    name: `${JOURNAL}: an amount of ${name}`,
    route: JOURNAL,
    request: (w) => rawAmount(w, `raw-${i}`, amount)(w),
    status: 400,
    code,
    field: 'lines[0].amount',
  })),
  ...RETRIES,
  ...BULK_CASES,
];
