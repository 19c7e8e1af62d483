/**
 * The read operations: lookup_accounts, lookup_transfers, get_account_transfers,
 * get_account_balances, query_accounts, query_transfers, and get_change_events.
 *
 * Semantics follow TigerBeetle's src/state_machine.zig: an invalid filter is not an error but an
 * empty result; timestamp_min and timestamp_max are inclusive, 0 meaning unbounded, and a bound
 * above TigerBeetle's largest timestamp (2^63 - 1) makes the whole filter invalid; results are in
 * timestamp order, reversed with the `reversed` flag; a zero filter field matches everything.
 * A `limit` over what one reply can hold (BATCH_EVENTS_MAX) never gets here: the client refuses
 * it (./ledger.ts), as tigerbeetle-node does. Balances are only kept, and
 * returned, for accounts with `flags.history`: one per transfer of that account, as it stood
 * after the transfer (pulse expiries are not transfers and have no entry, as in TigerBeetle).
 *
 * Every object returned is new: callers may keep or mutate it.
 */
import {
  type Account,
  type AccountBalance,
  type AccountFilter,
  AccountFilterFlags,
  BATCH_EVENTS_MAX,
  type QueryFilter,
  QueryFilterFlags,
  type Transfer,
  U128_MAX,
} from '../port';
import {
  type ChangeAccount,
  CHANGE_EVENTS_MAX,
  CHANGE_TYPES,
  type ChangeStore,
  type LedgerChange,
} from './changes';
import {
  type AccountRec,
  CHUNK_MASK,
  type LedgerState,
  TIMESTAMP_MAX,
  TIMESTAMP_MIN,
} from './state';

const ACCOUNT_FILTER_FLAGS_KNOWN =
  AccountFilterFlags.debits | AccountFilterFlags.credits | AccountFilterFlags.reversed;
const QUERY_FILTER_FLAGS_KNOWN = QueryFilterFlags.reversed;

/** Inclusive timestamp bounds of a valid filter, or null for an invalid one. */
interface Range {
  min: bigint;
  max: bigint;
  limit: number;
  reversed: boolean;
}

function range(
  timestampMin: bigint,
  timestampMax: bigint,
  limit: number,
  reversed: boolean,
): Range | null {
  if (limit > BATCH_EVENTS_MAX) {
    throw new Error(`filter limit ${limit} over ${BATCH_EVENTS_MAX}: the client must refuse it`);
  }
  // TigerBeetle 0.17.9 finds nothing for any bound in 2^63 .. 2^64 - 1, not only u64 max
  // (verified on a cluster: test/support/conformance/queries.ts).
  if (timestampMin > TIMESTAMP_MAX || timestampMax > TIMESTAMP_MAX) return null;
  if (timestampMax !== 0n && timestampMin > timestampMax) return null;
  if (limit === 0) return null;
  return {
    min: timestampMin === 0n ? TIMESTAMP_MIN : timestampMin,
    max: timestampMax === 0n ? TIMESTAMP_MAX : timestampMax,
    limit,
    reversed,
  };
}

function accountFilterRange(filter: AccountFilter): Range | null {
  if (filter.account_id === 0n || filter.account_id === U128_MAX) return null;
  if ((filter.flags & ~ACCOUNT_FILTER_FLAGS_KNOWN) !== 0) return null;
  const sides = AccountFilterFlags.debits | AccountFilterFlags.credits;
  if ((filter.flags & sides) === 0) return null;
  const reversed = (filter.flags & AccountFilterFlags.reversed) !== 0;
  return range(filter.timestamp_min, filter.timestamp_max, filter.limit, reversed);
}

function queryFilterRange(filter: QueryFilter): Range | null {
  if ((filter.flags & ~QUERY_FILTER_FLAGS_KNOWN) !== 0) return null;
  const reversed = (filter.flags & QueryFilterFlags.reversed) !== 0;
  return range(filter.timestamp_min, filter.timestamp_max, filter.limit, reversed);
}

export function readAccount(a: AccountRec): Account {
  return {
    id: a.id,
    debits_pending: a.debits_pending,
    debits_posted: a.debits_posted,
    credits_pending: a.credits_pending,
    credits_posted: a.credits_posted,
    user_data_128: a.user_data_128,
    user_data_64: a.user_data_64,
    user_data_32: a.user_data_32,
    reserved: 0,
    ledger: a.ledger,
    code: a.code,
    flags: a.flags,
    timestamp: a.timestamp,
  };
}

