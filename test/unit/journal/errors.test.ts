/**
 * Proves the journal error table is whole and consistent: every code has a status of the class the
 * module documents, JournalError takes its status from the table and renders the API body, and
 * every code is produced by some table-driven case in these tests or named as raised elsewhere.
 */
import {
  JOURNAL_ERROR_CODES,
  JOURNAL_ERRORS,
  JournalError,
  type JournalErrorCode,
} from '../../../bridge/src/journal/errors';
import {
  BATCH_CODES,
  HOLD_CODES,
  PLAN_CASES,
  RAISED_ELSEWHERE,
  SCHEMA_CASES,
} from '../../support/journal/cases';

const SHAPE: JournalErrorCode[] = [
  'invalid_json',
  'invalid_body',
  'field_required',
  'field_invalid',
  'unknown_field',
  'too_few_lines',
  'too_many_lines',
  'duplicate_line_number',
  'amount_invalid',
  'amount_out_of_range',
  'timeout_invalid',
  'too_many_journals',
];

describe('JOURNAL_ERRORS', () => {
  it.each(JOURNAL_ERROR_CODES)('%s has a status and a message', (code) => {
    const info = JOURNAL_ERRORS[code];
    expect([400, 404, 409, 422]).toContain(info.httpStatus);
    expect(info.message.length).toBeGreaterThan(10);
  });

  it('answers 400 exactly for shape errors', () => {
    const bad = JOURNAL_ERROR_CODES.filter(
      (c) => (JOURNAL_ERRORS[c].httpStatus === 400) !== SHAPE.includes(c),
    );
    expect(bad).toEqual([]);
  });

  it('is covered: every code is raised by a tested case or documented as raised elsewhere', () => {
    const covered = new Set<JournalErrorCode>([
      ...SCHEMA_CASES.map((c) => c.code),
      ...PLAN_CASES.map((c) => c.code),
      ...HOLD_CODES,
      ...BATCH_CODES,
      ...(Object.keys(RAISED_ELSEWHERE) as JournalErrorCode[]),
    ]);
    expect(JOURNAL_ERROR_CODES.filter((c) => !covered.has(c))).toEqual([]);
  });
});

describe('JournalError', () => {
  it('takes its status from the table and renders the API body', () => {
    const error = new JournalError('unbalanced_journal', 'USD debits 5 ≠ credits 4', {
      field: 'lines',
      details: { asset: 'USD', debits: '5', credits: '4', code: 'not me' },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.httpStatus).toBe(422);
    expect(error.toBody()).toEqual({
      error: {
        code: 'unbalanced_journal',
        message: 'USD debits 5 ≠ credits 4',
        field: 'lines',
        asset: 'USD',
        debits: '5',
        credits: '4',
      },
    });
  });

  it('defaults its message to the table and leaves out what it does not know', () => {
    const error = new JournalError('journal_conflict');
    expect(error.httpStatus).toBe(409);
    expect(error.toBody()).toEqual({
      error: { code: 'journal_conflict', message: JOURNAL_ERRORS.journal_conflict.message },
    });
  });
});
