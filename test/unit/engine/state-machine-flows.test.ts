/**
 * Proves the embedded state machine's two-phase, balancing, closing, expiry and query behaviour
 * against TigerBeetle 0.17's semantics, at unit level: posting (whole with AMOUNT_MAX, partial,
 * zero) and voiding with inherited fields and their idempotent retries; pending timeouts released
 * only by a pulse, in deadline order and at most one timestamp per expiry; balancing amounts
 * clamped to the limits; closing transfers that close and reopen accounts; per-transfer balances
 * of history accounts; and the filters of get_account_transfers / get_account_balances /
 * query_accounts / query_transfers, including the invalid ones that return nothing.
 */
import {
  type Account,
  type AccountFilter,
  AccountFilterFlags as AF,
  AccountFlags,
  BATCH_EVENTS_MAX,
  CreateAccountStatus,
  type CreateTransferResult,
  CreateTransferStatus as S,
  type QueryFilter,
  QueryFilterFlags,
  type Transfer,
  TransferFlags as F,
  U128_MAX,
  U64_MAX,
} from '../../../ledger/port';
import { newAccount, newTransfer } from '../../../ledger/records';
import { StateMachine } from '../../../ledger/engine/state-machine';

const NS_PER_S = 1_000_000_000n;

const account = (id: bigint, fields: Partial<Account> = {}): Account =>
  newAccount({ id, ledger: 1, code: 1, ...fields });

const transfer = (id: bigint, fields: Partial<Transfer> = {}): Transfer =>
  newTransfer({
    id,
    debit_account_id: 1n,
    credit_account_id: 2n,
    amount: 10n,
    ledger: 1,
    code: 1,
    ...fields,
  });

const resolve = (id: bigint, pendingId: bigint, flags: number, amount: bigint): Transfer =>
  transfer(id, {
    debit_account_id: 0n,
    credit_account_id: 0n,
    amount,
    pending_id: pendingId,
    ledger: 0,
    code: 0,
    flags,
  });
const post = (id: bigint, pendingId: bigint, amount = U128_MAX): Transfer =>
  resolve(id, pendingId, F.post_pending_transfer, amount);
const voidOf = (id: bigint, pendingId: bigint, amount = 0n): Transfer =>
  resolve(id, pendingId, F.void_pending_transfer, amount);

/** Accounts 1-4 on ledger 1: 1 has history, 3 debits<=credits, 4 credits<=debits. */
class Harness {
  readonly machine = new StateMachine();
  wallNs = 1_700_000_000_000_000_000n;

  constructor() {
    const results = this.machine.createAccounts(
      [
        account(1n, { flags: AccountFlags.history }),
        account(2n),
        account(3n, { flags: AccountFlags.debits_must_not_exceed_credits }),
        account(4n, { flags: AccountFlags.credits_must_not_exceed_debits, code: 2 }),
      ],
      this.machine.prepareTimestamp(4, this.wallNs),
    );
    expect(results.every((r) => r.status === CreateAccountStatus.created)).toBe(true);
  }

  transfers(batch: Transfer[]): CreateTransferResult[] {
    return this.machine.createTransfers(
      batch,
      this.machine.prepareTimestamp(batch.length, this.wallNs),
    );
  }

  status(t: Transfer): string {
    return S[this.transfers([t])[0]!.status]!;
  }

  must(...batch: Transfer[]): bigint[] {
    const results = this.transfers(batch);
    expect(results.map((r) => S[r.status])).toEqual(batch.map(() => 'created'));
    return results.map((r) => r.timestamp);
  }

  /** A pulse as the wrapper would run it at the current wall clock. */
  pulse(eventCount = BATCH_EVENTS_MAX): number {
    return this.machine.pulse(this.machine.prepareTimestamp(eventCount, this.wallNs));
  }

