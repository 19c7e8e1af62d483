/**
 * The error codes of the contract: which (status, code) pairs each operation can answer, grouped
 * by where they arise. Statuses and meanings are read from the rooms' own tables wherever one
 * exists, so the contract cannot disagree with them; the codes raised one by one (`new ApiError`)
 * are listed in OTHER_CODES. test/unit/contract/openapi.test.ts holds every pair here to the
 * codes the source can answer (test/support/docs/error-codes.ts), both ways.
 */
import { ACCESS_ERRORS, type AccessErrorCode } from '../access/errors';
import { ACCOUNT_ERROR_HTTP, type AccountErrorCode } from '../accounts/errors';
import { CONNECTION_ERRORS, type ConnectionErrorCode } from '../http/connection';
import { EDGE_ERRORS, type EdgeErrorCode } from '../http/edge-errors';
import { JOURNAL_ERRORS, type JournalErrorCode } from '../journal/errors';

/** One answer an operation can give: HTTP status and stable code. */
export type ErrorPair = readonly [status: number, code: string];

/**
 * Codes raised where they arise, not from a table: status and meaning. A tuple, not an object
 * with `code` and `status`, so the README's code scanner does not count these as answers.
 */
const OTHER_CODES: Readonly<Record<string, readonly [number, string]>> = {
  internal_error: [500, 'a bug: the request may be retried; the log has the stack'],
  ledger_unavailable: [503, 'the ledger did not answer; retry with the same request'],
  store_unavailable: [503, 'PostgreSQL did not answer; retry with the same request'],
  events_unavailable: [503, 'Kafka did not take the outcome event; retry with the same request'],
  overloaded: [503, "the batcher's queue is full; retry with the same request"],
  shutting_down: [503, 'this instance is stopping; retry (another instance answers)'],
  batch_too_large: [413, 'more events than one ledger request takes (8189)'],
  invalid_transfer: [400, 'the ledger refuses to take this raw transfer (`index`)'],
  invalid_journal_id: [400, 'the path names no possible journal id'],
  invalid_consistency_token: [400, 'the consistency token is not one, or names no partition'],
  invalid_balance_token: [400, 'the balance token is not one'],
  invalid_cursor: [400, 'the cursor is not one the API issued'],
  invalid_limit: [400, 'limit is not an integer from 1 to 500'],
  projection_behind: [425, 'the projections have not applied the token yet; retry'],
  account_incomplete: [409, 'the account has no ledger account yet; retry its creation'],
  not_found: [404, 'no asset of this name'],
  bridge_unavailable: [502, 'nginx in front found no bridge instance answering'],
  bridge_timeout: [504, 'nginx in front waited too long for the bridge'],
  client_rate_limited: [429, 'nginx in front: too many requests from this address; retry later'],
};

const ACCOUNT_MEANINGS: Readonly<Record<AccountErrorCode, string>> = {
  invalid_input: 'the request fails validation (`field`)',
  account_not_found: 'no account has this accountId',
  account_conflict: 'the accountId exists with other content (`field`)',
  unknown_asset: 'the asset is not in the registry',
  unknown_account_type: 'the account type is not in the registry',
  asset_conflict: 'the asset code exists with other content',
  account_type_conflict: 'the account type code exists with other content',
  ledger_in_use: 'another asset has this TigerBeetle ledger',
  tb_code_in_use: 'another account type has this TigerBeetle code',
  ledger_unavailable: 'the ledger did not answer; retry with the same request',
  store_unavailable: 'PostgreSQL did not answer; retry with the same request',
  ledger_rejected: 'TigerBeetle refused an account the bridge built: a bug (`status`)',
};

