/**
 * Every way the control plane can refuse or fail, as a closed set of stable codes with their HTTP
 * statuses, and the exhaustive mapping of TigerBeetle's account results onto them.
 */
import { ServiceError } from '../../../core/errors';
import { CreateAccountStatus } from '../../../ledger/port';

export type AccountErrorCode =
  | 'invalid_input'
  | 'account_not_found'
  | 'account_conflict'
  | 'unknown_asset'
  | 'unknown_account_type'
  | 'asset_conflict'
  | 'account_type_conflict'
  | 'ledger_in_use'
  | 'tb_code_in_use'
  | 'ledger_unavailable'
  | 'store_unavailable'
  | 'ledger_rejected';

export const ACCOUNT_ERROR_HTTP: Record<AccountErrorCode, number> = {
  invalid_input: 400,
  account_not_found: 404,
  // The account id exists with other content (in PostgreSQL or in TigerBeetle).
  account_conflict: 409,
  unknown_asset: 422,
  unknown_account_type: 422,
  // The asset or type code exists with other content.
  asset_conflict: 409,
  account_type_conflict: 409,
  // Another asset has the ledger, another type the tbCode: each names one TigerBeetle value.
  ledger_in_use: 409,
  tb_code_in_use: 409,
  // Retry later with the same request: creation is idempotent.
  ledger_unavailable: 503,
  store_unavailable: 503,
  // TigerBeetle refused an account the bridge built: a bug in the bridge, never the client's.
  ledger_rejected: 500,
};

export class AccountError extends ServiceError {
  override readonly name = 'AccountError';
  readonly httpStatus: number;

  constructor(
    readonly code: AccountErrorCode,
    message: string,
    /** The offending input field (dot path), where there is one. */
    field?: string,
    /** TigerBeetle's status name, for `ledger_rejected`. */
    readonly ledgerStatus?: string,
    /** Further facts for the client, e.g. the `valid` codes beside an unknown one. */
    private readonly facts: Readonly<Record<string, unknown>> = {},
  ) {
    super(message, field === undefined ? {} : { field });
    this.httpStatus = ACCOUNT_ERROR_HTTP[code];
  }

  override details(): Readonly<Record<string, unknown>> {
    return this.ledgerStatus === undefined
      ? this.facts
      : { ...this.facts, status: this.ledgerStatus };
  }
}

/**
 * A 422 for a code the registry does not hold, naming the field and listing the codes it does
 * hold (in the message and as `valid`), so a client can correct itself without the docs.
 */
export function unknownCode(
  kind: 'asset' | 'account type',
  code: string,
  field: string,
  valid: readonly string[],
): AccountError {
  const errorCode = kind === 'asset' ? 'unknown_asset' : 'unknown_account_type';
  const message = `unknown ${kind} '${code}'; valid: ${valid.join(', ')}`;
  return new AccountError(errorCode, message, field, undefined, { valid: [...valid] });
}

/**
 * What a TigerBeetle create_accounts status means for the control plane:
 * `ok`; a conflict naming the input field TigerBeetle's account disagrees on; or a rejection of an
 * account the bridge built wrongly. A status added in a client upgrade fails to compile here.
 */
export type CreateAccountOutcome =
  { kind: 'ok' } | { kind: 'conflict'; field: string } | { kind: 'rejected' };

const OK = { kind: 'ok' } as const;
const REJECTED = { kind: 'rejected' } as const;
const conflict = (field: string) => ({ kind: 'conflict', field }) as const;

export const CREATE_ACCOUNT_OUTCOME: Record<CreateAccountStatus, CreateAccountOutcome> = {
  [CreateAccountStatus.created]: OK,
  [CreateAccountStatus.exists]: OK,
  [CreateAccountStatus.exists_with_different_flags]: conflict('flags'),
  [CreateAccountStatus.exists_with_different_ledger]: conflict('asset'),
  [CreateAccountStatus.exists_with_different_code]: conflict('accountType'),
  // Someone else's account under this id: the bridge never sets user data.
  [CreateAccountStatus.exists_with_different_user_data_128]: conflict('accountId'),
  [CreateAccountStatus.exists_with_different_user_data_64]: conflict('accountId'),
  [CreateAccountStatus.exists_with_different_user_data_32]: conflict('accountId'),
  [CreateAccountStatus.linked_event_failed]: REJECTED,
  [CreateAccountStatus.linked_event_chain_open]: REJECTED,
  [CreateAccountStatus.imported_event_expected]: REJECTED,
  [CreateAccountStatus.imported_event_not_expected]: REJECTED,
  [CreateAccountStatus.timestamp_must_be_zero]: REJECTED,
  [CreateAccountStatus.imported_event_timestamp_out_of_range]: REJECTED,
  [CreateAccountStatus.imported_event_timestamp_must_not_advance]: REJECTED,
  [CreateAccountStatus.imported_event_timestamp_must_not_regress]: REJECTED,
  [CreateAccountStatus.reserved_field]: REJECTED,
  [CreateAccountStatus.reserved_flag]: REJECTED,
  [CreateAccountStatus.id_must_not_be_zero]: REJECTED,
  [CreateAccountStatus.id_must_not_be_int_max]: REJECTED,
  [CreateAccountStatus.flags_are_mutually_exclusive]: REJECTED,
  [CreateAccountStatus.debits_pending_must_be_zero]: REJECTED,
  [CreateAccountStatus.debits_posted_must_be_zero]: REJECTED,
  [CreateAccountStatus.credits_pending_must_be_zero]: REJECTED,
  [CreateAccountStatus.credits_posted_must_be_zero]: REJECTED,
  [CreateAccountStatus.ledger_must_not_be_zero]: REJECTED,
  [CreateAccountStatus.code_must_not_be_zero]: REJECTED,
};

/** The outcome for a status, throwing on a value outside the enum (a wire or engine bug). */
export function createAccountOutcome(status: CreateAccountStatus): CreateAccountOutcome {
  const outcome = CREATE_ACCOUNT_OUTCOME[status] as CreateAccountOutcome | undefined;
  if (outcome === undefined) throw new Error(`unknown create_accounts status ${String(status)}`);
  return outcome;
}

export function statusName(status: CreateAccountStatus): string {
  return CreateAccountStatus[status] ?? `status_${String(status)}`;
}

/**
 * Accounts are idempotent by id: creating one again with the same content answers the stored
 * account, with other content `account_conflict` naming the first field that differs (in the
 * order `compared` lists them, then `metadata`).
 */
export function assertSameAccount<Row>(
  accountId: string,
  stored: Row & { metadata_equal: boolean },
  wanted: Row,
  compared: readonly (readonly [keyof Row, string])[],
): void {
  const differing = compared.find(([column]) => stored[column] !== wanted[column]);
  const field = differing?.[1] ?? (stored.metadata_equal ? undefined : 'metadata');
  if (field !== undefined) {
    throw new AccountError(
      'account_conflict',
      `account ${accountId} already exists with a different ${field}`,
      field,
    );
  }
}