  balances(id: bigint): [bigint, bigint, bigint, bigint] {
    const a = this.machine.lookupAccounts([id])[0]!;
    return [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
  }

  flags(id: bigint): number {
    return this.machine.lookupAccounts([id])[0]!.flags;
  }

  stored(id: bigint): Transfer {
    return this.machine.lookupTransfers([id])[0]!;
  }
}

describe('posting and voiding', () => {
  it.each([
    ['post AMOUNT_MAX: the whole amount', post(20n, 10n), 10n, [0n, 10n]],
    ['post 4 of 10: partial, the rest released', post(20n, 10n, 4n), 4n, [0n, 4n]],
    ['post 0: nothing posted, all released', post(20n, 10n, 0n), 0n, [0n, 0n]],
    ['void 0: the whole amount', voidOf(20n, 10n), 10n, [0n, 0n]],
    ['void 10: the exact amount', voidOf(20n, 10n, 10n), 10n, [0n, 0n]],
  ])('%s', (_name, resolution, amount, [debitsPending, debitsPosted]) => {
    const h = new Harness();
    h.must(transfer(10n, { flags: F.pending, user_data_128: 7n, user_data_64: 8n, code: 5 }));
    expect(h.balances(1n)).toEqual([10n, 0n, 0n, 0n]);
    const [timestamp] = h.must({ ...resolution, user_data_64: 9n });
    expect(h.balances(1n)).toEqual([debitsPending, debitsPosted, 0n, 0n]);
    expect(h.balances(2n)).toEqual([0n, 0n, debitsPending, debitsPosted]);
    expect(h.stored(20n)).toEqual({
      ...resolution,
      debit_account_id: 1n,
      credit_account_id: 2n,
      amount,
      user_data_128: 7n, // inherited
      user_data_64: 9n, // its own
      ledger: 1,
      code: 5,
      timestamp,
    });
  });

  it.each([
    ['the same request', post(20n, 10n), 'exists'],
    [
      'the explicit fields it resolved to',
      { ...post(20n, 10n, 10n), debit_account_id: 1n, ledger: 1, code: 1, user_data_128: 7n },
      'exists',
    ],
    ['a different amount', post(20n, 10n, 9n), 'exists_with_different_amount'],
    [
      'a different debit account',
      { ...post(20n, 10n), debit_account_id: 2n },
      'exists_with_different_debit_account_id',
    ],
    [
      'a different user_data_128',
      { ...post(20n, 10n), user_data_128: 8n },
      'exists_with_different_user_data_128',
    ],
    ['a different code', { ...post(20n, 10n), code: 3 }, 'exists_with_different_code'],
    ['a void instead', voidOf(20n, 10n), 'exists_with_different_flags'],
  ])('a retried post with %s gets %s', (_name, retry, expected) => {
    const h = new Harness();
    h.must(transfer(10n, { flags: F.pending, user_data_128: 7n }));
    h.must(post(20n, 10n));
    expect(h.status(retry)).toBe(expected);
  });

  it('may resolve a pending transfer created earlier in the same batch', () => {
    const h = new Harness();
    h.must(transfer(10n, { flags: F.pending }), post(20n, 10n, 3n));
    expect(h.balances(1n)).toEqual([0n, 3n, 0n, 0n]);
  });
});

describe('pending timeouts and pulses', () => {
  it('expire at timestamp + timeout seconds, only through a pulse', () => {
    const h = new Harness();
    const [timestamp] = h.must(transfer(10n, { flags: F.pending, timeout: 2 }));
    const deadline = timestamp! + 2n * NS_PER_S;
    expect(h.machine.nextExpiryNs()).toBe(deadline);
    h.wallNs = deadline - 10_000n; // the pulse's timestamp is wall + BATCH_EVENTS_MAX
    expect(h.pulse()).toBe(0);
    expect(h.balances(1n)).toEqual([10n, 0n, 0n, 0n]);
    // Past the deadline but before any pulse: it cannot be posted, and it still holds funds.
    h.wallNs = deadline;
    expect(h.status(post(20n, 10n))).toBe('pending_transfer_expired');
    expect(h.balances(1n)).toEqual([10n, 0n, 0n, 0n]);
    expect(h.pulse()).toBe(1);
    expect(h.balances(1n)).toEqual([0n, 0n, 0n, 0n]);
    expect(h.balances(2n)).toEqual([0n, 0n, 0n, 0n]);
    expect(h.status(voidOf(21n, 10n))).toBe('pending_transfer_expired');
    expect(h.machine.nextExpiryNs()).toBeNull();
    expect(h.pulse()).toBe(0);
  });

  it('expire in deadline order, then creation order, one unused timestamp per expiry', () => {
    const h = new Harness();
    h.must(
      transfer(10n, { flags: F.pending, timeout: 3, amount: 1n }),
      transfer(11n, { flags: F.pending, timeout: 1, amount: 2n }),
      transfer(12n, { flags: F.pending, timeout: 1, amount: 4n }),
      transfer(13n, { flags: F.pending, timeout: 9, amount: 8n }),
    );
    h.wallNs += 5n * NS_PER_S;
    h.must(transfer(20n, { debit_account_id: 2n, credit_account_id: 3n }));
    // A pulse with room for two timestamps expires the two earliest deadlines: 11, then 12.
    expect(h.machine.pulse(h.machine.timestampLast + 2n)).toBe(2);
    expect(h.balances(1n)[0]).toBe(1n + 8n);
    expect(h.pulse()).toBe(1); // 10; 13 is not due
    expect(h.balances(1n)[0]).toBe(8n);
    expect(h.machine.nextExpiryNs()).not.toBeNull();
  });

  it('never expire a transfer that was posted, voided, or rolled back', () => {
    const h = new Harness();
    h.must(
      transfer(10n, { flags: F.pending, timeout: 1 }),
      transfer(11n, { flags: F.pending, timeout: 1 }),
    );
    h.must(post(20n, 10n, 5n), voidOf(21n, 11n));
    const results = h.transfers([
      transfer(12n, { flags: F.pending | F.linked, timeout: 1 }),
      transfer(13n, { credit_account_id: 1n }),
    ]);
    expect(results.map((r) => S[r.status])).toEqual([
      'linked_event_failed',
      'accounts_must_be_different',
    ]);
    h.must(transfer(14n)); // takes the row 12 left behind
    expect(h.machine.nextExpiryNs()).toBeNull();
    h.wallNs += 10n * NS_PER_S;
    expect(h.pulse()).toBe(0);
    expect(h.balances(1n)).toEqual([0n, 15n, 0n, 0n]);
  });
});

describe('closing accounts', () => {
  it('closes with a pending closing transfer, reopens on void, refuses other movements', () => {
    const h = new Harness();
    h.must(transfer(9n, { flags: F.pending, amount: 3n })); // pending before the close
    h.must(transfer(10n, { flags: F.pending | F.closing_debit | F.closing_credit, amount: 0n }));
    expect(h.flags(1n) & AccountFlags.closed).toBe(AccountFlags.closed);
    expect(h.flags(2n) & AccountFlags.closed).toBe(AccountFlags.closed);
    expect(h.status(transfer(11n))).toBe('debit_account_already_closed');
    expect(h.status(transfer(12n, { debit_account_id: 3n, credit_account_id: 1n }))).toBe(
      'credit_account_already_closed',
    );
    expect(h.status(post(13n, 9n))).toBe('debit_account_already_closed');
    expect(h.status(voidOf(14n, 9n))).toBe('created'); // voiding is allowed when closed
    expect(h.status(voidOf(15n, 10n))).toBe('created');
    expect(h.flags(1n) & AccountFlags.closed).toBe(0);
    expect(h.flags(2n) & AccountFlags.closed).toBe(0);
    expect(h.status(transfer(16n))).toBe('created');
  });

  it('reopens when the closing transfer expires', () => {
    const h = new Harness();
    h.must(transfer(10n, { flags: F.pending | F.closing_credit, timeout: 1 }));
    expect(h.flags(2n) & AccountFlags.closed).toBe(AccountFlags.closed);
    h.wallNs += 2n * NS_PER_S;
    expect(h.pulse()).toBe(1);
    expect(h.flags(2n) & AccountFlags.closed).toBe(0);
  });
});

describe('balancing transfers', () => {
  it.each([
    ['balancing_debit: up to the debit account’s credits', 3n, F.balancing_debit, 100n, 6n],
    ['balancing_debit: a smaller amount is kept', 3n, F.balancing_debit, 4n, 4n],
    ['balancing_credit: up to the credit account’s debits', 2n, F.balancing_credit, 100n, 7n],
    ['both: the smaller room', 3n, F.balancing_debit | F.balancing_credit, 100n, 6n],
    ['balancing_debit with pending', 3n, F.balancing_debit | F.pending, 100n, 6n],
  ])('%s', (_name, debit, flags, requested, moved) => {
    const h = new Harness();
    // Account 3 has credits 10, debits 4 (room 6); account 4 has debits 9, credits 2 (room 7).
    h.must(
      transfer(1n, { debit_account_id: 2n, credit_account_id: 3n, amount: 10n }),
      transfer(2n, { debit_account_id: 3n, credit_account_id: 2n, amount: 4n }),
      transfer(3n, { debit_account_id: 4n, credit_account_id: 2n, amount: 9n }),
      transfer(4n, { debit_account_id: 2n, credit_account_id: 4n, amount: 2n }),
    );
    const event = transfer(10n, {
      debit_account_id: debit,
      credit_account_id: 4n,
      amount: requested,
      flags,
    });
    h.must(event);
    expect(h.stored(10n).amount).toBe(moved);
    const [, , creditsPending, creditsPosted] = h.balances(4n);
    expect(creditsPending + creditsPosted).toBe(2n + moved);
    expect(h.status(event)).toBe('exists');
    expect(h.status({ ...event, amount: moved })).toBe('exists');
    expect(h.status({ ...event, amount: moved - 1n })).toBe('exists_with_different_amount');
  });

  it('moves zero when there is no room, and still succeeds', () => {
    const h = new Harness();
    h.must(transfer(10n, { debit_account_id: 3n, flags: F.balancing_debit }));
    expect(h.stored(10n).amount).toBe(0n);
  });
});

const accountFilter = (fields: Partial<AccountFilter> = {}): AccountFilter => ({
  account_id: 1n,
  user_data_128: 0n,
  user_data_64: 0n,
  user_data_32: 0,
  code: 0,
  timestamp_min: 0n,
  timestamp_max: 0n,
  limit: 100,
  flags: AF.debits | AF.credits,
  ...fields,
});

const queryFilter = (fields: Partial<QueryFilter> = {}): QueryFilter => ({
  user_data_128: 0n,
  user_data_64: 0n,
  user_data_32: 0,
  ledger: 0,
  code: 0,
  timestamp_min: 0n,
  timestamp_max: 0n,
  limit: 100,
  flags: 0,
  ...fields,
});

/** Six transfers touching account 1 (debits 10, 11, 13, 15; credits 12, 14) and one not. */
function history(): { h: Harness; at: Map<bigint, bigint> } {
  const h = new Harness();
  const batch = [
    transfer(10n, { amount: 1n, user_data_64: 5n }),
    transfer(11n, { amount: 2n, code: 2 }),
    transfer(12n, { debit_account_id: 2n, credit_account_id: 1n, amount: 4n, user_data_64: 5n }),
    transfer(13n, { amount: 8n, flags: F.pending, timeout: 1 }),
    transfer(14n, { debit_account_id: 2n, credit_account_id: 1n, amount: 16n, code: 2 }),
    transfer(15n, { amount: 32n, user_data_128: 9n }),
    transfer(16n, { debit_account_id: 2n, credit_account_id: 3n, amount: 64n }),
  ];
  const timestamps = h.must(...batch);
  return { h, at: new Map(batch.map((t, i) => [t.id, timestamps[i]!])) };
}

describe('get_account_transfers', () => {
  const ids = (transfers: Transfer[]): bigint[] => transfers.map((t) => t.id);

  it.each([
    ['both sides, in timestamp order', {}, [10n, 11n, 12n, 13n, 14n, 15n]],
    ['debits only', { flags: AF.debits }, [10n, 11n, 13n, 15n]],
    ['credits only, reversed', { flags: AF.credits | AF.reversed }, [14n, 12n]],
    [
      'reversed with a limit',
      { flags: AF.debits | AF.credits | AF.reversed, limit: 2 },
      [15n, 14n],
    ],
    ['code', { code: 2 }, [11n, 14n]],
    ['user_data_64', { user_data_64: 5n }, [10n, 12n]],
    ['user_data_128', { user_data_128: 9n }, [15n]],
    ['an account without transfers', { account_id: 4n }, []],
    ['an unknown account', { account_id: 99n }, []],
  ])('%s', (_name, fields, expected) => {
    const { h } = history();
    expect(ids(h.machine.getAccountTransfers(accountFilter(fields)))).toEqual(expected);
  });

  it('treats timestamp_min and timestamp_max as inclusive', () => {
    const { h, at } = history();
    const filter = accountFilter({ timestamp_min: at.get(11n)!, timestamp_max: at.get(13n)! });
    expect(ids(h.machine.getAccountTransfers(filter))).toEqual([11n, 12n, 13n]);
    const reversed = { ...filter, flags: filter.flags | AF.reversed, timestamp_max: 0n };
    expect(ids(h.machine.getAccountTransfers(reversed))).toEqual([15n, 14n, 13n, 12n, 11n]);
  });

  it.each([
    ['account_id 0', { account_id: 0n }],
    ['account_id u128 max', { account_id: U128_MAX }],
    ['timestamp_min u64 max', { timestamp_min: U64_MAX }],
    ['timestamp_max u64 max', { timestamp_max: U64_MAX }],
    ['timestamp_max 2^63, past the largest timestamp', { timestamp_max: 1n << 63n }],
    ['timestamp_min 2^64 - 2', { timestamp_min: U64_MAX - 1n }],
    ['timestamp_min above timestamp_max', { timestamp_min: 5n, timestamp_max: 4n }],
    ['limit 0', { limit: 0 }],
    ['neither debits nor credits', { flags: AF.reversed }],
    ['an unknown flag', { flags: AF.debits | (1 << 3) }],
  ])('returns nothing for an invalid filter: %s', (_name, fields) => {
    const { h } = history();
    expect(h.machine.getAccountTransfers(accountFilter(fields))).toEqual([]);
    expect(h.machine.getAccountBalances(accountFilter(fields))).toEqual([]);
  });

  it('answers at most one batch; a larger limit is for the client to refuse, never capped', () => {
    const h = new Harness();
    for (let start = 0; start < BATCH_EVENTS_MAX + 10; start += BATCH_EVENTS_MAX) {
      const count = Math.min(BATCH_EVENTS_MAX, BATCH_EVENTS_MAX + 10 - start);
      h.must(
        ...Array.from({ length: count }, (_, i) =>
          transfer(BigInt(1000 + start + i), { amount: 1n }),
        ),
      );
    }
    const all = h.machine.getAccountTransfers(accountFilter({ limit: BATCH_EVENTS_MAX }));
    expect(all.length).toBe(BATCH_EVENTS_MAX);
    const over = accountFilter({ limit: BATCH_EVENTS_MAX + 1 });
    expect(() => h.machine.getAccountTransfers(over)).toThrow(/client must refuse/);
  });
});

describe('get_account_balances', () => {
  it('returns the balance after each transfer of a history account, not after expiries', () => {
    const { h, at } = history();
    h.wallNs += 2n * NS_PER_S;
    expect(h.pulse()).toBe(1); // transfer 13 expires: no entry
    h.must(transfer(17n, { amount: 128n }));
    const balances = h.machine.getAccountBalances(accountFilter());
    const row = (dp: bigint, dpo: bigint, cpo: bigint, id: bigint) => ({
      debits_pending: dp,
      debits_posted: dpo,
      credits_pending: 0n,
      credits_posted: cpo,
      timestamp: at.get(id) ?? h.machine.lookupTransfers([id])[0]!.timestamp,
    });
    expect(balances).toEqual([
      row(0n, 1n, 0n, 10n),
      row(0n, 3n, 0n, 11n),
      row(0n, 3n, 4n, 12n),
      row(8n, 3n, 4n, 13n),
      row(8n, 3n, 20n, 14n),
      row(8n, 35n, 20n, 15n),
      row(0n, 163n, 20n, 17n),
    ]);
    expect(
      h.machine.getAccountBalances(accountFilter({ flags: AF.credits | AF.reversed, limit: 1 })),
    ).toEqual([row(8n, 3n, 20n, 14n)]);
  });

  it('returns nothing for an account without the history flag', () => {
    const { h } = history();
    expect(h.machine.getAccountTransfers(accountFilter({ account_id: 2n })).length).toBe(7);
    expect(h.machine.getAccountBalances(accountFilter({ account_id: 2n }))).toEqual([]);
  });
});

describe('query_accounts and query_transfers', () => {
  it('filter accounts by fields and timestamp, in either order', () => {
    const h = new Harness();
    const all = h.machine.queryAccounts(queryFilter());
    expect(all.map((a) => a.id)).toEqual([1n, 2n, 3n, 4n]);
    expect(h.machine.queryAccounts(queryFilter({ code: 2 })).map((a) => a.id)).toEqual([4n]);
    const reversed = queryFilter({ flags: QueryFilterFlags.reversed, limit: 2, code: 1 });
    expect(h.machine.queryAccounts(reversed).map((a) => a.id)).toEqual([3n, 2n]);
    const window = queryFilter({
      timestamp_min: all[1]!.timestamp,
      timestamp_max: all[2]!.timestamp,
    });
    expect(h.machine.queryAccounts(window).map((a) => a.id)).toEqual([2n, 3n]);
    expect(h.machine.queryAccounts(queryFilter({ ledger: 2 }))).toEqual([]);
  });

  it('filter transfers by fields and timestamp, in either order', () => {
    const { h, at } = history();
    const ids = (filter: Partial<QueryFilter>) =>
      h.machine.queryTransfers(queryFilter(filter)).map((t) => t.id);
    expect(ids({})).toEqual([10n, 11n, 12n, 13n, 14n, 15n, 16n]);
    expect(ids({ code: 2, flags: QueryFilterFlags.reversed })).toEqual([14n, 11n]);
    expect(ids({ user_data_64: 5n, ledger: 1 })).toEqual([10n, 12n]);
    expect(ids({ timestamp_min: at.get(15n)! })).toEqual([15n, 16n]);
    expect(ids({ timestamp_max: at.get(10n)! })).toEqual([10n]);
    expect(ids({ limit: 2, flags: QueryFilterFlags.reversed })).toEqual([16n, 15n]);
  });

  it.each([
    ['timestamp_min u64 max', { timestamp_min: U64_MAX }],
    ['timestamp_max u64 max', { timestamp_max: U64_MAX }],
    ['timestamp_max 2^63, past the largest timestamp', { timestamp_max: 1n << 63n }],
    ['timestamp_max 2^64 - 2', { timestamp_max: U64_MAX - 1n }],
    ['timestamp_min above timestamp_max', { timestamp_min: 2n, timestamp_max: 1n }],
    ['limit 0', { limit: 0 }],
    ['an unknown flag', { flags: 2 }],
  ])('return nothing for an invalid filter: %s', (_name, fields) => {
    const { h } = history();
    expect(h.machine.queryAccounts(queryFilter(fields))).toEqual([]);
    expect(h.machine.queryTransfers(queryFilter(fields))).toEqual([]);
  });
});
