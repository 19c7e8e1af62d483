/**
 * create_transfers cases that depend on the event alone (and on ids already taken): chains,
 * imported batches, timestamps, ids, exists*, flags, accounts and ledgers. From TigerBeetle's
 * reference (docs.tigerbeetle.com/reference/requests/create_transfers) and the order of checks in
 * src/state_machine.zig: `execute_create`, then `create_transfer` (reserved flag, id, exists /
 * id_already_failed, post-or-void branch, accounts, pending_id, timeout, closing, ledger, code,
 * account lookup, ledgers, imported timestamps, closed, amounts, overflows, limits).
 * Cases that need balances or pending transfers are in transfer-state-cases.ts.
 */
import {
  type Transfer,
  CreateTransferStatus as S,
  TransferFlags,
  U128_MAX,
  U64_MAX,
} from '../../../ledger/port';
import { type Fixture, id, LEDGER_OTHER, nth, TIMESTAMP_FUTURE, transfer } from './fixtures';

export interface TransferCase {
  name: string;
  /** The status of every event of the batch, in order. */
  expect: S[];
  /** Creates what the case needs, then returns the batch under test. */
  build: (fx: Fixture) => Promise<Transfer[]>;
  /** Checks beyond the runner's (statuses, timestamps, no effects from failed batches). */
  verify?: (fx: Fixture, batch: Transfer[]) => Promise<void>;
  /** For cases that wait on the clock (pending timeouts). */
  timeoutMs?: number;
}

const { linked, pending, imported, post_pending_transfer: post } = TransferFlags;
/** A flag bit TigerBeetle 0.17 does not define (TransferFlags ends at imported = 1 << 8). */
export const UNKNOWN_TRANSFER_FLAG = 1 << 9;

/** A batch of transfers from a fresh account A to a fresh account B, each with `over`. */
export const ab =
  (...overs: Partial<Transfer>[]) =>
  async (fx: Fixture): Promise<Transfer[]> => {
    const [a, b] = await fx.pair();
    return overs.map((over) =>
      transfer({ debit_account_id: a.id, credit_account_id: b.id, ...over }),
    );
  };

/** A transfer A→B that already exists, resubmitted with `over` changed. */
export const again =
  (over: Partial<Transfer>) =>
  async (fx: Fixture): Promise<Transfer[]> => {
    const original = await fx.createdOne(nth(await ab({})(fx), 0));
    return [{ ...original, timestamp: 0n, ...over }];
  };

