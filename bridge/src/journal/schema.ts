/**
 * Validation of POST /api/journal bodies (and the bulk and hold-post bodies) into the Journal
 * model, with typed errors naming the first offending field and line.
 *
 * The shape is the original specification's load test:
 *   {journalId, date, description, source,
 *    lines: [{accountId, lineType: "DEBIT"|"CREDIT", amount, lineNumber}], pending?: {timeoutSeconds}}
 *
 * Unknown keys are rejected at every level: a misspelt optional field such as `pendng` would
 * otherwise post a journal the client did not mean, and for money a loud 400 beats a silent
 * default. `pending: null` means no hold, like an absent `pending`.
 *
 * Two schemas, one set of rules. JournalBodySchema is the contract: every rule as one strict zod
 * schema, for the API's documentation (z.toJSONSchema) and as the tests' oracle. parseJournal runs
 * a cheaper split of the same rules, because zod spends a call per check: the whole contract cost
 * ~7 µs per 2-line journal here, the split ~1.5 µs (test/support/journal/parse-bench.ts). A property test
 * holds the two to accepting exactly the same bodies with the same result.
 *
 * "First problem" has a fixed order, so the same body always gets the same error:
 *   1. the body is not an object (invalid_body);
 *   2. `lines` is an array of the wrong length (before any line is looked at, bounding the work);
 *   3. structure, by zod: a missing field, a wrong JSON type or a lineType other than DEBIT and
 *      CREDIT, in document order (journalId, date, description, source,
 *      lines[i].{accountId, lineType, amount, lineNumber}, pending);
 *   4. values, by hand, in document order: formats, lengths, ranges; each line's unknown keys
 *      after its fields, pending's after timeoutSeconds, the body's last;
 *   5. duplicate lineNumbers, reported at the second occurrence.
 * Errors name the field as a JSON path (`lines[2].amount`) and, inside a line whose lineNumber is
 * valid, that lineNumber. Everything here is judged from the body alone (400); accounts, assets and
 * balance are planJournal's (422), which needs the account registry.
 */
import { formatJsonPath } from '../../../core/json-tree';
import { isStorableText, STORABLE_TEXT_RULE } from '../../../core/text';
import { z } from 'zod';
import { U128_MAX, U32_MAX } from '../../../ledger/port';
import { JournalError } from './errors';
import type { Journal, JournalLine } from '../../../events/journal-model';

/** A journal has at least a debit and a credit. */
export const LINES_MIN = 2;
/**
 * Lines per journal. The plan makes at most one transfer per line (see plan.ts), so a journal's
 * chain stays ≤ 64 transfers: well inside the id scheme's 8-bit index (256) and a small fraction of
 * a TigerBeetle batch (8189), so the batcher can always fit a whole chain and pack batches tightly.
 * 64 is far above real compound entries (fees, taxes, splits) and bounds the work per request.
 */
export const LINES_MAX = 64;
export const LINE_NUMBER_MAX = 10_000;
export const ID_LENGTH_MAX = 128;
export const DESCRIPTION_LENGTH_MAX = 1024;
export const SOURCE_LENGTH_MAX = 64;
export const TIMEOUT_SECONDS_MAX = U32_MAX;
/**
 * Journals per bulk request. 1,000 two-line journals are ~430 KB of JSON, well under the bulk
 * body limit (BULK_BODY_BYTES_MAX, 8 MiB), and a request's latency stays bounded; 50,000
 * journals/s is then 50 requests/s.
 */
export const BULK_JOURNALS_MAX = 1000;

/** journalId and accountId: ULID, UUID or any client string of this charset. */
const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
/** Decimal digits, no sign, point, exponent or leading zero ("0" passes here, fails the range). */
const AMOUNT_DIGITS = /^(?:0|[1-9][0-9]*)$/;
const U128_MAX_DIGITS = U128_MAX.toString().length; // 39
/** What follows `YYYY-MM-DD` in a date-time (anchored at index 10 by the sticky flag). */
const TIME_PATTERN = /T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2}))$/y;
const EPOCH_YEAR = 1970;

type AmountCheck = bigint | { code: 'amount_invalid' | 'amount_out_of_range'; message: string };

