/**
 * Proves that the embedded engine records TigerBeetle's change events (get_change_events, what
 * `tigerbeetle amqp` publishes): one per transfer created, typed by its flags, with the amount
 * TigerBeetle stores (a balancing transfer's clamped amount, a post's posted amount), and one per
 * expiry at the expiry's own timestamp carrying the pending transfer; each with both accounts'
 * balances and flags as of right after it (closing flags included). A failed linked chain leaves
 * none; imported transfers land in timestamp order; the query follows TigerBeetle's filter. A
 * seeded mix checks the events against the state they describe. Each case runs on a fresh
 * machine whose wall clock the test moves by hand.
 */
import {
  type Account,
  AccountFlags as AF,
  BATCH_EVENTS_MAX,
  CreateAccountStatus,
  CreateTransferStatus as S,
  type Transfer,
  TransferFlags as F,
  U128_MAX,
  U64_MAX,
} from '../../../ledger/port';
import { newAccount, newTransfer } from '../../../ledger/records';
import { CHANGE_EVENTS_MAX, type LedgerChange } from '../../../ledger/engine/changes';
import { StateMachine } from '../../../ledger/engine/state-machine';
import { seededWorkload, checkChangesMatchState } from '../../support/engine/changes';

const WALL_START_NS = 1_700_000_000_000_000_000n;
const NS_PER_S = 1_000_000_000n;

const account = (id: bigint, fields: Partial<Account> = {}): Account =>
  newAccount({ id, ledger: 7, code: 3, ...fields });

const transfer = (id: bigint, fields: Partial<Transfer> = {}): Transfer =>
  newTransfer({
    id,
    debit_account_id: 1n,
    credit_account_id: 2n,
    amount: 10n,
    ledger: 7,
    code: 1,
    ...fields,
  });

/** A post or void of `pendingId`: zero fields take the pending transfer's. */
const resolve = (id: bigint, pendingId: bigint, flags: number, amount = 0n): Transfer =>
  newTransfer({
    id,
    pending_id: pendingId,
    debit_account_id: 0n,
    credit_account_id: 0n,
    amount,
    ledger: 0,
    code: 0,
    flags,
  });

/** Accounts 1, 2 (1 with user data), 3 (debits must not exceed credits). */
class Harness {
  readonly machine = new StateMachine();
  wallNs = WALL_START_NS;

  constructor(accounts: Account[] = []) {
    this.accounts([
      account(1n, { user_data_128: 11n, user_data_64: 12n, user_data_32: 13 }),
      account(2n, { flags: AF.history, code: 4 }),
      account(3n, { flags: AF.debits_must_not_exceed_credits }),
      ...accounts,
    ]);
  }

  accounts(batch: Account[]): void {
    const results = this.machine.createAccounts(
      batch,
      this.machine.prepareTimestamp(batch.length, this.wallNs),
    );
    expect(results.map((r) => r.status)).toEqual(batch.map(() => CreateAccountStatus.created));
  }

  statuses(batch: Transfer[]): string[] {
    const timestamp = this.machine.prepareTimestamp(batch.length, this.wallNs);
    return this.machine.createTransfers(batch, timestamp).map((r) => S[r.status]!);
  }

  must(...batch: Transfer[]): void {
    expect(this.statuses(batch)).toEqual(batch.map(() => 'created'));
  }

  pulse(eventCount = BATCH_EVENTS_MAX): number {
    return this.machine.pulse(this.machine.prepareTimestamp(eventCount, this.wallNs));
  }

  all(): LedgerChange[] {
    return this.machine.changes(0n, CHANGE_EVENTS_MAX);
  }

  last(): LedgerChange {
    const all = this.all();
    return all[all.length - 1]!;
  }

  /** [debits_pending, debits_posted, credits_pending, credits_posted] of one side of an event. */
  static sides(e: LedgerChange): bigint[][] {
    return [e.debitAccount, e.creditAccount].map((a) => [
      a.debitsPending,
      a.debitsPosted,
      a.creditsPending,
      a.creditsPosted,
    ]);
  }
}