export const TRANSFER_EVENT_CASES: TransferCase[] = [
  { name: 'a valid transfer', expect: [S.created], build: ab({}) },
  { name: 'amount 0 (allowed since 0.16)', expect: [S.created], build: ab({ amount: 0n }) },
  {
    name: 'a linked chain that succeeds',
    expect: [S.created, S.created, S.created],
    build: ab({ flags: linked }, { flags: linked }, {}),
  },
  {
    name: 'a failing event rolls back its whole chain',
    expect: [S.linked_event_failed, S.code_must_not_be_zero, S.linked_event_failed],
    build: ab({ flags: linked }, { flags: linked, code: 0 }, {}),
  },
  {
    name: 'linked on the last event leaves the chain open',
    expect: [S.created, S.linked_event_chain_open],
    build: ab({}, { flags: linked }),
  },
  {
    name: 'an open chain fails all its events',
    expect: [S.linked_event_failed, S.linked_event_chain_open],
    build: ab({ flags: linked }, { flags: linked }),
  },
  {
    name: 'a batch that starts imported expects every event imported',
    expect: [S.imported_event_timestamp_out_of_range, S.imported_event_expected],
    build: ab({ flags: imported, timestamp: 0n }, {}),
  },
  {
    name: 'a batch that starts not imported refuses imported events',
    expect: [S.created, S.imported_event_not_expected],
    build: ab({}, { flags: imported, timestamp: 0n }),
  },
  {
    name: 'timestamp set by the client',
    expect: [S.timestamp_must_be_zero],
    build: ab({ timestamp: 1n }),
  },
  {
    name: 'imported with timestamp 0',
    expect: [S.imported_event_timestamp_out_of_range],
    build: ab({ flags: imported, timestamp: 0n }),
  },
  {
    name: 'imported with timestamp u64 max',
    expect: [S.imported_event_timestamp_out_of_range],
    build: ab({ flags: imported, timestamp: U64_MAX }),
  },
  {
    name: 'imported with a timestamp in the future',
    expect: [S.imported_event_timestamp_must_not_advance],
    build: ab({ flags: imported, timestamp: TIMESTAMP_FUTURE }),
  },
  {
    name: 'an unknown flag (1 << 9)',
    expect: [S.reserved_flag],
    build: ab({ flags: UNKNOWN_TRANSFER_FLAG }),
  },
  { name: 'an unknown flag (1 << 15)', expect: [S.reserved_flag], build: ab({ flags: 1 << 15 }) },
  { name: 'id 0', expect: [S.id_must_not_be_zero], build: ab({ id: 0n }) },
  { name: 'id u128 max', expect: [S.id_must_not_be_int_max], build: ab({ id: U128_MAX }) },
  {
    name: 'existing, other flags',
    expect: [S.exists_with_different_flags],
    build: again({ flags: pending }),
  },
  {
    name: 'existing, other pending_id',
    expect: [S.exists_with_different_pending_id],
    build: again({ pending_id: 7n }),
  },
  {
    name: 'existing, other timeout',
    expect: [S.exists_with_different_timeout],
    build: again({ timeout: 1 }),
  },
  {
    name: 'existing, other debit account',
    expect: [S.exists_with_different_debit_account_id],
    build: again({ debit_account_id: id() }),
  },
  {
    name: 'existing, other credit account',
    expect: [S.exists_with_different_credit_account_id],
    build: again({ credit_account_id: id() }),
  },
  {
    name: 'existing, other amount',
    expect: [S.exists_with_different_amount],
    build: again({ amount: 11n }),
  },
  {
    name: 'existing, other user_data_128',
    expect: [S.exists_with_different_user_data_128],
    build: again({ user_data_128: 1n }),
  },
  {
    name: 'existing, other user_data_64',
    expect: [S.exists_with_different_user_data_64],
    build: again({ user_data_64: 1n }),
  },
  {
    name: 'existing, other user_data_32',
    expect: [S.exists_with_different_user_data_32],
    build: again({ user_data_32: 1 }),
  },
  {
    name: 'existing, other ledger',
    expect: [S.exists_with_different_ledger],
    build: again({ ledger: 9 }),
  },
  {
    name: 'existing, other code',
    expect: [S.exists_with_different_code],
    build: again({ code: 9 }),
  },
  { name: 'existing, identical', expect: [S.exists], build: again({}) },
  {
    name: 'the same transfer twice in one batch',
    expect: [S.created, S.exists],
    build: async (fx) => {
      const t = nth(await ab({})(fx), 0);
      return [t, { ...t }];
    },
  },
  {
    name: 'post and void together',
    expect: [S.flags_are_mutually_exclusive],
    build: ab({ flags: post | TransferFlags.void_pending_transfer, pending_id: id() }),
  },
  {
    name: 'pending and post together',
    expect: [S.flags_are_mutually_exclusive],
    build: ab({ flags: pending | post, pending_id: id() }),
  },
  {
    name: 'post with balancing_debit',
    expect: [S.flags_are_mutually_exclusive],
    build: ab({ flags: post | TransferFlags.balancing_debit, pending_id: id() }),
  },
  {
    name: 'void with closing_credit',
    expect: [S.flags_are_mutually_exclusive],
    build: ab({
      flags: TransferFlags.void_pending_transfer | TransferFlags.closing_credit,
      pending_id: id(),
    }),
  },
  {
    name: 'debit account 0',
    expect: [S.debit_account_id_must_not_be_zero],
    build: ab({ debit_account_id: 0n }),
  },
  {
    name: 'debit account u128 max',
    expect: [S.debit_account_id_must_not_be_int_max],
    build: ab({ debit_account_id: U128_MAX }),
  },
  {
    name: 'credit account 0',
    expect: [S.credit_account_id_must_not_be_zero],
    build: ab({ credit_account_id: 0n }),
  },
  {
    name: 'credit account u128 max',
    expect: [S.credit_account_id_must_not_be_int_max],
    build: ab({ credit_account_id: U128_MAX }),
  },
  {
    name: 'debit and credit the same account',
    expect: [S.accounts_must_be_different],
    build: async (fx) => {
      const a = await fx.account();
      return [transfer({ debit_account_id: a.id, credit_account_id: a.id })];
    },
  },
  {
    name: 'pending_id on a plain transfer',
    expect: [S.pending_id_must_be_zero],
    build: ab({ pending_id: 7n }),
  },
  {
    name: 'timeout on a plain transfer',
    expect: [S.timeout_reserved_for_pending_transfer],
    build: ab({ timeout: 1 }),
  },
  {
    name: 'closing_debit without pending',
    expect: [S.closing_transfer_must_be_pending],
    build: ab({ flags: TransferFlags.closing_debit, amount: 0n }),
  },
  {
    name: 'closing_credit without pending',
    expect: [S.closing_transfer_must_be_pending],
    build: ab({ flags: TransferFlags.closing_credit, amount: 0n }),
  },
  { name: 'ledger 0', expect: [S.ledger_must_not_be_zero], build: ab({ ledger: 0 }) },
  { name: 'code 0', expect: [S.code_must_not_be_zero], build: ab({ code: 0 }) },
  {
    name: 'a debit account that does not exist',
    expect: [S.debit_account_not_found],
    build: ab({ debit_account_id: id() }),
  },
  {
    name: 'a credit account that does not exist',
    expect: [S.credit_account_not_found],
    build: ab({ credit_account_id: id() }),
  },
  {
    name: 'accounts on different ledgers',
    expect: [S.accounts_must_have_the_same_ledger],
    build: async (fx) => {
      const ax = await fx.accounts([{}, { ledger: LEDGER_OTHER }]);
      return [transfer({ debit_account_id: nth(ax, 0).id, credit_account_id: nth(ax, 1).id })];
    },
  },
  {
    name: 'a transfer ledger other than its accounts',
    expect: [S.transfer_must_have_the_same_ledger_as_accounts],
    build: ab({ ledger: LEDGER_OTHER }),
  },
];