export function readTransfer(state: LedgerState, row: number): Transfer {
  const transfers = state.transfers;
  const c = transfers.chunk(row);
  const o = row & CHUNK_MASK;
  return {
    id: transfers.ids.keyAt(row),
    debit_account_id: state.accounts[c.debit[o]!]!.id,
    credit_account_id: state.accounts[c.credit[o]!]!.id,
    amount: transfers.amount(row),
    pending_id: transfers.pendingId(row),
    user_data_128: transfers.userData128(row),
    user_data_64: c.userData64[o]!,
    user_data_32: c.userData32[o]!,
    timeout: c.timeout[o]!,
    ledger: c.ledger[o]!,
    code: c.code[o]!,
    flags: c.flags[o]!,
    timestamp: c.timestamp[o]!,
  };
}

/** Found accounts, in the order of `ids`; missing ids are skipped. */
export function lookupAccounts(state: LedgerState, ids: readonly bigint[]): Account[] {
  const found: Account[] = [];
  for (const id of ids) {
    const account = state.account(id);
    if (account !== undefined) found.push(readAccount(account));
  }
  return found;
}

/** Found transfers, in the order of `ids`; missing ids are skipped. */
export function lookupTransfers(state: LedgerState, ids: readonly bigint[]): Transfer[] {
  const found: Transfer[] = [];
  for (const id of ids) {
    const row = state.transfers.ids.get(id);
    if (row >= 0) found.push(readTransfer(state, row));
  }
  return found;
}

export function getAccountTransfers(state: LedgerState, filter: AccountFilter): Transfer[] {
  const r = accountFilterRange(filter);
  const account = r === null ? undefined : state.account(filter.account_id);
  if (r === null || account === undefined) return [];
  return accountPositions(state, account, filter, r).map((p) =>
    readTransfer(state, account.rows[p]!),
  );
}

export function getAccountBalances(state: LedgerState, filter: AccountFilter): AccountBalance[] {
  const r = accountFilterRange(filter);
  const account = r === null ? undefined : state.account(filter.account_id);
  if (r === null || account === undefined || account.history === null) return [];
  return accountPositions(state, account, filter, r).map((p) => {
    const [debitsPending, debitsPosted, creditsPending, creditsPosted] = account.balanceAt(p);
    return {
      debits_pending: debitsPending,
      debits_posted: debitsPosted,
      credits_pending: creditsPending,
      credits_posted: creditsPosted,
      timestamp: state.transfers.timestamp(account.rows[p]!),
    };
  });
}

/** Positions in `account.rows` of the transfers matching `filter`, in the requested order. */
function accountPositions(
  state: LedgerState,
  account: AccountRec,
  filter: AccountFilter,
  r: Range,
): number[] {
  const transfers = state.transfers;
  const rows = account.rows;
  const timestampAt = (p: number): bigint => transfers.timestamp(rows[p]!);
  const first = lowerBound(account.rowCount, timestampAt, r.min);
  const end = lowerBound(account.rowCount, timestampAt, r.max + 1n);
  const debits = (filter.flags & AccountFilterFlags.debits) !== 0;
  const credits = (filter.flags & AccountFilterFlags.credits) !== 0;
  const positions: number[] = [];
  for (let i = 0; i < end - first && positions.length < r.limit; i++) {
    const p = r.reversed ? end - 1 - i : first + i;
    const row = rows[p]!;
    const c = transfers.chunk(row);
    const o = row & CHUNK_MASK;
    const side =
      (debits && c.debit[o] === account.index) || (credits && c.credit[o] === account.index);
    if (!side) continue;
    if (filter.user_data_128 !== 0n && transfers.userData128(row) !== filter.user_data_128)
      continue;
    if (filter.user_data_64 !== 0n && c.userData64[o] !== filter.user_data_64) continue;
    if (filter.user_data_32 !== 0 && c.userData32[o] !== filter.user_data_32) continue;
    if (filter.code !== 0 && c.code[o] !== filter.code) continue;
    positions.push(p);
  }
  return positions;
}

export function queryAccounts(state: LedgerState, filter: QueryFilter): Account[] {
  const r = queryFilterRange(filter);
  if (r === null) return [];
  const accounts = state.accounts;
  const timestampAt = (i: number): bigint => accounts[i]!.timestamp;
  const first = lowerBound(accounts.length, timestampAt, r.min);
  const end = lowerBound(accounts.length, timestampAt, r.max + 1n);
  const found: Account[] = [];
  for (let i = 0; i < end - first && found.length < r.limit; i++) {
    const a = accounts[r.reversed ? end - 1 - i : first + i]!;
    if (filter.user_data_128 !== 0n && a.user_data_128 !== filter.user_data_128) continue;
    if (filter.user_data_64 !== 0n && a.user_data_64 !== filter.user_data_64) continue;
    if (filter.user_data_32 !== 0 && a.user_data_32 !== filter.user_data_32) continue;
    if (filter.ledger !== 0 && a.ledger !== filter.ledger) continue;
    if (filter.code !== 0 && a.code !== filter.code) continue;
    found.push(readAccount(a));
  }
  return found;
}

