/**
 * `create_transfer`: one transfer's checks, in TigerBeetle's order, then its effects.
 *
 * Follows `create_transfer`, `create_transfer_exists`, `post_or_void_pending_transfer` and
 * `post_or_void_pending_transfer_exists` in TigerBeetle's src/state_machine.zig (0.16/0.17); the
 * order is also that of `CreateTransferStatus` ("ordered by descending precedence"). The
 * batch-level checks (linked chain, imported flag, timestamp) run before this, in
 * ./state-machine.ts. Every check runs before the first mutation; the effects of a transfer in a
 * linked chain are recorded in the undo log (./undo.ts) first.
 *
 * This is the engine's hot path: no closures, no objects per transfer (the row to append is one
 * reused object), and bigint arithmetic only where a balance changes.
 */
import {
  AccountFlags,
  CreateTransferStatus as S,
  type Transfer,
  TransferFlags,
  U128_MAX,
} from '../port';
import {
  type AccountRec,
  CHUNK_MASK,
  type LedgerState,
  NS_PER_S,
  PENDING_EXPIRED,
  PENDING_PENDING,
  PENDING_POSTED,
  PENDING_VOIDED,
  TIMESTAMP_MAX,
  TransferRow,
} from './state';
import type { UndoLog } from './undo';

const PENDING = TransferFlags.pending;
const POST = TransferFlags.post_pending_transfer;
const VOID = TransferFlags.void_pending_transfer;
const BALANCING = TransferFlags.balancing_debit | TransferFlags.balancing_credit;
const CLOSING_DEBIT = TransferFlags.closing_debit;
const CLOSING_CREDIT = TransferFlags.closing_credit;
const IMPORTED = TransferFlags.imported;
/** Bits of `Transfer.flags` that TigerBeetle defines; the others are reserved. */
const TRANSFER_FLAGS_KNOWN = 0x1ff;
/** Flags that cannot accompany post_pending_transfer / void_pending_transfer. */
const NOT_WITH_POST_OR_VOID = PENDING | BALANCING | CLOSING_DEBIT | CLOSING_CREDIT;

const CLOSED = AccountFlags.closed;
const DEBITS_LIMITED = AccountFlags.debits_must_not_exceed_credits;
const CREDITS_LIMITED = AccountFlags.credits_must_not_exceed_debits;

const row = new TransferRow();

/**
 * Validates and applies `t` at `timestamp` (the user's for imported transfers, already range
 * checked). Returns `created` or why not; for `exists` the caller reads the existing timestamp.
 */
export function createTransfer(
  state: LedgerState,
  undo: UndoLog,
  t: Transfer,
  timestamp: bigint,
): S {
  const flags = t.flags;
  if ((flags & ~TRANSFER_FLAGS_KNOWN) !== 0) return S.reserved_flag;
  const id = t.id;
  if (id === 0n) return S.id_must_not_be_zero;
  if (id === U128_MAX) return S.id_must_not_be_int_max;

  const existing = state.transfers.ids.get(id);
  if (existing >= 0) return transferExists(state, t, existing);
  if (state.failedTransferIds.size !== 0 && state.failedTransferIds.get(id) >= 0) {
    return S.id_already_failed;
  }

  if ((flags & (POST | VOID)) !== 0) return postOrVoidPendingTransfer(state, undo, t, timestamp);

  const debitId = t.debit_account_id;
  const creditId = t.credit_account_id;
  if (debitId === 0n) return S.debit_account_id_must_not_be_zero;
  if (debitId === U128_MAX) return S.debit_account_id_must_not_be_int_max;
  if (creditId === 0n) return S.credit_account_id_must_not_be_zero;
  if (creditId === U128_MAX) return S.credit_account_id_must_not_be_int_max;
  if (creditId === debitId) return S.accounts_must_be_different;
  if (t.pending_id !== 0n) return S.pending_id_must_be_zero;
  if ((flags & PENDING) === 0) {
    if (t.timeout !== 0) return S.timeout_reserved_for_pending_transfer;
    if ((flags & (CLOSING_DEBIT | CLOSING_CREDIT)) !== 0) return S.closing_transfer_must_be_pending;
  }
  if (t.ledger === 0) return S.ledger_must_not_be_zero;
  if (t.code === 0) return S.code_must_not_be_zero;

  const dr = state.account(debitId);
  if (dr === undefined) return S.debit_account_not_found;
  const cr = state.account(creditId);
  if (cr === undefined) return S.credit_account_not_found;
  if (dr.ledger !== cr.ledger) return S.accounts_must_have_the_same_ledger;
  if (t.ledger !== dr.ledger) return S.transfer_must_have_the_same_ledger_as_accounts;

  if ((flags & IMPORTED) !== 0) {
    const status = importedTransferChecks(state, t, dr, cr, timestamp);
    if (status !== S.created) return status;
  }
  if ((dr.flags & CLOSED) !== 0) return S.debit_account_already_closed;
  if ((cr.flags & CLOSED) !== 0) return S.credit_account_already_closed;

  return applyTransfer(state, undo, t, dr, cr, timestamp);
}