/** Imported transfers between two imported accounts X (gap[1]) and Y (gap[3]). */
export const TRANSFER_IMPORT_CASES: TransferCase[] = [
  {
    name: 'imported with the timestamp of an existing transfer',
    expect: [S.imported_event_timestamp_must_not_regress],
    build: async (fx) => {
      const t = await fx.createdOne(nth(await ab({})(fx), 0));
      return [{ ...t, id: id(), flags: imported }];
    },
  },
  {
    name: 'imported with the timestamp of an existing account',
    expect: [S.imported_event_timestamp_must_not_regress],
    build: async (fx) => {
      const [a, b] = await fx.pair();
      const t = transfer({ debit_account_id: a.id, credit_account_id: b.id });
      return [{ ...t, flags: imported, timestamp: b.timestamp }];
    },
  },
  {
    name: 'imported before its debit account',
    expect: [S.imported_event_timestamp_must_postdate_debit_account],
    build: async (fx) => {
      const { x, y, gap } = await fx.importedPair();
      const t = { debit_account_id: y.id, credit_account_id: x.id, flags: imported };
      return [transfer({ ...t, timestamp: nth(gap, 2) })];
    },
  },
  {
    name: 'imported before its credit account',
    expect: [S.imported_event_timestamp_must_postdate_credit_account],
    build: async (fx) => {
      const { x, y, gap } = await fx.importedPair();
      const t = { debit_account_id: x.id, credit_account_id: y.id, flags: imported };
      return [transfer({ ...t, timestamp: nth(gap, 2) })];
    },
  },
  {
    name: 'imported pending with a timeout',
    expect: [S.imported_event_timeout_must_be_zero],
    build: async (fx) => {
      const { x, y, gap } = await fx.importedPair();
      const t = { debit_account_id: x.id, credit_account_id: y.id, flags: imported | pending };
      return [transfer({ ...t, timeout: 1, timestamp: nth(gap, 4) })];
    },
  },
  {
    name: 'imported after both accounts, in increasing timestamps',
    expect: [S.created, S.created],
    build: async (fx) => {
      const { x, y, gap } = await fx.importedPair();
      const t = { debit_account_id: x.id, credit_account_id: y.id, flags: imported };
      return [
        transfer({ ...t, timestamp: nth(gap, 4) }),
        transfer({ ...t, timestamp: nth(gap, 5) }),
      ];
    },
  },
  {
    name: 'imported transfers in one batch must not regress against each other',
    expect: [S.created, S.imported_event_timestamp_must_not_regress],
    build: async (fx) => {
      const { x, y, gap } = await fx.importedPair();
      const t = { debit_account_id: x.id, credit_account_id: y.id, flags: imported };
      return [
        transfer({ ...t, timestamp: nth(gap, 5) }),
        transfer({ ...t, timestamp: nth(gap, 4) }),
      ];
    },
  },
];