describe('one event per transfer created', () => {
  it('single_phase carries the whole transfer and both accounts as of right after it', () => {
    const h = new Harness();
    h.must(transfer(100n, { amount: 10n, user_data_128: 5n, user_data_64: 6n, user_data_32: 7 }));
    h.must(transfer(101n, { amount: 4n, debit_account_id: 2n, credit_account_id: 1n }));
    const [first, second] = h.all();
    const stored = h.machine.lookupTransfers([100n])[0]!;
    const [a1, a2] = h.machine.lookupAccounts([1n, 2n]);
    expect(first).toEqual({
      timestamp: stored.timestamp,
      type: 'single_phase',
      ledger: 7,
      transfer: {
        id: 100n,
        amount: 10n,
        pendingId: 0n,
        userData128: 5n,
        userData64: 6n,
        userData32: 7,
        timeout: 0,
        code: 1,
        flags: 0,
        timestamp: stored.timestamp,
      },
      debitAccount: {
        id: 1n,
        debitsPending: 0n,
        debitsPosted: 10n,
        creditsPending: 0n,
        creditsPosted: 0n,
        userData128: 11n,
        userData64: 12n,
        userData32: 13,
        code: 3,
        flags: 0,
        timestamp: a1!.timestamp,
      },
      creditAccount: {
        id: 2n,
        debitsPending: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        creditsPosted: 10n,
        userData128: 0n,
        userData64: 0n,
        userData32: 0,
        code: 4,
        flags: AF.history,
        timestamp: a2!.timestamp,
      },
    });
    // As of each event, not as of now: the first still shows 10, the second the sum.
    expect(Harness.sides(second!)).toEqual([
      [0n, 4n, 0n, 10n],
      [0n, 10n, 0n, 4n],
    ]);
    expect(second!.timestamp).toBeGreaterThan(first!.timestamp);
  });

  it.each([
    ['post of 3 of 5: the posted amount', F.post_pending_transfer, 3n, 3n, [0n, 3n]],
    ['post AMOUNT_MAX: the pending amount', F.post_pending_transfer, U128_MAX, 5n, [0n, 5n]],
    ['void 0: the pending amount', F.void_pending_transfer, 0n, 5n, [0n, 0n]],
  ])('two_phase_pending then %s', (_name, flag, requested, stored, [pending, posted]) => {
    const h = new Harness();
    h.must(transfer(100n, { amount: 5n, flags: F.pending, user_data_64: 8n }));
    expect(h.last().type).toBe('two_phase_pending');
    expect(Harness.sides(h.last())).toEqual([
      [5n, 0n, 0n, 0n],
      [0n, 0n, 5n, 0n],
    ]);
    const resolution = resolve(101n, 100n, flag, requested);
    h.must(resolution);
    const e = h.last();
    expect(e.type).toBe(flag === F.post_pending_transfer ? 'two_phase_posted' : 'two_phase_voided');
    // The transfer as TigerBeetle stores it: fields inherited from the pending one.
    expect(e.transfer).toMatchObject({ id: 101n, pendingId: 100n, amount: stored, flags: flag });
    expect(e.transfer).toMatchObject({ userData64: 8n, timeout: 0, code: 1 });
    expect(e.ledger).toBe(7);
    expect(Harness.sides(e)).toEqual([
      [pending, posted, 0n, 0n],
      [0n, 0n, pending, posted],
    ]);
  });

  it('a balancing transfer carries its clamped amount', () => {
    const h = new Harness();
    h.must(transfer(100n, { amount: 30n, debit_account_id: 2n, credit_account_id: 3n }));
    h.must(transfer(101n, { amount: 1_000n, debit_account_id: 3n, flags: F.balancing_debit }));
    expect(h.last().transfer).toMatchObject({ amount: 30n, flags: F.balancing_debit });
    expect(h.last().debitAccount).toMatchObject({ debitsPosted: 30n, creditsPosted: 30n });
  });

  it('closing transfers: the closed flag as of the event, cleared again by the void', () => {
    const h = new Harness();
    h.must(transfer(100n, { amount: 0n, flags: F.pending | F.closing_debit | F.closing_credit }));
    expect(h.last().debitAccount.flags).toBe(AF.closed);
    expect(h.last().creditAccount.flags).toBe(AF.history | AF.closed);
    h.must(resolve(101n, 100n, F.void_pending_transfer));
    expect(h.last().type).toBe('two_phase_voided');
    expect(h.last().debitAccount.flags).toBe(0);
    expect(h.last().creditAccount.flags).toBe(AF.history);
    // The pending event keeps the flags it had.
    expect(h.all()[0]!.debitAccount.flags).toBe(AF.closed);
  });

  it('balances above u64 are kept whole', () => {
    const h = new Harness();
    const big = U64_MAX + 7n;
    h.must(transfer(100n, { amount: big }), transfer(101n, { amount: 3n }));
    expect(h.all().map((e) => e.debitAccount.debitsPosted)).toEqual([big, big + 3n]);
    expect(h.all().map((e) => e.creditAccount.creditsPosted)).toEqual([big, big + 3n]);
  });

  it('failures, `exists` and a failed linked chain record nothing', () => {
    const h = new Harness();
    h.must(transfer(100n));
    expect(
      h.statuses([
        transfer(100n), // exists
        transfer(101n, { flags: F.linked }),
        transfer(102n, { flags: F.linked, amount: 1n }),
        transfer(103n, { debit_account_id: 3n }), // exceeds_credits: the chain fails
        transfer(104n, { amount: 0n, ledger: 0 }), // ledger_must_not_be_zero
      ]),
    ).toEqual([
      'exists',
      'linked_event_failed',
      'linked_event_failed',
      'exceeds_credits',
      'ledger_must_not_be_zero',
    ]);
    expect(h.all().map((e) => e.transfer.id)).toEqual([100n]);
    h.must(transfer(105n, { flags: F.linked }), transfer(106n));
    expect(h.all().map((e) => e.transfer.id)).toEqual([100n, 105n, 106n]);
  });

  it('a failed chain undoes a post, and the pending one can still be posted', () => {
    const h = new Harness();
    h.must(transfer(100n, { amount: 5n, flags: F.pending }));
    expect(
      h.statuses([
        resolve(101n, 100n, F.linked | F.post_pending_transfer, U128_MAX),
        transfer(102n, { debit_account_id: 3n }),
      ]),
    ).toEqual(['linked_event_failed', 'exceeds_credits']);
    expect(h.all().map((e) => e.type)).toEqual(['two_phase_pending']);
    h.must(resolve(103n, 100n, F.post_pending_transfer, U128_MAX));
    expect(h.all().map((e) => e.type)).toEqual(['two_phase_pending', 'two_phase_posted']);
  });
});