/** An amount in minor units: a safe-integer JSON number or a decimal string, within 1..2^128-1. */
export function checkAmount(value: unknown): AmountCheck {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      return {
        code: 'amount_invalid',
        message: 'must be an integer; amounts above 2^53-1 must be sent as a decimal string',
      };
    }
    if (value <= 0) return { code: 'amount_out_of_range', message: 'must be at least 1' };
    return BigInt(value);
  }
  if (typeof value === 'string') {
    if (!AMOUNT_DIGITS.test(value)) {
      return {
        code: 'amount_invalid',
        message: 'must be decimal digits without sign, point, exponent or leading zeros',
      };
    }
    if (value.length > U128_MAX_DIGITS) {
      return { code: 'amount_out_of_range', message: 'must be at most 2^128-1' };
    }
    const amount = BigInt(value);
    if (amount === 0n) return { code: 'amount_out_of_range', message: 'must be at least 1' };
    if (amount > U128_MAX)
      return { code: 'amount_out_of_range', message: 'must be at most 2^128-1' };
    return amount;
  }
  return { code: 'amount_invalid', message: 'must be a JSON number or a string of digits' };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The value of `count` decimal digits at `at`, or -1 when one of them is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48; // NaN past the end, which fails the test below
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Milliseconds since the epoch of a journal date: an ISO 8601 date `YYYY-MM-DD` (UTC midnight) or
 * a date-time `YYYY-MM-DDThh:mm[:ss[.f…]]` with `Z` or `±hh:mm` (no local times: their instant is
 * ambiguous), from 1970 to 9999. Digits beyond milliseconds are dropped. NaN when the string is
 * not such a date or not a real one (2023-02-29, 24:00). Hand-parsed: it runs on every request.
 */