/** Two failures in one event: the status is the one TigerBeetle checks first. */
export const TRANSFER_EVENT_ORDER_CASES: TransferCase[] = [
  {
    name: 'timestamp before id',
    expect: [S.timestamp_must_be_zero],
    build: ab({ timestamp: 1n, id: 0n }),
  },
  {
    name: 'imported mismatch before timestamp range',
    expect: [S.created, S.imported_event_not_expected],
    build: ab({}, { flags: imported, timestamp: U64_MAX }),
  },
  {
    name: 'open chain before an earlier failure in it',
    expect: [S.id_must_not_be_zero, S.linked_event_chain_open],
    build: ab({ flags: linked, id: 0n }, { flags: linked }),
  },
  {
    name: 'reserved flag before id',
    expect: [S.reserved_flag],
    build: ab({ flags: UNKNOWN_TRANSFER_FLAG, id: 0n }),
  },
  {
    name: 'id int max before debit account',
    expect: [S.id_must_not_be_int_max],
    build: ab({ id: U128_MAX, debit_account_id: 0n }),
  },
  {
    name: 'exists (debit account) before debit account zero',
    expect: [S.exists_with_different_debit_account_id],
    build: again({ debit_account_id: 0n, credit_account_id: 0n }),
  },
  {
    name: 'exists (flags) before amount',
    expect: [S.exists_with_different_flags],
    build: again({ flags: pending, amount: 11n }),
  },
  {
    name: 'exists (pending_id) before timeout',
    expect: [S.exists_with_different_pending_id],
    build: again({ pending_id: 7n, timeout: 1 }),
  },
  {
    name: 'exists (amount) before user_data',
    expect: [S.exists_with_different_amount],
    build: again({ amount: 11n, user_data_128: 1n }),
  },
  {
    name: 'exists (ledger) before ledger zero',
    expect: [S.exists_with_different_ledger],
    build: again({ ledger: 0, code: 0 }),
  },
  {
    name: 'mutually exclusive flags before pending_id zero',
    expect: [S.flags_are_mutually_exclusive],
    build: ab({ flags: pending | post, pending_id: 0n }),
  },
  {
    name: 'debit account zero before credit account zero',
    expect: [S.debit_account_id_must_not_be_zero],
    build: ab({ debit_account_id: 0n, credit_account_id: 0n }),
  },
  {
    name: 'debit account int max before credit account zero',
    expect: [S.debit_account_id_must_not_be_int_max],
    build: ab({ debit_account_id: U128_MAX, credit_account_id: 0n }),
  },
  {
    name: 'credit account zero before pending_id',
    expect: [S.credit_account_id_must_not_be_zero],
    build: ab({ credit_account_id: 0n, pending_id: 7n }),
  },
  {
    name: 'same accounts before pending_id',
    expect: [S.accounts_must_be_different],
    build: async (fx) => {
      const a = await fx.account();
      return [transfer({ debit_account_id: a.id, credit_account_id: a.id, pending_id: 7n })];
    },
  },
  {
    name: 'pending_id before timeout',
    expect: [S.pending_id_must_be_zero],
    build: ab({ pending_id: 7n, timeout: 1 }),
  },
  {
    name: 'timeout before closing without pending',
    expect: [S.timeout_reserved_for_pending_transfer],
    build: ab({ timeout: 1, flags: TransferFlags.closing_debit }),
  },
  {
    name: 'closing without pending before ledger',
    expect: [S.closing_transfer_must_be_pending],
    build: ab({ flags: TransferFlags.closing_credit, ledger: 0 }),
  },
  {
    name: 'ledger before code',
    expect: [S.ledger_must_not_be_zero],
    build: ab({ ledger: 0, code: 0 }),
  },
  {
    name: 'code before account lookup',
    expect: [S.code_must_not_be_zero],
    build: ab({ code: 0, debit_account_id: id() }),
  },
  {
    name: 'debit account lookup before credit account lookup',
    expect: [S.debit_account_not_found],
    build: ab({ debit_account_id: id(), credit_account_id: id() }),
  },
  {
    name: 'accounts on different ledgers before the transfer ledger',
    expect: [S.accounts_must_have_the_same_ledger],
    build: async (fx) => {
      const ax = await fx.accounts([{}, { ledger: LEDGER_OTHER }]);
      const t = { debit_account_id: nth(ax, 0).id, credit_account_id: nth(ax, 1).id, ledger: 9 };
      return [transfer(t)];
    },
  },
];