describe('expiry', () => {
  it('two_phase_expired at the expiry timestamp, carrying the pending transfer', () => {
    const h = new Harness();
    h.must(transfer(100n, { amount: 5n, flags: F.pending, timeout: 1, user_data_32: 9 }));
    h.must(transfer(101n, { amount: 2n, flags: F.pending, timeout: 2 }));
    const [pending] = h.machine.lookupTransfers([100n]);
    h.wallNs = pending!.timestamp + 3n * NS_PER_S;
    const pulseTimestamp = h.machine.prepareTimestamp(BATCH_EVENTS_MAX, h.wallNs);
    expect(h.machine.pulse(pulseTimestamp)).toBe(2);
    const [, , first, second] = h.all();
    // Expiry k of n happens at timestamp - n + k + 1, in deadline order.
    expect(first!.timestamp).toBe(pulseTimestamp - 1n);
    expect(second!.timestamp).toBe(pulseTimestamp);
    expect(first!.type).toBe('two_phase_expired');
    expect(first!.transfer).toEqual({
      id: 100n,
      amount: 5n,
      pendingId: 0n,
      userData128: 0n,
      userData64: 0n,
      userData32: 9,
      timeout: 1,
      code: 1,
      flags: F.pending,
      timestamp: pending!.timestamp,
    });
    expect(Harness.sides(first!)).toEqual([
      [2n, 0n, 0n, 0n],
      [0n, 0n, 2n, 0n],
    ]);
    expect(Harness.sides(second!)).toEqual([
      [0n, 0n, 0n, 0n],
      [0n, 0n, 0n, 0n],
    ]);
    expect(h.pulse()).toBe(0);
    expect(h.all()).toHaveLength(4);
  });

  it('an expired closing transfer reopens the account as of its event', () => {
    const h = new Harness();
    h.must(transfer(100n, { amount: 1n, flags: F.pending | F.closing_credit, timeout: 1 }));
    expect(h.last().creditAccount.flags).toBe(AF.history | AF.closed);
    h.wallNs += 2n * NS_PER_S;
    expect(h.pulse()).toBe(1);
    expect(h.last()).toMatchObject({ type: 'two_phase_expired' });
    expect(h.last().creditAccount.flags).toBe(AF.history);
  });

  it('a posted or voided pending transfer never expires', () => {
    const h = new Harness();
    h.must(transfer(100n, { flags: F.pending, timeout: 1 }));
    h.must(transfer(101n, { flags: F.pending, timeout: 1 }));
    h.must(resolve(102n, 100n, F.post_pending_transfer, U128_MAX));
    h.must(resolve(103n, 101n, F.void_pending_transfer));
    h.wallNs += 2n * NS_PER_S;
    expect(h.pulse()).toBe(0);
    expect(h.all().map((e) => e.type)).toEqual([
      'two_phase_pending',
      'two_phase_pending',
      'two_phase_posted',
      'two_phase_voided',
    ]);
  });

  it('a pulse too close to its deadlines for every expiry leaves the rest to the next', () => {
    const h = new Harness();
    // Two pending transfers due at the same instant D (1 s apart, timeouts 2 s and 1 s).
    h.must(transfer(100n, { flags: F.pending, timeout: 2 }));
    const [first] = h.machine.lookupTransfers([100n]);
    h.wallNs = first!.timestamp + NS_PER_S - 1n;
    h.must(transfer(101n, { flags: F.pending, timeout: 1 }));
    const [second] = h.machine.lookupTransfers([101n]);
    const deadline = first!.timestamp + 2n * NS_PER_S;
    expect(second!.timestamp + NS_PER_S).toBe(deadline);
    // At deadline + 0 only one expiry fits at or after the deadline: expiry timestamps would be
    // deadline - 1 and deadline, and TigerBeetle asserts none precedes its deadline.
    expect(h.machine.pulse(deadline)).toBe(1);
    expect(h.last()).toMatchObject({ type: 'two_phase_expired', timestamp: deadline });
    expect(h.last().transfer.id).toBe(100n);
    expect(h.machine.pulse(deadline + 1n)).toBe(1);
    expect(h.last()).toMatchObject({ timestamp: deadline + 1n });
    expect(h.last().transfer.id).toBe(101n);
  });
});

