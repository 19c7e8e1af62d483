/**
 * create_accounts cases, one or more per CreateAccountStatus, from TigerBeetle's reference
 * (docs.tigerbeetle.com/reference/requests/create_accounts) and the order of checks in
 * src/state_machine.zig: `execute_create` (linked chains, imported batches, timestamps), then
 * `create_account` (reserved, flags, id, exists, mutually exclusive flags, balances, ledger, code,
 * imported timestamp regress) and `create_account_exists` (flags, user_data_128/64/32, ledger,
 * code). Every row lists the status expected for each event of its batch.
 */
import {
  type Account,
  AccountFlags,
  CreateAccountStatus as S,
  U128_MAX,
  U64_MAX,
} from '../../../ledger/port';
import { account, type Fixture, nth, TIMESTAMP_FUTURE } from './fixtures';

export interface AccountCase {
  name: string;
  /** The status of every event of the batch, in order. */
  expect: S[];
  /** Creates what the case needs, then returns the batch under test. */
  build: (fx: Fixture) => Promise<Account[]>;
}

const { linked, imported, history } = AccountFlags;
const BOTH_LIMITS =
  AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits;
/** A flag bit TigerBeetle 0.17 does not define (AccountFlags ends at closed = 1 << 5). */
const UNKNOWN_FLAG = 1 << 6;

const one = (over: Partial<Account>) => async (): Promise<Account[]> => [account(over)];

/** An account that already exists, resubmitted with `over` changed. */
const again =
  (over: Partial<Account>) =>
  async (fx: Fixture): Promise<Account[]> => {
    const original = await fx.account();
    return [{ ...original, timestamp: 0n, ...over }];
  };

export const ACCOUNT_CASES: AccountCase[] = [
  { name: 'a valid account', expect: [S.created], build: one({}) },
  {
    name: 'a linked chain that succeeds',
    expect: [S.created, S.created, S.created],
    build: async () => [account({ flags: linked }), account({ flags: linked }), account()],
  },
  {
    name: 'a failing event rolls back its whole chain',
    expect: [S.linked_event_failed, S.code_must_not_be_zero, S.linked_event_failed],
    build: async () => [account({ flags: linked }), account({ flags: linked, code: 0 }), account()],
  },
  {
    name: 'linked on the last event leaves the chain open',
    expect: [S.created, S.linked_event_chain_open],
    build: async () => [account(), account({ flags: linked })],
  },
  {
    name: 'an open chain fails all its events',
    expect: [S.linked_event_failed, S.linked_event_chain_open],
    build: async () => [account({ flags: linked }), account({ flags: linked })],
  },
  {
    name: 'an existing account breaks its chain',
    expect: [S.linked_event_failed, S.exists],
    build: async (fx) => {
      const original = await fx.account();
      return [account({ flags: linked }), { ...original, timestamp: 0n }];
    },
  },
  {
    name: 'a batch that starts imported expects every event imported',
    expect: [S.imported_event_timestamp_out_of_range, S.imported_event_expected],
    build: async () => [account({ flags: imported, timestamp: 0n }), account()],
  },
  {
    name: 'a batch that starts not imported refuses imported events',
    expect: [S.created, S.imported_event_not_expected],
    build: async () => [account(), account({ flags: imported, timestamp: 0n })],
  },
  {
    name: 'timestamp set by the client',
    expect: [S.timestamp_must_be_zero],
    build: one({ timestamp: 1n }),
  },
  {
    name: 'imported with timestamp 0',
    expect: [S.imported_event_timestamp_out_of_range],
    build: one({ flags: imported, timestamp: 0n }),
  },
  {
    name: 'imported with timestamp u64 max',
    expect: [S.imported_event_timestamp_out_of_range],
    build: one({ flags: imported, timestamp: U64_MAX }),
  },
  {
    name: 'imported with a timestamp in the future',
    expect: [S.imported_event_timestamp_must_not_advance],
    build: one({ flags: imported, timestamp: TIMESTAMP_FUTURE }),
  },
  {
    name: 'imported with the timestamp of an existing account',
    expect: [S.imported_event_timestamp_must_not_regress],
    build: async (fx) => {
      const existing = await fx.account();
      return [account({ flags: imported, timestamp: existing.timestamp })];
    },
  },
  {
    name: 'imported in increasing past timestamps later than every object',
    expect: [S.created, S.created],
    build: async (fx) => {
      const gap = await fx.reserveTimestamps(2);
      return [
        account({ flags: imported, timestamp: nth(gap, 0) }),
        account({ flags: imported, timestamp: nth(gap, 1) }),
      ];
    },
  },
  {
    name: 'imported events in one batch must not regress against each other',
    expect: [S.created, S.imported_event_timestamp_must_not_regress],
    build: async (fx) => {
      const gap = await fx.reserveTimestamps(2);
      return [
        account({ flags: imported, timestamp: nth(gap, 1) }),
        account({ flags: imported, timestamp: nth(gap, 0) }),
      ];
    },
  },
  { name: 'reserved field set', expect: [S.reserved_field], build: one({ reserved: 1 }) },
  {
    name: 'an unknown flag (1 << 6)',
    expect: [S.reserved_flag],
    build: one({ flags: UNKNOWN_FLAG }),
  },
  { name: 'an unknown flag (1 << 15)', expect: [S.reserved_flag], build: one({ flags: 1 << 15 }) },
  { name: 'id 0', expect: [S.id_must_not_be_zero], build: one({ id: 0n }) },
  { name: 'id u128 max', expect: [S.id_must_not_be_int_max], build: one({ id: U128_MAX }) },
  {
    name: 'existing, other flags',
    expect: [S.exists_with_different_flags],
    build: again({ flags: history }),
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
    name: 'the same account twice in one batch',
    expect: [S.created, S.exists],
    build: async () => {
      const a = account();
      return [a, { ...a }];
    },
  },
  {
    name: 'both balance limits',
    expect: [S.flags_are_mutually_exclusive],
    build: one({ flags: BOTH_LIMITS }),
  },
  {
    name: 'debits_pending set',
    expect: [S.debits_pending_must_be_zero],
    build: one({ debits_pending: 1n }),
  },
  {
    name: 'debits_posted set',
    expect: [S.debits_posted_must_be_zero],
    build: one({ debits_posted: 1n }),
  },
  {
    name: 'credits_pending set',
    expect: [S.credits_pending_must_be_zero],
    build: one({ credits_pending: 1n }),
  },
  {
    name: 'credits_posted set',
    expect: [S.credits_posted_must_be_zero],
    build: one({ credits_posted: 1n }),
  },
  { name: 'ledger 0', expect: [S.ledger_must_not_be_zero], build: one({ ledger: 0 }) },
  { name: 'code 0', expect: [S.code_must_not_be_zero], build: one({ code: 0 }) },
];

