/**
 * What TigerBeetle's answer to one journal's linked chain means for the journal.
 *
 * A chain is all-or-nothing: when one event fails, the others answer `linked_event_failed` and
 * nothing is applied. So the cause is the first status that is neither `created` nor
 * `linked_event_failed`; `exists` there means the whole chain was committed by an earlier attempt
 * (a retry), and `exists_with_different_*` that the journal id is taken by other content.
 */
import { CreateTransferStatus, type CreateTransferResult } from '../../../ledger/port';

export type ChainVerdict =
  | { kind: 'created' }
  | { kind: 'exists' }
  | { kind: 'conflict'; index: number; status: CreateTransferStatus }
  | { kind: 'rejected'; index: number; status: CreateTransferStatus };

/** Which journal line a failing transfer's status points at. */
export type StatusSide = 'debit' | 'credit' | 'journal';

const S = CreateTransferStatus;

/** Exhaustive: a status added by a client upgrade does not compile until it is placed here. */
export const STATUS_SIDE: Readonly<Record<CreateTransferStatus, StatusSide>> = {
  [S.created]: 'journal',
  [S.linked_event_failed]: 'journal',
  [S.linked_event_chain_open]: 'journal',
  [S.imported_event_expected]: 'journal',
  [S.imported_event_not_expected]: 'journal',
  [S.timestamp_must_be_zero]: 'journal',
  [S.imported_event_timestamp_out_of_range]: 'journal',
  [S.imported_event_timestamp_must_not_advance]: 'journal',
  [S.reserved_flag]: 'journal',
  [S.id_must_not_be_zero]: 'journal',
  [S.id_must_not_be_int_max]: 'journal',
  [S.exists_with_different_flags]: 'journal',
  [S.exists_with_different_pending_id]: 'journal',
  [S.exists_with_different_timeout]: 'journal',
  [S.exists_with_different_debit_account_id]: 'debit',
  [S.exists_with_different_credit_account_id]: 'credit',
  [S.exists_with_different_amount]: 'journal',
  [S.exists_with_different_user_data_128]: 'journal',
  [S.exists_with_different_user_data_64]: 'journal',
  [S.exists_with_different_user_data_32]: 'journal',
  [S.exists_with_different_ledger]: 'journal',
  [S.exists_with_different_code]: 'journal',
  [S.exists]: 'journal',
  [S.id_already_failed]: 'journal',
  [S.flags_are_mutually_exclusive]: 'journal',
  [S.debit_account_id_must_not_be_zero]: 'debit',
  [S.debit_account_id_must_not_be_int_max]: 'debit',
  [S.credit_account_id_must_not_be_zero]: 'credit',
  [S.credit_account_id_must_not_be_int_max]: 'credit',
  [S.accounts_must_be_different]: 'journal',
  [S.pending_id_must_be_zero]: 'journal',
  [S.pending_id_must_not_be_zero]: 'journal',
  [S.pending_id_must_not_be_int_max]: 'journal',
  [S.pending_id_must_be_different]: 'journal',
  [S.timeout_reserved_for_pending_transfer]: 'journal',
  [S.closing_transfer_must_be_pending]: 'journal',
  [S.ledger_must_not_be_zero]: 'journal',
  [S.code_must_not_be_zero]: 'journal',
  [S.debit_account_not_found]: 'debit',
  [S.credit_account_not_found]: 'credit',
  [S.accounts_must_have_the_same_ledger]: 'credit',
  [S.transfer_must_have_the_same_ledger_as_accounts]: 'journal',
  [S.pending_transfer_not_found]: 'journal',
  [S.pending_transfer_not_pending]: 'journal',
  [S.pending_transfer_has_different_debit_account_id]: 'debit',
  [S.pending_transfer_has_different_credit_account_id]: 'credit',
  [S.pending_transfer_has_different_ledger]: 'journal',
  [S.pending_transfer_has_different_code]: 'journal',
  [S.exceeds_pending_transfer_amount]: 'journal',
  [S.pending_transfer_has_different_amount]: 'journal',
  [S.pending_transfer_already_posted]: 'journal',
  [S.pending_transfer_already_voided]: 'journal',
  [S.pending_transfer_expired]: 'journal',
  [S.imported_event_timestamp_must_not_regress]: 'journal',
  [S.imported_event_timestamp_must_postdate_debit_account]: 'debit',
  [S.imported_event_timestamp_must_postdate_credit_account]: 'credit',
  [S.imported_event_timeout_must_be_zero]: 'journal',
  [S.debit_account_already_closed]: 'debit',
  [S.credit_account_already_closed]: 'credit',
  [S.overflows_debits_pending]: 'debit',
  [S.overflows_credits_pending]: 'credit',
  [S.overflows_debits_posted]: 'debit',
  [S.overflows_credits_posted]: 'credit',
  [S.overflows_debits]: 'debit',
  [S.overflows_credits]: 'credit',
  [S.overflows_timeout]: 'journal',
  // The debit account's debits would exceed its credits: the debit line lacks funds.
  [S.exceeds_credits]: 'debit',
  [S.exceeds_debits]: 'credit',
};

const CONFLICTS: ReadonlySet<CreateTransferStatus> = new Set([
  S.exists_with_different_flags,
  S.exists_with_different_pending_id,
  S.exists_with_different_timeout,
  S.exists_with_different_debit_account_id,
  S.exists_with_different_credit_account_id,
  S.exists_with_different_amount,
  S.exists_with_different_user_data_128,
  S.exists_with_different_user_data_64,
  S.exists_with_different_user_data_32,
  S.exists_with_different_ledger,
  S.exists_with_different_code,
]);

export function judgeChain(results: readonly CreateTransferResult[]): ChainVerdict {
  if (results.length === 0) throw new Error('judgeChain: a chain has at least one transfer');
  for (let index = 0; index < results.length; index++) {
    const status = results[index]!.status;
    if (status === S.created || status === S.linked_event_failed) continue;
    if (status === S.exists) return { kind: 'exists' };
    if (CONFLICTS.has(status)) return { kind: 'conflict', index, status };
    return { kind: 'rejected', index, status };
  }
  if (results.some((r) => r.status !== S.created)) {
    // Every event failed as "linked" with no cause: TigerBeetle never answers that.
    throw new Error('judgeChain: a failed chain without a failing event');
  }
  return { kind: 'created' };
}

export function statusName(status: CreateTransferStatus): string {
  const name = CreateTransferStatus[status] as string | undefined;
  if (name === undefined) throw new Error(`unknown CreateTransferStatus ${status}`);
  return name;
}