/** Imported transfers: after the idempotency check, so a retried import still sees `exists`. */
function importedTransferChecks(
  state: LedgerState,
  t: Transfer,
  dr: AccountRec,
  cr: AccountRec,
  timestamp: bigint,
): S {
  if (timestamp <= state.transfers.lastTimestamp()) {
    return S.imported_event_timestamp_must_not_regress;
  }
  if (state.hasAccountTimestamp(timestamp)) return S.imported_event_timestamp_must_not_regress;
  if (timestamp <= dr.timestamp) return S.imported_event_timestamp_must_postdate_debit_account;
  if (timestamp <= cr.timestamp) return S.imported_event_timestamp_must_postdate_credit_account;
  if (t.timeout !== 0) return S.imported_event_timeout_must_be_zero;
  return S.created;
}

/** Balancing, overflow and limit checks of a single-phase or pending transfer; then its effects. */
function applyTransfer(
  state: LedgerState,
  undo: UndoLog,
  t: Transfer,
  dr: AccountRec,
  cr: AccountRec,
  timestamp: bigint,
): S {
  const flags = t.flags;
  let amount = t.amount;
  if ((flags & TransferFlags.balancing_debit) !== 0) {
    const debits = dr.debits_posted + dr.debits_pending;
    const room = dr.credits_posted > debits ? dr.credits_posted - debits : 0n;
    if (room < amount) amount = room;
  }
  if ((flags & TransferFlags.balancing_credit) !== 0) {
    const credits = cr.credits_posted + cr.credits_pending;
    const room = cr.debits_posted > credits ? cr.debits_posted - credits : 0n;
    if (room < amount) amount = room;
  }

  const pending = (flags & PENDING) !== 0;
  let debitsPending = dr.debits_pending;
  let creditsPending = cr.credits_pending;
  if (pending) {
    debitsPending = amount + debitsPending;
    if (debitsPending > U128_MAX) return S.overflows_debits_pending;
    creditsPending = amount + creditsPending;
    if (creditsPending > U128_MAX) return S.overflows_credits_pending;
  }
  const debitsPosted = amount + dr.debits_posted;
  if (debitsPosted > U128_MAX) return S.overflows_debits_posted;
  const creditsPosted = amount + cr.credits_posted;
  if (creditsPosted > U128_MAX) return S.overflows_credits_posted;
  // amount + pending + posted, without an allocation in the common case of nothing pending.
  const debits = dr.debits_pending === 0n ? debitsPosted : debitsPosted + dr.debits_pending;
  if (debits > U128_MAX) return S.overflows_debits;
  const credits = cr.credits_pending === 0n ? creditsPosted : creditsPosted + cr.credits_pending;
  if (credits > U128_MAX) return S.overflows_credits;
  const timeout = t.timeout;
  let deadline = 0n;
  if (timeout !== 0) {
    deadline = timestamp + BigInt(timeout) * NS_PER_S;
    if (deadline > TIMESTAMP_MAX) return S.overflows_timeout;
  }
  if ((dr.flags & DEBITS_LIMITED) !== 0 && debits > dr.credits_posted) return S.exceeds_credits;
  if ((cr.flags & CREDITS_LIMITED) !== 0 && credits > cr.debits_posted) return S.exceeds_debits;

  // Every check passed: from here on the transfer must succeed.
  undo.saveAccount(dr);
  undo.saveAccount(cr);
  if (pending) {
    dr.debits_pending = debitsPending;
    cr.credits_pending = creditsPending;
  } else {
    dr.debits_posted = debitsPosted;
    cr.credits_posted = creditsPosted;
  }
  if ((flags & CLOSING_DEBIT) !== 0) dr.flags |= CLOSED;
  if ((flags & CLOSING_CREDIT) !== 0) cr.flags |= CLOSED;

  row.id = t.id;
  row.debit = dr.index;
  row.credit = cr.index;
  row.amount = amount;
  row.pendingId = 0n;
  row.userData128 = t.user_data_128;
  row.userData64 = t.user_data_64;
  row.userData32 = t.user_data_32;
  row.timeout = timeout;
  row.ledger = t.ledger;
  row.code = t.code;
  row.flags = flags;
  row.timestamp = timestamp;
  const transfers = state.transfers;
  const at = transfers.append(row);
  if (pending) {
    transfers.setPendingStatus(at, PENDING_PENDING);
    if (timeout !== 0) state.expiries.push(deadline, timestamp, at);
  }
  dr.pushRow(at);
  cr.pushRow(at);
  return S.created;
}