/**
 * Two failures in one event: the status is the one TigerBeetle checks first. Each name says
 * which check wins, in the order of `execute_create` / `create_account` / `create_account_exists`.
 */
export const ACCOUNT_ORDER_CASES: AccountCase[] = [
  {
    name: 'timestamp before id',
    expect: [S.timestamp_must_be_zero],
    build: one({ timestamp: 1n, id: 0n }),
  },
  {
    name: 'imported mismatch before timestamp range',
    expect: [S.created, S.imported_event_not_expected],
    build: async () => [account(), account({ flags: imported, timestamp: U64_MAX })],
  },
  {
    name: 'open chain before an earlier failure in it',
    expect: [S.id_must_not_be_zero, S.linked_event_chain_open],
    build: async () => [account({ flags: linked, id: 0n }), account({ flags: linked })],
  },
  {
    name: 'reserved field before reserved flag',
    expect: [S.reserved_field],
    build: one({ reserved: 1, flags: UNKNOWN_FLAG }),
  },
  {
    name: 'reserved flag before id',
    expect: [S.reserved_flag],
    build: one({ flags: UNKNOWN_FLAG, id: 0n }),
  },
  {
    name: 'id zero before ledger',
    expect: [S.id_must_not_be_zero],
    build: one({ id: 0n, ledger: 0 }),
  },
  {
    name: 'id int max before code',
    expect: [S.id_must_not_be_int_max],
    build: one({ id: U128_MAX, code: 0 }),
  },
  {
    name: 'exists (flags) before mutually exclusive flags',
    expect: [S.exists_with_different_flags],
    build: again({ flags: BOTH_LIMITS }),
  },
  {
    name: 'exists (flags) before user_data',
    expect: [S.exists_with_different_flags],
    build: again({ flags: history, user_data_128: 1n }),
  },
  {
    name: 'exists (ledger) before ledger zero',
    expect: [S.exists_with_different_ledger],
    build: again({ ledger: 0, code: 0 }),
  },
  {
    name: 'exists (code) before balances must be zero',
    expect: [S.exists_with_different_code],
    build: again({ code: 0, debits_posted: 1n }),
  },
  {
    name: 'mutually exclusive flags before balances',
    expect: [S.flags_are_mutually_exclusive],
    build: one({ flags: BOTH_LIMITS, debits_pending: 1n }),
  },
  {
    name: 'debits_pending before debits_posted',
    expect: [S.debits_pending_must_be_zero],
    build: one({ debits_pending: 1n, debits_posted: 1n }),
  },
  {
    name: 'credits_posted before ledger',
    expect: [S.credits_posted_must_be_zero],
    build: one({ credits_posted: 1n, ledger: 0 }),
  },
  {
    name: 'ledger before code',
    expect: [S.ledger_must_not_be_zero],
    build: one({ ledger: 0, code: 0 }),
  },
];