export function queryTransfers(state: LedgerState, filter: QueryFilter): Transfer[] {
  const r = queryFilterRange(filter);
  if (r === null) return [];
  const transfers = state.transfers;
  const first = transfers.lowerBound(r.min);
  const end = transfers.lowerBound(r.max + 1n);
  const found: Transfer[] = [];
  for (let i = 0; i < end - first && found.length < r.limit; i++) {
    const row = r.reversed ? end - 1 - i : first + i;
    const c = transfers.chunk(row);
    const o = row & CHUNK_MASK;
    if (filter.user_data_128 !== 0n && transfers.userData128(row) !== filter.user_data_128)
      continue;
    if (filter.user_data_64 !== 0n && c.userData64[o] !== filter.user_data_64) continue;
    if (filter.user_data_32 !== 0 && c.userData32[o] !== filter.user_data_32) continue;
    if (filter.ledger !== 0 && c.ledger[o] !== filter.ledger) continue;
    if (filter.code !== 0 && c.code[o] !== filter.code) continue;
    found.push(readTransfer(state, row));
  }
  return found;
}

/**
 * TigerBeetle's get_change_events: the events with a timestamp >= `timestampMin` (0: from the
 * first), in timestamp order, at most `limit`. As its filter, a limit of 0 or a bound above its
 * timestamp range finds nothing; a limit over one reply's worth never gets here (./ledger.ts).
 */
export function readChanges(
  state: LedgerState,
  timestampMin: bigint,
  limit: number,
): LedgerChange[] {
  if (!Number.isInteger(limit) || limit < 0 || limit > CHANGE_EVENTS_MAX) {
    throw new Error(`get_change_events: limit ${limit} out of [0, ${CHANGE_EVENTS_MAX}]`);
  }
  const found: LedgerChange[] = [];
  if (limit === 0 || timestampMin > TIMESTAMP_MAX) return found;
  const changes = state.changes;
  const end = changes.count;
  for (let p = changes.lowerBound(timestampMin); p < end && found.length < limit; p++) {
    found.push(readChange(state, p));
  }
  return found;
}

function readChange(state: LedgerState, position: number): LedgerChange {
  const changes = state.changes;
  const transfers = state.transfers;
  const row = changes.row(position);
  const c = transfers.chunk(row);
  const o = row & CHUNK_MASK;
  return {
    timestamp: changes.timestamp(position),
    type: CHANGE_TYPES[changes.kind(position)]!,
    ledger: c.ledger[o]!,
    transfer: {
      id: transfers.ids.keyAt(row),
      amount: transfers.amount(row),
      pendingId: transfers.pendingId(row),
      userData128: transfers.userData128(row),
      userData64: c.userData64[o]!,
      userData32: c.userData32[o]!,
      timeout: c.timeout[o]!,
      code: c.code[o]!,
      flags: c.flags[o]!,
      timestamp: c.timestamp[o]!,
    },
    debitAccount: changeAccount(state.accounts[c.debit[o]!]!, changes, position, 0),
    creditAccount: changeAccount(state.accounts[c.credit[o]!]!, changes, position, 1),
  };
}

/** An account as of the event at `position`: balances and flags from the event. */
function changeAccount(
  a: AccountRec,
  changes: ChangeStore,
  position: number,
  side: 0 | 1,
): ChangeAccount {
  const w = side * 4;
  return {
    id: a.id,
    debitsPending: changes.balance(position, w),
    debitsPosted: changes.balance(position, w + 1),
    creditsPending: changes.balance(position, w + 2),
    creditsPosted: changes.balance(position, w + 3),
    userData128: a.user_data_128,
    userData64: a.user_data_64,
    userData32: a.user_data_32,
    code: a.code,
    flags: changes.flags(position, side),
    timestamp: a.timestamp,
  };
}

/** The first index in [0, n) whose timestamp is >= `timestamp`; timestamps ascend. */
function lowerBound(n: number, timestampAt: (i: number) => bigint, timestamp: bigint): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timestampAt(mid) < timestamp) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