export function journalDateMs(date: string): number {
  const year = digitsAt(date, 0, 4);
  const month = digitsAt(date, 5, 2);
  const day = digitsAt(date, 8, 2);
  if (date.charCodeAt(4) !== 45 || date.charCodeAt(7) !== 45) return NaN; // '-'
  if (year < EPOCH_YEAR || month < 1 || month > 12) return NaN;
  if (day < 1 || day > daysInMonth(year, month)) return NaN;
  if (date.length === 10) return Date.UTC(year, month - 1, day);
  TIME_PATTERN.lastIndex = 10;
  const m = TIME_PATTERN.exec(date);
  if (m === null) return NaN;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = m[3] === undefined ? 0 : Number(m[3]);
  const millis = m[4] === undefined ? 0 : Number(m[4].slice(0, 3).padEnd(3, '0'));
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let offsetMinutes = 0;
  if (m[5] !== 'Z') {
    const offsetHour = Number(m[7]);
    const offsetMinute = Number(m[8]);
    if (offsetHour > 23 || offsetMinute > 59) return NaN;
    offsetMinutes = (m[6] === '-' ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  return ms >= 0 ? ms : NaN;
}

function isJournalDate(date: string): boolean {
  return !Number.isNaN(journalDateMs(date));
}

export function isId(value: string): boolean {
  return value.length >= 1 && value.length <= ID_LENGTH_MAX && ID_PATTERN.test(value);
}

function toAmount(value: number | string, ctx: z.core.$RefinementCtx<number | string>): bigint {
  const checked = checkAmount(value);
  if (typeof checked === 'bigint') return checked;
  ctx.issues.push({ code: 'custom', message: checked.message, input: value, params: checked });
  return z.NEVER;
}

// The contract (see the top of the file): every rule as one strict zod schema. Not the hot path.
const idSchema = z.string().min(1).max(ID_LENGTH_MAX).regex(ID_PATTERN);
export const JournalLineSchema = z.strictObject({
  accountId: idSchema,
  lineType: z.enum(['DEBIT', 'CREDIT']),
  amount: z
    .union([z.number(), z.string()])
    .transform(toAmount)
    .describe('minor units, 1..2^128-1: a safe-integer number or a string of decimal digits'),
  lineNumber: z.int().min(1).max(LINE_NUMBER_MAX),
});
export const PendingSchema = z.strictObject({
  timeoutSeconds: z.int().min(1).max(TIMEOUT_SECONDS_MAX),
});
/** POST /api/journal. `pending` absent or null: the journal posts at once. */
export const JournalBodySchema = z.strictObject({
  journalId: idSchema,
  date: z
    .string()
    .refine(isJournalDate)
    .describe('ISO 8601 date, or date-time with Z or an offset; 1970-01-01 to 9999-12-31'),
  description: z.string().max(DESCRIPTION_LENGTH_MAX).refine(isStorableText, STORABLE_TEXT_RULE),
  source: z.string().min(1).max(SOURCE_LENGTH_MAX).refine(isStorableText, STORABLE_TEXT_RULE),
  lines: z.array(JournalLineSchema).min(LINES_MIN).max(LINES_MAX),
  pending: PendingSchema.nullable().optional(),
});
/** The JSON a client sends (amounts as numbers or strings). */
export type JournalBody = z.input<typeof JournalBodySchema>;

// The hot path's structural pass: which fields exist and their JSON types. Objects are not strict
// here (unknown keys are found by hand, in document order, more cheaply than zod's strict mode).
const ShapeSchema = z.object({
  journalId: z.string(),
  date: z.string(),
  description: z.string(),
  source: z.string(),
  lines: z.array(
    z.object({
      accountId: z.string(),
      lineType: z.enum(['DEBIT', 'CREDIT']),
      amount: z.union([z.number(), z.string()]),
      lineNumber: z.number(),
    }),
  ),
  pending: z.object({ timeoutSeconds: z.number() }).nullable().optional(),
});
type Shape = z.output<typeof ShapeSchema>;

const BODY_KEYS = new Set(['journalId', 'date', 'description', 'source', 'lines', 'pending']);
const LINE_KEYS = new Set(['accountId', 'lineType', 'amount', 'lineNumber']);
const PENDING_KEYS = new Set(['timeoutSeconds']);

/** What each field must be: the tail of a field_invalid message. */
const ID_RULE = `must be a string of 1 to ${ID_LENGTH_MAX} characters from A-Z a-z 0-9 . _ : -`;
const FIELD_RULES: Readonly<Record<string, string>> = {
  journalId: ID_RULE,
  accountId: ID_RULE,
  date:
    'must be an ISO 8601 date (YYYY-MM-DD) or date-time with Z or an offset ' +
    '(YYYY-MM-DDThh:mm[:ss[.fff]]Z), a real one, from 1970 to 9999',
  description: `must be a string of at most ${DESCRIPTION_LENGTH_MAX} characters; ${STORABLE_TEXT_RULE}`,
  source: `must be a string of 1 to ${SOURCE_LENGTH_MAX} characters; ${STORABLE_TEXT_RULE}`,
  lines: `must be an array of ${LINES_MIN} to ${LINES_MAX} lines`,
  line: 'must be an object {accountId, lineType, amount, lineNumber}',
  lineType: 'must be "DEBIT" or "CREDIT"',
  lineNumber: `must be an integer from 1 to ${LINE_NUMBER_MAX}`,
  pending: 'must be an object {timeoutSeconds} or null',
  timeoutSeconds: `must be an integer from 1 to ${TIMEOUT_SECONDS_MAX}`,
  journals: `must be an array of 1 to ${BULK_JOURNALS_MAX} journals`,
  amount: 'must be a positive integer in minor units (a number or a decimal string)',
};

type Path = ReadonlyArray<PropertyKey>;

function fieldOf(path: Path): string {
  return formatJsonPath(path.map((key) => (typeof key === 'number' ? key : String(key))));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` in the raw body; undefined when a key on the way is absent. */
function valueAt(body: unknown, path: Path): unknown {
  let value = body;
  for (const key of path) {
    if (typeof key === 'number') value = Array.isArray(value) ? value[key] : undefined;
    else value = isObject(value) && Object.hasOwn(value, key) ? value[key as string] : undefined;
  }
  return value;
}

/** The lineNumber of `lines[index]` when it is a valid one (errors name lines by number). */
function lineNumberAt(body: unknown, index: number): number | undefined {
  const lineNumber = valueAt(body, ['lines', index, 'lineNumber']);
  return isLineNumber(lineNumber) ? lineNumber : undefined;
}

function isLineNumber(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= LINE_NUMBER_MAX;
}

function invalid(path: Path, line?: number): JournalError {
  const field = fieldOf(path);
  const last = path[path.length - 1];
  const rule = typeof last === 'number' ? FIELD_RULES.line : FIELD_RULES[String(last)];
  return new JournalError('field_invalid', `${field} ${rule ?? 'is invalid'}`, { field, line });
}

/** A structural problem (step 3): zod's first issue as our code, field and line. */
function errorFromIssue(issue: z.core.$ZodIssue, body: unknown): JournalError {
  const path = issue.path;
  const line =
    path[0] === 'lines' && typeof path[1] === 'number' ? lineNumberAt(body, path[1]) : undefined;
  const field = fieldOf(path);
  if (path.length > 0 && valueAt(body, path) === undefined) {
    return new JournalError('field_required', `${field} is required`, { field, line });
  }
  const last = path[path.length - 1];
  if (last === 'amount') {
    return new JournalError('amount_invalid', `${field} ${FIELD_RULES.amount!}`, { field, line });
  }
  if (last === 'timeoutSeconds') {
    return new JournalError('timeout_invalid', `${field} ${FIELD_RULES.timeoutSeconds!}`, {
      field,
    });
  }
  return invalid(path, line);
}

/** Step 2 of the order: a `lines` array of the wrong length, before any line is looked at. */
function linesLengthError(lines: unknown): JournalError | null {
  if (!Array.isArray(lines)) return null;
  if (lines.length < LINES_MIN) {
    return new JournalError(
      'too_few_lines',
      `lines has ${lines.length} line(s); a journal needs at least ${LINES_MIN}`,
      { field: 'lines' },
    );
  }
  if (lines.length > LINES_MAX) {
    return new JournalError(
      'too_many_lines',
      `lines has ${lines.length} lines; a journal has at most ${LINES_MAX}`,
      { field: 'lines' },
    );
  }
  return null;
}

function unknownKey(object: object, known: ReadonlySet<string>): string | null {
  for (const key in object) {
    if (!known.has(key) && Object.hasOwn(object, key)) return key;
  }
  return null;
}

function unknownField(prefix: string, key: string, line?: number): JournalError {
  const field = prefix === '' ? key : `${prefix}.${key}`;
  return new JournalError('unknown_field', `${field} is not a known field`, { field, line });
}

/** Step 4 for one line: its values and unknown keys; the model's line when all are right. */
function checkLine(
  line: Shape['lines'][number],
  raw: object,
  i: number,
): JournalLine | JournalError {
  const lineNumber = isLineNumber(line.lineNumber) ? line.lineNumber : undefined;
  if (!isId(line.accountId)) return invalid(['lines', i, 'accountId'], lineNumber);
  const amount = checkAmount(line.amount);
  if (typeof amount !== 'bigint') {
    const field = `lines[${i}].amount`;
    return new JournalError(amount.code, `${field} ${amount.message}`, { field, line: lineNumber });
  }
  if (lineNumber === undefined) return invalid(['lines', i, 'lineNumber']);
  const unknown = unknownKey(raw, LINE_KEYS);
  if (unknown !== null) return unknownField(`lines[${i}]`, unknown, lineNumber);
  return { lineNumber, accountId: line.accountId, lineType: line.lineType, amount };
}

function checkPending(
  shape: Shape,
  raw: Record<string, unknown>,
): Journal['pending'] | JournalError {
  const pending = shape.pending;
  if (pending === null || pending === undefined) return null;
  const timeoutSeconds = pending.timeoutSeconds;
  if (
    !Number.isInteger(timeoutSeconds) ||
    timeoutSeconds < 1 ||
    timeoutSeconds > TIMEOUT_SECONDS_MAX
  ) {
    const field = 'pending.timeoutSeconds';
    return new JournalError('timeout_invalid', `${field} ${FIELD_RULES.timeoutSeconds!}`, {
      field,
    });
  }
  const unknown = unknownKey(raw.pending as object, PENDING_KEYS);
  if (unknown !== null) return unknownField('pending', unknown);
  return { timeoutSeconds };
}

/** Step 5: a lineNumber used twice, reported where it is used the second time. */
function duplicateError(lines: readonly JournalLine[]): JournalError | null {
  // Quadratic, but over at most LINES_MAX lines it beats allocating a Set per journal.
  for (let j = 1; j < lines.length; j++) {
    const lineNumber = lines[j]!.lineNumber;
    for (let i = 0; i < j; i++) {
      if (lines[i]!.lineNumber === lineNumber) {
        return new JournalError(
          'duplicate_line_number',
          `lines[${j}].lineNumber ${lineNumber} is already used by lines[${i}]`,
          { field: `lines[${j}].lineNumber`, line: lineNumber },
        );
      }
    }
  }
  return null;
}

/** Step 4 and 5 on a body of the right shape: values and unknown keys in document order. */
function checkValues(shape: Shape, raw: Record<string, unknown>): Journal | JournalError {
  const { journalId, date, description, source } = shape;
  if (!isId(journalId)) return invalid(['journalId']);
  if (!isJournalDate(date)) return invalid(['date']);
  if (description.length > DESCRIPTION_LENGTH_MAX || !isStorableText(description)) {
    return invalid(['description']);
  }
  if (source.length < 1 || source.length > SOURCE_LENGTH_MAX || !isStorableText(source)) {
    return invalid(['source']);
  }
  const rawLines = raw.lines as object[];
  const lines: JournalLine[] = [];
  for (let i = 0; i < shape.lines.length; i++) {
    const line = checkLine(shape.lines[i]!, rawLines[i]!, i);
    if (line instanceof JournalError) return line;
    lines.push(line);
  }
  const pending = checkPending(shape, raw);
  if (pending instanceof JournalError) return pending;
  const unknown = unknownKey(raw, BODY_KEYS);
  if (unknown !== null) return unknownField('', unknown);
  const duplicate = duplicateError(lines);
  if (duplicate !== null) return duplicate;
  // Lines keep the request's order, so error fields (lines[i]) point into the request.
  return { journalId, date, description, source, lines, pending };
}

/** Validates one journal body: the model, or the error of its first problem (not thrown). */
export function checkJournal(body: unknown): Journal | JournalError {
  if (!isObject(body)) return new JournalError('invalid_body', 'the journal must be a JSON object');
  const lengthError = linesLengthError(body.lines);
  if (lengthError !== null) return lengthError;
  const shape = ShapeSchema.safeParse(body);
  if (!shape.success) return errorFromIssue(shape.error.issues[0]!, body);
  return checkValues(shape.data, body);
}

/** Validates a POST /api/journal body. Throws the JournalError of the first problem. */
export function parseJournal(body: unknown): Journal {
  const result = checkJournal(body);
  if (result instanceof JournalError) throw result;
  return result;
}

export type JournalParseResult =
  { ok: true; journal: Journal } | { ok: false; error: JournalError };

/**
 * Validates a POST /api/journals/batch body `{journals: [...]}`. The envelope's problems throw;
 * each journal is judged on its own and its result (fields relative to the journal) is returned
 * in order, so one bad journal never rejects its neighbours.
 */
export function parseJournalBatch(body: unknown): JournalParseResult[] {
  if (!isObject(body)) throw new JournalError('invalid_body', 'the body must be a JSON object');
  if (!Object.hasOwn(body, 'journals')) {
    throw new JournalError('field_required', 'journals is required', { field: 'journals' });
  }
  const journals = body.journals;
  if (!Array.isArray(journals) || journals.length === 0) {
    throw new JournalError('field_invalid', `journals ${FIELD_RULES.journals!}`, {
      field: 'journals',
    });
  }
  if (journals.length > BULK_JOURNALS_MAX) {
    throw new JournalError(
      'too_many_journals',
      `journals has ${journals.length} journals; a request has at most ${BULK_JOURNALS_MAX}`,
      { field: 'journals' },
    );
  }
  for (const key in body) {
    if (key !== 'journals' && Object.hasOwn(body, key)) {
      throw new JournalError('unknown_field', `${key} is not a known field`, { field: key });
    }
  }
  return journals.map((item: unknown): JournalParseResult => {
    const result = checkJournal(item);
    return result instanceof JournalError
      ? { ok: false, error: result }
      : { ok: true, journal: result };
  });
}

/**
 * Validates a POST /api/journal/:id/post body: empty (or `{}`) posts the whole hold,
 * `{amount}` posts that much (planHoldResolution checks it against the hold).
 */
export function parseHoldPost(body: unknown): { amount: bigint | null } {
  if (body === undefined || body === null) return { amount: null };
  if (!isObject(body)) throw new JournalError('invalid_body', 'the body must be a JSON object');
  for (const key in body) {
    if (key !== 'amount' && Object.hasOwn(body, key)) {
      throw new JournalError('unknown_field', `${key} is not a known field`, { field: key });
    }
  }
  if (!Object.hasOwn(body, 'amount')) return { amount: null };
  const checked = checkAmount(body.amount);
  if (typeof checked === 'bigint') return { amount: checked };
  throw new JournalError(checked.code, `amount ${checked.message}`, { field: 'amount' });
}