/** TigerBeetle's `create_transfer_exists`: flags first, as they change what the rest means. */
function transferExists(state: LedgerState, t: Transfer, e: number): S {
  const transfers = state.transfers;
  const c = transfers.chunk(e);
  const o = e & CHUNK_MASK;
  if (t.flags !== c.flags[o]) return S.exists_with_different_flags;
  if (t.pending_id !== transfers.pendingId(e)) return S.exists_with_different_pending_id;
  if (t.timeout !== c.timeout[o]) return S.exists_with_different_timeout;
  if ((t.flags & (POST | VOID)) !== 0) {
    // Same flags and pending_id as a transfer that posted or voided it: the pending one exists.
    const p = transfers.ids.get(t.pending_id);
    if (p < 0) throw new Error(`transfer ${t.id}: its pending transfer ${t.pending_id} is gone`);
    return postOrVoidExists(state, t, e, p);
  }
  if (t.debit_account_id !== state.accounts[c.debit[o]!]!.id) {
    return S.exists_with_different_debit_account_id;
  }
  if (t.credit_account_id !== state.accounts[c.credit[o]!]!.id) {
    return S.exists_with_different_credit_account_id;
  }
  // A balancing transfer's amount is an upper bound: a retry with the same bound (or any bound
  // at least the amount that moved) is the same request.
  const amount = transfers.amount(e);
  if ((t.flags & BALANCING) !== 0 ? t.amount < amount : t.amount !== amount) {
    return S.exists_with_different_amount;
  }
  if (t.user_data_128 !== transfers.userData128(e)) return S.exists_with_different_user_data_128;
  if (t.user_data_64 !== c.userData64[o]) return S.exists_with_different_user_data_64;
  if (t.user_data_32 !== c.userData32[o]) return S.exists_with_different_user_data_32;
  if (t.ledger !== c.ledger[o]) return S.exists_with_different_ledger;
  if (t.code !== c.code[o]) return S.exists_with_different_code;
  return S.exists;
}

/** TigerBeetle's `post_or_void_pending_transfer_exists`: zero fields default to the pending's. */
function postOrVoidExists(state: LedgerState, t: Transfer, e: number, p: number): S {
  const transfers = state.transfers;
  const c = transfers.chunk(e);
  const o = e & CHUNK_MASK;
  const pc = transfers.chunk(p);
  const po = p & CHUNK_MASK;
  const debitId = state.accounts[c.debit[o]!]!.id;
  const creditId = state.accounts[c.credit[o]!]!.id;
  if (t.debit_account_id !== 0n && t.debit_account_id !== debitId) {
    return S.exists_with_different_debit_account_id;
  }
  if (t.credit_account_id !== 0n && t.credit_account_id !== creditId) {
    return S.exists_with_different_credit_account_id;
  }
  const amount = transfers.amount(e);
  const whole = (t.flags & VOID) !== 0 ? t.amount === 0n : t.amount === U128_MAX;
  if (whole ? amount !== transfers.amount(p) : t.amount !== amount) {
    return S.exists_with_different_amount;
  }
  const ud128 = transfers.userData128(e);
  if (t.user_data_128 === 0n ? ud128 !== transfers.userData128(p) : t.user_data_128 !== ud128) {
    return S.exists_with_different_user_data_128;
  }
  const ud64 = c.userData64[o]!;
  if (t.user_data_64 === 0n ? ud64 !== pc.userData64[po] : t.user_data_64 !== ud64) {
    return S.exists_with_different_user_data_64;
  }
  const ud32 = c.userData32[o]!;
  if (t.user_data_32 === 0 ? ud32 !== pc.userData32[po] : t.user_data_32 !== ud32) {
    return S.exists_with_different_user_data_32;
  }
  if (t.ledger !== 0 && t.ledger !== c.ledger[o]) return S.exists_with_different_ledger;
  if (t.code !== 0 && t.code !== c.code[o]) return S.exists_with_different_code;
  return S.exists;
}

