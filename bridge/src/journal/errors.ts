/**
 * Typed errors of the journal write path: every bad journal gets a stable code, an HTTP status and
 * the offending field (a JSON path such as `lines[2].amount`) or line (the journal's `lineNumber`,
 * not the array index).
 *
 * Status classes, chosen once and kept:
 * - 400 Bad Request: the body's shape is wrong, judged from the body alone (JSON, types, formats,
 *   lengths, line count, duplicate line numbers, amount and timeout ranges).
 * - 422 Unprocessable: the body is well-formed but the ledger cannot accept it (unknown accounts,
 *   debits ≠ credits for an asset, lines pairing different assets, a hold that cannot be resolved
 *   that way). These need the account registry or the ledger's state to be judged.
 * - 409 Conflict: the journal id is taken by a journal with different content, or the journal is
 *   in a state that forbids the request (posting or voiding a journal that is not a pending hold:
 *   never a hold, or already posted, voided or expired).
 * - 404 Not Found: no journal has that id (hold post/void).
 *
 * These are values, not crashes: a broken invariant of our own (a plan that does not conserve
 * money) throws a plain Error instead.
 */
import { ServiceError } from '../../../core/errors';

export type JournalErrorCode =
  // 400: shape
  | 'invalid_json'
  | 'invalid_body'
  | 'field_required'
  | 'field_invalid'
  | 'unknown_field'
  | 'too_few_lines'
  | 'too_many_lines'
  | 'duplicate_line_number'
  | 'amount_invalid'
  | 'amount_out_of_range'
  | 'timeout_invalid'
  | 'too_many_journals'
  // 422: ledger semantics
  | 'account_not_found'
  | 'unbalanced_journal'
  | 'asset_mismatch'
  | 'self_transfer'
  | 'hold_partial_unsupported'
  | 'hold_amount_exceeds_pending'
  | 'journal_rejected'
  // 409 / 404: the journal id's state
  | 'journal_conflict'
  | 'journal_not_pending'
  | 'journal_not_found';

export interface JournalErrorInfo {
  httpStatus: 400 | 404 | 409 | 422;
  /** What the code means, for documentation and as the default message. */
  message: string;
}

/** Exhaustive: a new code does not compile until it has a status and a meaning here. */
export const JOURNAL_ERRORS: Readonly<Record<JournalErrorCode, JournalErrorInfo>> = {
  invalid_json: { httpStatus: 400, message: 'the body is not valid JSON' },
  invalid_body: { httpStatus: 400, message: 'the body must be a JSON object' },
  field_required: { httpStatus: 400, message: 'a required field is missing' },
  field_invalid: { httpStatus: 400, message: 'a field has the wrong type or format' },
  unknown_field: { httpStatus: 400, message: 'the body has a field the API does not know' },
  too_few_lines: { httpStatus: 400, message: 'a journal needs at least 2 lines' },
  too_many_lines: { httpStatus: 400, message: 'a journal has more lines than allowed' },
  duplicate_line_number: { httpStatus: 400, message: 'two lines share a lineNumber' },
  amount_invalid: {
    httpStatus: 400,
    message:
      'an amount must be a positive integer in minor units: a safe-integer JSON number or a ' +
      'string of decimal digits without sign, point, exponent or leading zeros',
  },
  amount_out_of_range: { httpStatus: 400, message: 'an amount must be between 1 and 2^128-1' },
  timeout_invalid: {
    httpStatus: 400,
    message: 'pending.timeoutSeconds must be an integer between 1 and 4294967295',
  },
  too_many_journals: { httpStatus: 400, message: 'a bulk request has more journals than allowed' },
  account_not_found: { httpStatus: 422, message: 'a line names an account that does not exist' },
  unbalanced_journal: { httpStatus: 422, message: 'debits and credits differ for an asset' },
  asset_mismatch: {
    httpStatus: 422,
    message: 'lines of one asset cannot be paired: a transfer moves one asset between accounts',
  },
  journal_rejected: {
    httpStatus: 422,
    message: 'the ledger refused the journal; nothing was posted (statuses per line)',
  },
  self_transfer: {
    httpStatus: 422,
    message:
      'an account is debited and credited for more than the journal moves in its asset, so part ' +
      'of it would be a transfer from the account to itself',
  },
  hold_partial_unsupported: {
    httpStatus: 422,
    message: 'a partial amount can only post a hold made of a single transfer',
  },
  hold_amount_exceeds_pending: {
    httpStatus: 422,
    message: 'the amount to post exceeds the amount held',
  },
  journal_conflict: {
    httpStatus: 409,
    message: 'a journal with this journalId exists with different content',
  },
  journal_not_pending: {
    httpStatus: 409,
    message:
      'the journal is not a pending hold (never a hold, or already posted, voided or expired)',
  },
  journal_not_found: { httpStatus: 404, message: 'no journal has this journalId' },
};

export const JOURNAL_ERROR_CODES = Object.keys(JOURNAL_ERRORS) as JournalErrorCode[];

export interface JournalErrorWhere {
  /** JSON path of the offending field, e.g. `lines[2].amount`. */
  field?: string;
  /** The offending line's `lineNumber` (not its index in the array). */
  line?: number;
  /** Extra facts for the client, e.g. `{asset, debits, credits}` of an unbalanced journal. */
  details?: Readonly<Record<string, string | number>>;
}

export class JournalError extends ServiceError {
  override readonly name = 'JournalError';
  readonly httpStatus: number;
  private readonly facts: Readonly<Record<string, string | number>>;

  constructor(
    readonly code: JournalErrorCode,
    message: string = JOURNAL_ERRORS[code].message,
    where: JournalErrorWhere = {},
  ) {
    super(message, where);
    this.httpStatus = JOURNAL_ERRORS[code].httpStatus;
    this.facts = where.details ?? {};
  }

  override details(): Readonly<Record<string, unknown>> {
    return this.facts;
  }
}