describe('imported transfers', () => {
  /** A pending transfer expired at E; the next transfer is imported at `at(E)`. */
  function expiredThenImported(at: (expiry: bigint) => bigint): {
    h: Harness;
    expiry: bigint;
    results: string[];
  } {
    const h = new Harness();
    h.must(transfer(100n, { flags: F.pending, timeout: 1 }));
    h.wallNs += 2n * NS_PER_S;
    expect(h.pulse()).toBe(1);
    const expiry = h.last().timestamp;
    h.wallNs += NS_PER_S;
    const imported = (id: bigint, timestamp: bigint, flags = 0): Transfer =>
      transfer(id, { flags: F.imported | flags, timestamp, amount: 1n });
    const results = h.statuses([
      imported(200n, at(expiry), F.linked),
      imported(201n, at(expiry) + 1n),
    ]);
    return { h, expiry, results };
  }

  it('an event at its own timestamp, in timestamp order before a later expiry', () => {
    const { h, expiry, results } = expiredThenImported((e) => e - 10n);
    expect(results).toEqual(['created', 'created']);
    expect(h.all().map((e) => [e.type, e.timestamp])).toEqual([
      ['two_phase_pending', h.all()[0]!.timestamp],
      ['single_phase', expiry - 10n],
      ['single_phase', expiry - 9n],
      ['two_phase_expired', expiry],
    ]);
    // As of each event, in the order they happened, not the order of their timestamps.
    expect(h.all()[3]!.debitAccount.debitsPosted).toBe(0n);
    expect(h.all()[2]!.debitAccount.debitsPosted).toBe(2n);
  });

  it("at an expiry's timestamp it replaces that event, as TigerBeetle's LSM put does", () => {
    // Verified on TigerBeetle 0.17.9 (a private one-replica cluster, its events replayed by
    // `tigerbeetle amqp --timestamp-last=0`): imports at E - 10, E and E + 1 after an expiry at E
    // leave the pending event and three single-phase ones; the expiry's event is gone.
    const h = new Harness();
    h.must(transfer(100n, { amount: 5n, flags: F.pending, timeout: 1 }));
    h.wallNs += 2n * NS_PER_S;
    expect(h.pulse()).toBe(1);
    const expiry = h.last().timestamp;
    h.wallNs += NS_PER_S;
    const imported = (id: bigint, at: bigint, amount: bigint): Transfer =>
      transfer(id, { flags: F.imported, timestamp: at, amount });
    expect(
      h.statuses([
        imported(200n, expiry - 10n, 1n),
        imported(201n, expiry, 2n),
        imported(202n, expiry + 1n, 3n),
      ]),
    ).toEqual(['created', 'created', 'created']);
    const all = h.all();
    expect(all.map((e) => [e.type, e.timestamp, e.transfer.amount])).toEqual([
      ['two_phase_pending', all[0]!.timestamp, 5n],
      ['single_phase', expiry - 10n, 1n],
      ['single_phase', expiry, 2n],
      ['single_phase', expiry + 1n, 3n],
    ]);
    expect(all.map((e) => [e.debitAccount.debitsPosted, e.debitAccount.debitsPending])).toEqual([
      [0n, 5n],
      [1n, 0n],
      [3n, 0n],
      [6n, 0n],
    ]);
  });

  it('a failed imported chain puts back what it replaced and shifted', () => {
    const h = new Harness();
    h.must(transfer(100n, { flags: F.pending, timeout: 1 }));
    h.wallNs += 2n * NS_PER_S;
    expect(h.pulse()).toBe(1);
    const before = h.all();
    const expiry = before[1]!.timestamp;
    h.wallNs += NS_PER_S;
    const imported = (id: bigint, timestamp: bigint, fields: Partial<Transfer> = {}) =>
      transfer(id, { flags: F.imported | F.linked, timestamp, amount: 1n, ...fields });
    expect(
      h.statuses([
        imported(200n, expiry - 5n),
        imported(201n, expiry),
        imported(202n, expiry + 1n, { debit_account_id: 3n, flags: F.imported }),
      ]),
    ).toEqual(['linked_event_failed', 'linked_event_failed', 'exceeds_credits']);
    expect(h.all()).toEqual(before);
  });
});