/** TigerBeetle's `post_or_void_pending_transfer`, up to its effects. */
function postOrVoidPendingTransfer(
  state: LedgerState,
  undo: UndoLog,
  t: Transfer,
  timestamp: bigint,
): S {
  const flags = t.flags;
  if ((flags & POST) !== 0 && (flags & VOID) !== 0) return S.flags_are_mutually_exclusive;
  if ((flags & NOT_WITH_POST_OR_VOID) !== 0) return S.flags_are_mutually_exclusive;
  const pendingId = t.pending_id;
  if (pendingId === 0n) return S.pending_id_must_not_be_zero;
  if (pendingId === U128_MAX) return S.pending_id_must_not_be_int_max;
  if (pendingId === t.id) return S.pending_id_must_be_different;
  if (t.timeout !== 0) return S.timeout_reserved_for_pending_transfer;

  const transfers = state.transfers;
  const p = transfers.ids.get(pendingId);
  if (p < 0) return S.pending_transfer_not_found;
  const pc = transfers.chunk(p);
  const po = p & CHUNK_MASK;
  const pendingFlags = pc.flags[po]!;
  if ((pendingFlags & PENDING) === 0) return S.pending_transfer_not_pending;
  const dr = state.accounts[pc.debit[po]!]!;
  const cr = state.accounts[pc.credit[po]!]!;
  if (t.debit_account_id !== 0n && t.debit_account_id !== dr.id) {
    return S.pending_transfer_has_different_debit_account_id;
  }
  if (t.credit_account_id !== 0n && t.credit_account_id !== cr.id) {
    return S.pending_transfer_has_different_credit_account_id;
  }
  // user_data may differ between a pending transfer and the transfer resolving it.
  if (t.ledger !== 0 && t.ledger !== pc.ledger[po]) return S.pending_transfer_has_different_ledger;
  if (t.code !== 0 && t.code !== pc.code[po]) return S.pending_transfer_has_different_code;

  // Void: 0 means the whole amount. Post: AMOUNT_MAX means the whole amount, 0 posts nothing.
  const isVoid = (flags & VOID) !== 0;
  const pendingAmount = transfers.amount(p);
  let amount = t.amount;
  if (isVoid ? amount === 0n : amount === U128_MAX) amount = pendingAmount;
  if (amount > pendingAmount) return S.exceeds_pending_transfer_amount;
  if (isVoid && amount < pendingAmount) return S.pending_transfer_has_different_amount;

  switch (pc.pendingStatus[po]) {
    case PENDING_POSTED:
      return S.pending_transfer_already_posted;
    case PENDING_VOIDED:
      return S.pending_transfer_already_voided;
    case PENDING_EXPIRED:
      return S.pending_transfer_expired;
  }
  const pendingTimeout = pc.timeout[po]!;
  if (pendingTimeout !== 0) {
    const deadline = pc.timestamp[po]! + BigInt(pendingTimeout) * NS_PER_S;
    // Expired but not yet released by a pulse: the outcome must not depend on pulse timing.
    if (deadline <= timestamp) return S.pending_transfer_expired;
  }
  if ((flags & IMPORTED) !== 0) {
    if (timestamp <= transfers.lastTimestamp()) return S.imported_event_timestamp_must_not_regress;
    if (state.hasAccountTimestamp(timestamp)) return S.imported_event_timestamp_must_not_regress;
  }
  // The only movement allowed in a closed account is voiding a pending transfer.
  if (!isVoid) {
    if ((dr.flags & CLOSED) !== 0) return S.debit_account_already_closed;
    if ((cr.flags & CLOSED) !== 0) return S.credit_account_already_closed;
  }

  applyPostOrVoid(state, undo, t, p, dr, cr, amount, pendingAmount, timestamp);
  return S.created;
}

function applyPostOrVoid(
  state: LedgerState,
  undo: UndoLog,
  t: Transfer,
  p: number,
  dr: AccountRec,
  cr: AccountRec,
  amount: bigint,
  pendingAmount: bigint,
  timestamp: bigint,
): void {
  const transfers = state.transfers;
  const pc = transfers.chunk(p);
  const po = p & CHUNK_MASK;
  const pendingFlags = pc.flags[po]!;
  const isVoid = (t.flags & VOID) !== 0;
  undo.saveAccount(dr);
  undo.saveAccount(cr);
  undo.savePendingResolved(p);
  dr.debits_pending -= pendingAmount;
  cr.credits_pending -= pendingAmount;
  if (isVoid) {
    // Voiding a closing transfer reopens the account it closed.
    if ((pendingFlags & CLOSING_DEBIT) !== 0) dr.flags &= ~CLOSED;
    if ((pendingFlags & CLOSING_CREDIT) !== 0) cr.flags &= ~CLOSED;
  } else {
    dr.debits_posted += amount;
    cr.credits_posted += amount;
  }
  transfers.setPendingStatus(p, isVoid ? PENDING_VOIDED : PENDING_POSTED);

  row.id = t.id;
  row.debit = dr.index;
  row.credit = cr.index;
  row.amount = amount;
  row.pendingId = t.pending_id;
  row.userData128 = t.user_data_128 !== 0n ? t.user_data_128 : transfers.userData128(p);
  row.userData64 = t.user_data_64 !== 0n ? t.user_data_64 : pc.userData64[po]!;
  row.userData32 = t.user_data_32 !== 0 ? t.user_data_32 : pc.userData32[po]!;
  row.timeout = 0;
  row.ledger = pc.ledger[po]!;
  row.code = pc.code[po]!;
  row.flags = t.flags;
  row.timestamp = timestamp;
  const at = transfers.append(row);
  dr.pushRow(at);
  cr.pushRow(at);
}