export const journal = (code: JournalErrorCode): ErrorPair => [
  JOURNAL_ERRORS[code].httpStatus,
  code,
];
export const account = (code: AccountErrorCode): ErrorPair => [ACCOUNT_ERROR_HTTP[code], code];
export const edge = (code: EdgeErrorCode): ErrorPair => [EDGE_ERRORS[code].httpStatus, code];
const access = (code: AccessErrorCode): ErrorPair => [ACCESS_ERRORS[code].httpStatus, code];
const connection = (code: ConnectionErrorCode): ErrorPair => [
  CONNECTION_ERRORS[code].httpStatus,
  code,
];
export const other = (code: keyof typeof OTHER_CODES): ErrorPair => [OTHER_CODES[code]![0], code];

/** What a code means, for the operation's description. */
export function meaningOf(code: string): string {
  const tables: Array<Readonly<Record<string, unknown>>> = [
    JOURNAL_ERRORS,
    EDGE_ERRORS,
    CONNECTION_ERRORS,
    ACCESS_ERRORS,
  ];
  for (const table of tables) {
    const entry = table[code] as { message: string } | undefined;
    if (entry !== undefined) return entry.message;
  }
  return (
    OTHER_CODES[code]?.[1] ??
    ACCOUNT_MEANINGS[code as AccountErrorCode] ??
    assertNever(`no meaning for error code ${code}`)
  );
}

function assertNever(message: string): never {
  throw new Error(message);
}

/** Any request, before a route runs: the listener, the request target, nginx in front. */
export const ANY_REQUEST: readonly ErrorPair[] = [
  connection('bad_request'),
  connection('request_timeout'),
  connection('headers_too_large'),
  edge('missing_host'),
  edge('expectation_failed'),
  edge('invalid_request_target'),
  edge('invalid_path_encoding'),
  edge('invalid_query_encoding'),
  edge('invalid_text'),
  other('internal_error'),
  other('bridge_unavailable'),
  other('bridge_timeout'),
  other('client_rate_limited'),
];

/** A route that reads a JSON body: its media type, encoding, size and JSON syntax and bounds. */
export const JSON_BODY: readonly ErrorPair[] = [
  edge('unsupported_media_type'),
  edge('unsupported_content_encoding'),
  edge('payload_too_large'),
  edge('body_unreadable'),
  edge('invalid_utf8'),
  edge('invalid_json'),
  edge('json_too_deep'),
  edge('json_too_many_keys'),
  edge('forbidden_key'),
];

/** A route with a scope: the API key (bridge/src/access). */
export const KEYED: readonly ErrorPair[] = [
  access('key_missing'),
  access('key_invalid'),
  access('scope_missing'),
  access('rate_limited'),
];

/** A route that may touch accounts a restricted key may not. */
export const TENANT: readonly ErrorPair[] = [access('key_restricted')];

/** The dependencies behind a route being unreachable: 503 with Retry-After. */
export const UNAVAILABLE: readonly ErrorPair[] = [
  other('ledger_unavailable'),
  other('store_unavailable'),
  other('shutting_down'),
];

/** The journal write path adds the batcher and Kafka. */
export const WRITE_UNAVAILABLE: readonly ErrorPair[] = [
  ...UNAVAILABLE,
  other('overloaded'),
  other('events_unavailable'),
];

/** The 400s of a journal body, judged from the body alone (bridge/src/journal/schema.ts). */
export const JOURNAL_SHAPE: readonly ErrorPair[] = (
  [
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
  ] as const
).map(journal);

/** Ledger verdicts on a well-formed journal (bridge/src/journal/plan.ts, verdict.ts). */
export const JOURNAL_VERDICTS: readonly ErrorPair[] = (
  [
    'account_not_found',
    'unbalanced_journal',
    'asset_mismatch',
    'self_transfer',
    'journal_rejected',
    'journal_conflict',
  ] as const
).map(journal);

/** A read that takes a consistency token (bridge/src/journal/consistency.ts). */
export const CONSISTENT_READ: readonly ErrorPair[] = [
  other('invalid_consistency_token'),
  other('projection_behind'),
];