describe('the query: get_change_events', () => {
  it('events at or after timestamp_min, in order, at most limit; 0 and out-of-range find none', () => {
    const h = new Harness();
    h.must(...Array.from({ length: 10 }, (_, i) => transfer(100n + BigInt(i), { amount: 1n })));
    const all = h.all();
    expect(all.map((e) => e.transfer.id)).toEqual(all.map((_, i) => 100n + BigInt(i)));
    expect(h.machine.changes(all[4]!.timestamp, 3).map((e) => e.transfer.id)).toEqual([
      104n,
      105n,
      106n,
    ]);
    expect(h.machine.changes(all[4]!.timestamp + 1n, 100)[0]!.transfer.id).toBe(105n);
    expect(h.machine.changes(all[9]!.timestamp + 1n, 100)).toEqual([]);
    expect(h.machine.changes(0n, 0)).toEqual([]);
    expect(h.machine.changes(1n << 63n, 10)).toEqual([]);
    expect(() => h.machine.changes(0n, CHANGE_EVENTS_MAX + 1)).toThrow(/limit/);
  });
});

describe('the events describe the state [replay: SEED=<n>]', () => {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));

  it(`seeded mix of chains, two-phase, balancing, closing, timeouts [replay: SEED=${seed}]`, () => {
    const machine = new StateMachine();
    seededWorkload(seed, machine);
    expect(machine.changeCount).toBeGreaterThan(100); // not a degenerate mix
    checkChangesMatchState(machine);
  });
});

describe('memory', () => {
  it('stays compact: bytes per event of the columns, measured', () => {
    const h = new Harness();
    const events = 16_384 * 6;
    for (let i = 0; i < events; i += BATCH_EVENTS_MAX) {
      const n = Math.min(BATCH_EVENTS_MAX, events - i);
      h.must(
        ...Array.from({ length: n }, (_, k) => transfer(1_000n + BigInt(i + k), { amount: 1n })),
      );
    }
    expect(h.machine.changeCount).toBe(events);
    const perEvent = h.machine.changeBytes / events;
    console.log(`change events: ${perEvent} bytes per event in columns (${events} events)`);
    expect(perEvent).toBeLessThanOrEqual(81);
  });
});
