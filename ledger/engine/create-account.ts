/**
 * `create_account`: one account's checks, in TigerBeetle's order, then its insertion.
 *
 * Follows `create_account` / `create_account_exists` in TigerBeetle's src/state_machine.zig
 * (0.16/0.17): the batch-level checks (linked chain, imported flag, timestamp) run before this, in
 * ./state-machine.ts. Every check runs before any mutation, so a failed account leaves no trace;
 * a linked chain is undone through the undo log (./undo.ts).
 */
import { type Account, AccountFlags, CreateAccountStatus, U128_MAX } from '../port';
import { AccountRec, type LedgerState } from './state';

/** Bits of `Account.flags` that TigerBeetle defines; the others are reserved. */
const ACCOUNT_FLAGS_KNOWN =
  AccountFlags.linked |
  AccountFlags.debits_must_not_exceed_credits |
  AccountFlags.credits_must_not_exceed_debits |
  AccountFlags.history |
  AccountFlags.imported |
  AccountFlags.closed;

const LIMITS_BOTH =
  AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits;

/**
 * Validates and inserts `a` with `timestamp` (the user's for imported accounts, already range
 * checked). Returns `created` or why not; for `exists` the caller reads the existing timestamp.
 */
export function createAccount(
  state: LedgerState,
  a: Account,
  timestamp: bigint,
): CreateAccountStatus {
  if (a.reserved !== 0) return CreateAccountStatus.reserved_field;
  if ((a.flags & ~ACCOUNT_FLAGS_KNOWN) !== 0) return CreateAccountStatus.reserved_flag;
  if (a.id === 0n) return CreateAccountStatus.id_must_not_be_zero;
  if (a.id === U128_MAX) return CreateAccountStatus.id_must_not_be_int_max;

  const existing = state.account(a.id);
  if (existing !== undefined) return accountExists(a, existing);

  if ((a.flags & LIMITS_BOTH) === LIMITS_BOTH) {
    return CreateAccountStatus.flags_are_mutually_exclusive;
  }
  if (a.debits_pending !== 0n) return CreateAccountStatus.debits_pending_must_be_zero;
  if (a.debits_posted !== 0n) return CreateAccountStatus.debits_posted_must_be_zero;
  if (a.credits_pending !== 0n) return CreateAccountStatus.credits_pending_must_be_zero;
  if (a.credits_posted !== 0n) return CreateAccountStatus.credits_posted_must_be_zero;
  if (a.ledger === 0) return CreateAccountStatus.ledger_must_not_be_zero;
  if (a.code === 0) return CreateAccountStatus.code_must_not_be_zero;

  if ((a.flags & AccountFlags.imported) !== 0) {
    // After the idempotency check, so that a retried import still sees `exists`.
    if (timestamp <= state.lastAccountTimestamp()) {
      return CreateAccountStatus.imported_event_timestamp_must_not_regress;
    }
    if (state.transfers.hasTimestamp(timestamp)) {
      return CreateAccountStatus.imported_event_timestamp_must_not_regress;
    }
  }

  // A linked chain's rollback truncates `accounts` to its length when the chain opened.
  const index = state.accounts.length;
  const added = state.accountIds.add(a.id);
  if (added !== index) throw new Error(`account index ${added} != ${index}: indexes diverged`);
  state.accounts.push(
    new AccountRec(
      a.id,
      index,
      a.user_data_128,
      a.user_data_64,
      a.user_data_32,
      a.ledger,
      a.code,
      a.flags,
      timestamp,
    ),
  );
  return CreateAccountStatus.created;
}

/** TigerBeetle's `create_account_exists`: the first differing field, in this order. */
function accountExists(a: Account, e: AccountRec): CreateAccountStatus {
  if (a.flags !== e.flags) return CreateAccountStatus.exists_with_different_flags;
  if (a.user_data_128 !== e.user_data_128) {
    return CreateAccountStatus.exists_with_different_user_data_128;
  }
  if (a.user_data_64 !== e.user_data_64) {
    return CreateAccountStatus.exists_with_different_user_data_64;
  }
  if (a.user_data_32 !== e.user_data_32) {
    return CreateAccountStatus.exists_with_different_user_data_32;
  }
  if (a.ledger !== e.ledger) return CreateAccountStatus.exists_with_different_ledger;
  if (a.code !== e.code) return CreateAccountStatus.exists_with_different_code;
  return CreateAccountStatus.exists;
}
