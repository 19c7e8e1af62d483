/**
 * Proves parseJournal turns request bodies into the Journal model or the JournalError of the first
 * problem: table-driven cases per error code with the expected field and line, the documented order
 * of problems, amount and date edges, the bulk and hold-post bodies, and fast-check properties —
 * arbitrary JSON never throws anything but a JournalError, and the hand-written hot path accepts
 * exactly what the zod contract (JournalBodySchema) accepts.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { JournalError } from '../../../bridge/src/journal/errors';
import {
  BULK_JOURNALS_MAX,
  checkAmount,
  JournalBodySchema,
  journalDateMs,
  LINES_MAX,
  parseHoldPost,
  parseJournal,
  parseJournalBatch,
} from '../../../bridge/src/journal/schema';
import { U128_MAX } from '../../../ledger/port';
import { type Body, SCHEMA_CASES, ULID, validBody } from '../../support/journal/cases';

function errorOf(run: () => unknown): JournalError {
  try {
    run();
  } catch (error) {
    if (error instanceof JournalError) return error;
    throw error;
  }
  throw new Error('expected a JournalError');
}

describe('parseJournal: valid bodies', () => {
  it('returns the model: amounts as bigint, lines in request order, no hold', () => {
    expect(parseJournal(validBody())).toEqual({
      journalId: ULID,
      date: '2024-03-01',
      description: 'March rent',
      source: 'k6',
      lines: [
        { lineNumber: 1, accountId: 'cash', lineType: 'DEBIT', amount: 1500n },
        { lineNumber: 2, accountId: 'rent', lineType: 'CREDIT', amount: 1500n },
      ],
      pending: null,
    });
  });

  it('keeps a hold, accepts pending: null as no hold, and the largest u128 amount', () => {
    const max = U128_MAX.toString();
    const body = validBody();
    body.lines = [
      { accountId: 'a', lineType: 'DEBIT', amount: max, lineNumber: 9 },
      { accountId: 'b', lineType: 'CREDIT', amount: max, lineNumber: 3 },
    ];
    const held = parseJournal({ ...body, pending: { timeoutSeconds: 2 ** 32 - 1 } });
    expect(held.pending).toEqual({ timeoutSeconds: 2 ** 32 - 1 });
    expect(held.lines.map((l) => [l.lineNumber, l.amount])).toEqual([
      [9, U128_MAX],
      [3, U128_MAX],
    ]);
    expect(parseJournal({ ...body, pending: null }).pending).toBeNull();
  });

  it.each([
    'b2c4e1f0-9a7d-4c1e-8f3a-2b6d9e0c1a54',
    '018f3c1e-7b2a-7c3d-9e4f-5a6b7c8d9e0f',
    'order:2024.03.01_00-17',
    'x'.repeat(128),
  ])('accepts journalId %s', (journalId) => {
    expect(parseJournal({ ...validBody(), journalId }).journalId).toBe(journalId);
  });

  it(`accepts ${LINES_MAX} lines and an empty description`, () => {
    const lines = Array.from({ length: LINES_MAX }, (_, i) => ({
      accountId: `acct-${i}`,
      lineType: i === 0 ? 'DEBIT' : 'CREDIT',
      amount: i === 0 ? LINES_MAX - 1 : 1,
      lineNumber: LINES_MAX - i,
    }));
    const journal = parseJournal({ ...validBody(), lines, description: '' });
    expect(journal.lines).toHaveLength(LINES_MAX);
  });
});

describe('JournalBodySchema', () => {
  it('renders as JSON Schema for the API documentation, strict', () => {
    const schema = z.toJSONSchema(JournalBodySchema, { io: 'input' });
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    expect(schema.required).toEqual(['journalId', 'date', 'description', 'source', 'lines']);
  });
});

describe('parseJournal: every error code with its field and line', () => {
  it.each(SCHEMA_CASES)('$name → $code', ({ make, code, field, line }) => {
    const error = errorOf(() => parseJournal(make(validBody())));
    expect({ code: error.code, field: error.field, line: error.line }).toEqual({
      code,
      field,
      line,
    });
    expect(error.httpStatus).toBe(400);
    if (field !== undefined) expect(error.message).toContain(field);
  });
});

describe('parseJournal: the first problem, in the documented order', () => {
  const worse = (patch: Body): Body => ({ ...validBody(), ...patch });

  it.each([
    [
      'a bad lines length before an earlier bad field',
      worse({ journalId: '', lines: [] }),
      'lines',
    ],
    [
      'a wrong type before an earlier bad value',
      worse({ journalId: 'a b', description: 5 }),
      'description',
    ],
    [
      'values in document order',
      worse({
        date: 'soon',
        lines: [{ accountId: '', lineType: 'DEBIT', amount: 1, lineNumber: 1 }],
      }),
      'lines',
    ],
    ['journalId before date', worse({ journalId: 'a b', date: 'soon' }), 'journalId'],
    ['a line value before an unknown body key', worse({ extra: 1, source: '' }), 'source'],
    [
      'an unknown line key before pending',
      (() => {
        const b = worse({ pending: { timeoutSeconds: 0 } });
        (b.lines as Body[])[0]!.memo = 1;
        return b;
      })(),
      'lines[0].memo',
    ],
    [
      'field problems before duplicate lineNumbers',
      worse({
        lines: [
          { accountId: 'a', lineType: 'DEBIT', amount: 1, lineNumber: 1 },
          { accountId: 'b', lineType: 'CREDIT', amount: 1, lineNumber: 1 },
        ],
        pending: { timeoutSeconds: 0 },
      }),
      'pending.timeoutSeconds',
    ],
  ])('%s', (_name, body, field) => {
    expect(errorOf(() => parseJournal(body)).field).toBe(field);
  });

  it('names the line by lineNumber, not by index', () => {
    const body = validBody();
    body.lines = [
      { accountId: 'a', lineType: 'DEBIT', amount: 1, lineNumber: 40 },
      { accountId: 'b', lineType: 'CREDIT', amount: '01', lineNumber: 17 },
    ];
    const error = errorOf(() => parseJournal(body));
    expect([error.code, error.field, error.line]).toEqual([
      'amount_invalid',
      'lines[1].amount',
      17,
    ]);
  });
});

describe('amounts and dates', () => {
  it.each([
    [1, 1n],
    [Number.MAX_SAFE_INTEGER, BigInt(Number.MAX_SAFE_INTEGER)],
    ['1', 1n],
    ['9007199254740993', 9007199254740993n],
    [U128_MAX.toString(), U128_MAX],
  ])('amount %p is %p', (value, expected) => {
    expect(checkAmount(value)).toBe(expected);
  });

  it.each([
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['1970-01-01', 0],
    ['2000-02-29', Date.UTC(2000, 1, 29)],
    ['2024-03-01T10:00Z', Date.UTC(2024, 2, 1, 10)],
    ['2024-03-01T10:00:05.1234+01:30', Date.UTC(2024, 2, 1, 8, 30, 5, 123)],
    ['2024-03-01T00:00:00-05:00', Date.UTC(2024, 2, 1, 5)],
    ['9999-12-31T23:59:59.999Z', Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
  ])('date %s is %d ms', (date, ms) => {
    expect(journalDateMs(date)).toBe(ms);
  });

  it.each([
    '1900-02-29',
    '2024-04-31',
    '2024-13-01',
    '2024-00-10',
    '2024-03-01T24:00Z',
    '2024-03-01T10:60Z',
    '2024-03-01T10:00:60Z',
    '2024-03-01T10:00+24:00',
    '2024-03-01t10:00z',
    '2024-03-01 10:00Z',
    '2024-3-1',
    '1970-01-01T00:30+01:00',
    '0070-01-01',
    '2024-03-01T10:00:00.Z',
    '２０２４-03-01',
  ])('date %s is refused', (date) => {
    expect(journalDateMs(date)).toBeNaN();
  });
});

describe('parseJournalBatch', () => {
  it('judges each journal on its own, in order, fields relative to the journal', () => {
    const bad = { ...validBody(), journalId: 'a b' };
    const results = parseJournalBatch({ journals: [validBody(), bad, 'x'] });
    expect(results.map((r) => (r.ok ? 'ok' : `${r.error.code}:${r.error.field ?? ''}`))).toEqual([
      'ok',
      'field_invalid:journalId',
      'invalid_body:',
    ]);
  });

  it.each([
    ['not an object', [], 'invalid_body', undefined],
    ['no journals', {}, 'field_required', 'journals'],
    ['journals not an array', { journals: {} }, 'field_invalid', 'journals'],
    ['journals empty', { journals: [] }, 'field_invalid', 'journals'],
    [
      'too many journals',
      { journals: Array.from({ length: BULK_JOURNALS_MAX + 1 }, validBody) },
      'too_many_journals',
      'journals',
    ],
    ['an unknown key', { journals: [validBody()], atomic: true }, 'unknown_field', 'atomic'],
  ])('envelope %s → %s', (_name, body, code, field) => {
    const error = errorOf(() => parseJournalBatch(body));
    expect([error.code, error.field]).toEqual([code, field]);
  });
});

describe('parseHoldPost', () => {
  it.each([
    [undefined, null],
    [null, null],
    [{}, null],
    [{ amount: 5 }, 5n],
    [{ amount: '12' }, 12n],
  ])('%p posts %p', (body, amount) => {
    expect(parseHoldPost(body)).toEqual({ amount });
  });

  it.each([
    ['an array', [], 'invalid_body', undefined],
    ['an unknown key', { amount: 1, partial: true }, 'unknown_field', 'partial'],
    ['a bad amount', { amount: '1.0' }, 'amount_invalid', 'amount'],
    ['a zero amount', { amount: 0 }, 'amount_out_of_range', 'amount'],
  ])('refuses %s', (_name, body, code, field) => {
    const error = errorOf(() => parseHoldPost(body));
    expect([error.code, error.field]).toEqual([code, field]);
  });
});

// Bodies near the edge: a valid body with up to three mutations, each replacing a field (top
// level, in a line or in pending) by an edge value or arbitrary JSON, deleting it, or adding an
// unknown key. About half stay valid, and every error code of the schema is reached.
const anyJson = fc.jsonValue({ maxDepth: 2 });
const validLines = fc.uniqueArray(
  fc.record({
    accountId: fc.constantFrom('cash', 'rent', 'acct:01.x_y-z'),
    lineType: fc.constantFrom('DEBIT', 'CREDIT'),
    amount: fc.oneof(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.bigInt({ min: 1n, max: U128_MAX }).map(String),
    ),
    lineNumber: fc.integer({ min: 1, max: 10_000 }),
  }),
  { minLength: 2, maxLength: 5, selector: (l) => l.lineNumber },
);
const validBodies = fc.record(
  {
    journalId: fc.constantFrom(ULID, 'order-1', 'b2c4e1f0-9a7d-4c1e-8f3a-2b6d9e0c1a54'),
    date: fc.constantFrom('2024-03-01', '2024-03-01T10:00:00.5+02:00'),
    description: fc.string({ maxLength: 5 }),
    source: fc.constantFrom('k6', 'api'),
    lines: validLines,
    pending: fc.oneof(fc.constant(null), fc.record({ timeoutSeconds: fc.integer({ min: 1 }) })),
  },
  { requiredKeys: ['journalId', 'date', 'description', 'source', 'lines'] },
);
const DELETE = Symbol('delete');
const edgeValue = fc.oneof(
  fc.constantFrom<unknown>(
    DELETE,
    '',
    'a b',
    'x'.repeat(129),
    'd'.repeat(1025),
    0,
    -1,
    1,
    2,
    1.5,
    2 ** 32,
    2 ** 53,
    10_001,
    '0',
    '01',
    '1e3',
    '-5',
    (U128_MAX + 1n).toString(),
    '2023-02-29',
    '2024-03-01T10:00',
    'DEBIT',
    'credit',
    null,
    true,
    [],
    {},
    { timeoutSeconds: 0 },
  ),
  anyJson,
);
const TOP = ['journalId', 'date', 'description', 'source', 'lines', 'pending', 'extra'];
const IN_LINE = ['accountId', 'lineType', 'amount', 'lineNumber', 'memo'];
interface Mutation {
  where: 'top' | 'line' | 'pending';
  key: number;
  index: number;
  value: unknown;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  where: fc.constantFrom('top', 'line', 'pending'),
  key: fc.nat(),
  index: fc.nat({ max: 5 }),
  value: edgeValue,
});

function mutate(body: Body, m: Mutation): Body {
  const lines = Array.isArray(body.lines)
    ? body.lines.map((l: unknown) => ({ ...(l as Body) }))
    : [];
  const copy: Body = Array.isArray(body.lines) ? { ...body, lines } : { ...body };
  let target: Body = copy;
  let key = TOP[m.key % TOP.length]!;
  if (m.where === 'line' && lines.length > 0) {
    target = lines[m.index % lines.length]!;
    key = IN_LINE[m.key % IN_LINE.length]!;
  } else if (m.where === 'pending') {
    const pending = copy.pending;
    target = copy.pending = { timeoutSeconds: 60, ...(typeof pending === 'object' ? pending : {}) };
    key = m.key % 2 === 0 ? 'timeoutSeconds' : 'at';
  }
  if (m.value === DELETE) delete target[key];
  else target[key] = m.value;
  return copy;
}

const nearBody = fc
  .tuple(validBodies, fc.array(mutation, { maxLength: 3 }))
  .map(([body, mutations]) => mutations.reduce(mutate, body as Body));

describe('properties', () => {
  it('parseJournal never throws anything but a JournalError, on any JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearBody), (body) => {
        try {
          parseJournal(body);
        } catch (error) {
          if (!(error instanceof JournalError)) throw error;
          expect(error.httpStatus).toBe(400);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly what the zod contract accepts, with the same result', () => {
    fc.assert(
      fc.property(nearBody, (body) => {
        const contract = JournalBodySchema.safeParse(body);
        let journal: unknown = null;
        try {
          journal = parseJournal(body);
        } catch (error) {
          if (!(error instanceof JournalError)) throw error;
        }
        expect(journal !== null).toBe(contract.success);
        if (contract.success) {
          expect(journal).toEqual({ ...contract.data, pending: contract.data.pending ?? null });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a valid body survives a JSON round trip unchanged in meaning', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: U128_MAX }), fc.boolean(), (amount, asNumber) => {
        const value =
          asNumber && amount <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(amount) : String(amount);
        const body = validBody();
        body.lines = (body.lines as Body[]).map((l) => ({ ...l, amount: value }));
        const journal = parseJournal(JSON.parse(JSON.stringify(body)));
        expect(journal.lines.map((l) => l.amount)).toEqual([amount, amount]);
      }),
    );
  });
});
