/**
 * Behaviour beyond single statuses: linked chains are all-or-nothing, timestamps, two-phase
 * transfers (post in full, in part, of zero, void, inheritance of fields), balancing transfers,
 * and closing / reopening accounts.
 */
import {
  type Account,
  AccountFlags,
  CreateTransferStatus as S,
  type Transfer,
  TransferFlags,
  U128_MAX,
} from '../../../ledger/port';
import { expectTimestamps } from './runner';
import {
  account,
  accountStatusName,
  type Balances,
  Fixture,
  id,
  nth,
  resolve,
  transfer,
  transferStatusName,
} from './fixtures';
import type { LedgerHandle } from './suite';

const { linked, pending } = TransferFlags;

const move = (from: Account, to: Account, over: Partial<Transfer> = {}): Transfer =>
  transfer({ debit_account_id: from.id, credit_account_id: to.id, ...over });

const bal = (over: Partial<Balances>): Balances => ({
  debits_pending: 0n,
  debits_posted: 0n,
  credits_pending: 0n,
  credits_posted: 0n,
  ...over,
});

async function statuses(fx: Fixture, batch: Transfer[]): Promise<string[]> {
  const results = await fx.ledger.createTransfers(batch);
  return results.map((r) => transferStatusName(r.status));
}

export function describeLinkedChains(h: LedgerHandle): void {
  describe('linked chains are all-or-nothing', () => {
    it('a failed chain leaves no balance, no transfer, and its ids stay usable', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const t1 = move(a, b, { amount: 10n, flags: linked });
      const t2 = move(a, b, { amount: 5n, flags: linked | pending });
      const t3 = move(a, b, { code: 0 });
      expect(await statuses(fx, [t1, t2, t3])).toEqual([
        'linked_event_failed',
        'linked_event_failed',
        'code_must_not_be_zero',
      ]);
      expect(await fx.balances(a.id)).toEqual(bal({}));
      expect(await fx.ledger.lookupTransfers([t1.id, t2.id, t3.id])).toEqual([]);
      // Rolled-back events are not retired: only the event that failed is judged.
      await fx.created([{ ...t1, flags: 0 }]);
      expect(await fx.balances(a.id)).toEqual(bal({ debits_posted: 10n }));
    });

    it('a failed chain does not affect the events around it', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const batch = [
        move(a, b, { amount: 1n }),
        move(a, b, { amount: 10n, flags: linked }),
        move(a, b, { amount: 100n, debit_account_id: id() }),
        move(a, b, { amount: 1000n }),
      ];
      expect(await statuses(fx, batch)).toEqual([
        'created',
        'linked_event_failed',
        'debit_account_not_found',
        'created',
      ]);
      expect(await fx.balances(b.id)).toEqual(bal({ credits_posted: 1001n }));
    });

    it('a chain of accounts and transfers in one batch each commits as a unit', async () => {
      const fx = new Fixture(h.ledger);
      const a = account({ flags: AccountFlags.linked });
      const b = account();
      const results = await fx.ledger.createAccounts([a, b]);
      expect(results.map((r) => accountStatusName(r.status))).toEqual(['created', 'created']);
      await fx.created([move(a, b, { flags: linked }), move(b, a, { amount: 3n })]);
      expect(await fx.balances(a.id)).toEqual(bal({ debits_posted: 10n, credits_posted: 3n }));
    });
  });
}

export function describeTimestamps(h: LedgerHandle): void {
  describe('timestamps', () => {
    it('created events get strictly increasing timestamps, and lookups return them', async () => {
      const fx = new Fixture(h.ledger);
      const first = await fx.accounts([{}, {}, {}]);
      const second = await fx.accounts([{}, {}]);
      const all = [...first, ...second];
      expectTimestamps(all.map((a) => ({ timestamp: a.timestamp, created: true })));
      const found = await fx.ledger.lookupAccounts(all.map((a) => a.id));
      expect(found.map((a) => a.timestamp)).toEqual(all.map((a) => a.timestamp));
      const t = await fx.createdOne(move(nth(all, 0), nth(all, 1)));
      expect(t.timestamp).toBeGreaterThan(nth(all, 4).timestamp);
      expect((await fx.lookupTransfer(t.id)).timestamp).toBe(t.timestamp);
    });

    it('every event of a batch gets its own timestamp, failed ones included', async () => {
      const fx = new Fixture(h.ledger);
      const batch = [account(), account({ code: 0 }), account(), account({ id: 0n }), account()];
      const results = await fx.ledger.createAccounts(batch);
      const stamps = results.map((r) => r.timestamp);
      for (let i = 1; i < stamps.length; i++) {
        expect({ i, later: nth(stamps, i) > nth(stamps, i - 1) }).toEqual({ i, later: true });
      }
    });

    it('exists answers with the timestamp of the original event', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const t = await fx.createdOne(move(a, b));
      const retry = await fx.ledger.createTransfers([{ ...t, timestamp: 0n }]);
      expect(retry).toEqual([{ status: S.exists, timestamp: t.timestamp }]);
      const again = await fx.ledger.createAccounts([{ ...a, timestamp: 0n }]);
      expect(again.map((r) => r.timestamp)).toEqual([a.timestamp]);
    });
  });
}

export function describeTwoPhase(h: LedgerHandle): void {
  describe('two-phase transfers', () => {
    const setup = async (): Promise<{ fx: Fixture; a: Account; b: Account; p: Transfer }> => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const p = await fx.pending(a, b, 100n);
      return { fx, a, b, p };
    };

    it('a pending transfer holds its amount on both sides', async () => {
      const { fx, a, b } = await setup();
      expect(await fx.balances(a.id)).toEqual(bal({ debits_pending: 100n }));
      expect(await fx.balances(b.id)).toEqual(bal({ credits_pending: 100n }));
    });

    it.each([
      ['in full (amount u128 max)', U128_MAX, 100n],
      ['of exactly the pending amount', 100n, 100n],
      ['of part of the amount, releasing the rest', 40n, 40n],
      ['of amount 0, which posts nothing and releases the hold', 0n, 0n],
    ])('post %s', async (_name, requested, posted) => {
      const { fx, a, b, p } = await setup();
      const post = await fx.createdOne(resolve('post', p.id, { amount: requested }));
      expect((await fx.lookupTransfer(post.id)).amount).toBe(posted);
      expect(await fx.balances(a.id)).toEqual(bal({ debits_posted: posted }));
      expect(await fx.balances(b.id)).toEqual(bal({ credits_posted: posted }));
      const retry = await fx.ledger.createTransfers([{ ...post, timestamp: 0n }]);
      expect(retry).toEqual([{ status: S.exists, timestamp: post.timestamp }]);
    });

    it.each([
      ['amount 0 (the pending amount)', 0n],
      ['the pending amount', 100n],
    ])('void with %s releases the hold', async (_name, requested) => {
      const { fx, a, b, p } = await setup();
      const v = await fx.createdOne(resolve('void', p.id, { amount: requested }));
      expect((await fx.lookupTransfer(v.id)).amount).toBe(100n);
      expect(await fx.balances(a.id)).toEqual(bal({}));
      expect(await fx.balances(b.id)).toEqual(bal({}));
    });

    it('post and void take accounts, ledger, code, unset user data from the pending', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const userData = { user_data_128: 128n, user_data_64: 64n, user_data_32: 32 };
      const p = transfer({ ...userData, debit_account_id: a.id, credit_account_id: b.id });
      p.flags = pending;
      p.code = 7;
      const q = { ...p, id: id() };
      await fx.created([p, q]);
      const post = resolve('post', p.id, { amount: U128_MAX, user_data_64: 99n });
      const v = resolve('void', q.id);
      await fx.created([post, v]);
      const stored = await fx.ledger.lookupTransfers([post.id, v.id]);
      const inherited = {
        debit_account_id: a.id,
        credit_account_id: b.id,
        code: 7,
        ledger: p.ledger,
      };
      expect(nth(stored, 0)).toMatchObject({ ...inherited, ...userData, user_data_64: 99n });
      expect(nth(stored, 1)).toMatchObject({ ...inherited, ...userData });
    });
  });
}

export function describeBalancing(h: LedgerHandle): void {
  describe('balancing transfers', () => {
    /** A with credits 100 and debits 30; B with debits 50; C the counterparty. */
    const setup = async (): Promise<{ fx: Fixture; a: Account; b: Account }> => {
      const fx = new Fixture(h.ledger);
      const [a, b, c] = await fx.three();
      await fx.created([
        move(c, a, { amount: 100n }),
        move(a, c, { amount: 30n }),
        move(b, c, { amount: 50n }),
      ]);
      return { fx, a, b };
    };

    it.each([
      [
        'balancing_debit moves at most the debit account’s net credit',
        TransferFlags.balancing_debit,
        70n,
      ],
      [
        'balancing_credit moves at most the credit account’s net debit',
        TransferFlags.balancing_credit,
        50n,
      ],
      [
        'both flags move the smaller of the two',
        TransferFlags.balancing_debit | TransferFlags.balancing_credit,
        50n,
      ],
    ])('%s', async (_name, flags, moved) => {
      const { fx, a, b } = await setup();
      const t = await fx.createdOne(move(a, b, { amount: 1000n, flags }));
      expect((await fx.lookupTransfer(t.id)).amount).toBe(moved);
      expect((await fx.balances(a.id)).debits_posted).toBe(30n + moved);
      // A retry with any amount not below what was moved is the same transfer.
      const retry = await fx.ledger.createTransfers([{ ...t, timestamp: 0n, amount: U128_MAX }]);
      expect(retry.map((r) => transferStatusName(r.status))).toEqual(['exists']);
      const less = await fx.ledger.createTransfers([{ ...t, timestamp: 0n, amount: moved - 1n }]);
      expect(less.map((r) => transferStatusName(r.status))).toEqual([
        'exists_with_different_amount',
      ]);
    });

    it('pending debits count, and nothing left to balance moves 0', async () => {
      const { fx, a, b } = await setup();
      await fx.created([move(a, b, { amount: 20n, flags: pending })]);
      const flags = TransferFlags.balancing_debit;
      const batch = [move(a, b, { amount: U128_MAX, flags }), move(a, b, { flags })];
      await fx.created(batch);
      const stored = await fx.ledger.lookupTransfers(batch.map((t) => t.id));
      expect(stored.map((t) => t.amount)).toEqual([50n, 0n]);
    });

    it('balancing never crosses a limit', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b, c] = await fx.three([AccountFlags.debits_must_not_exceed_credits, 0, 0]);
      await fx.created([move(c, a, { amount: 25n })]);
      await fx.created([move(a, b, { amount: 1000n, flags: TransferFlags.balancing_debit })]);
      expect(await fx.balances(a.id)).toEqual(bal({ debits_posted: 25n, credits_posted: 25n }));
    });
  });
}

export function describeClosing(h: LedgerHandle): void {
  describe('closing and reopening accounts', () => {
    it('a pending closing transfer closes both accounts; voiding it reopens them', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b, c] = await fx.three();
      const closingFlags = pending | TransferFlags.closing_debit | TransferFlags.closing_credit;
      const closing = await fx.createdOne(move(a, b, { amount: 0n, flags: closingFlags }));
      for (const x of [a, b]) {
        expect((await fx.lookupAccount(x.id)).flags & AccountFlags.closed).toBe(
          AccountFlags.closed,
        );
      }
      expect(await statuses(fx, [move(a, c)])).toEqual(['debit_account_already_closed']);
      expect(await statuses(fx, [move(c, b)])).toEqual(['credit_account_already_closed']);
      expect(await statuses(fx, [resolve('post', closing.id)])).toEqual([
        'debit_account_already_closed',
      ]);
      await fx.created([resolve('void', closing.id)]);
      for (const x of [a, b]) expect((await fx.lookupAccount(x.id)).flags).toBe(x.flags);
      await fx.created([move(a, b, { amount: 5n })]);
    });

    it('closing_credit closes only the credit account', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b, c] = await fx.three();
      await fx.created([move(a, b, { amount: 0n, flags: pending | TransferFlags.closing_credit })]);
      expect((await fx.lookupAccount(a.id)).flags & AccountFlags.closed).toBe(0);
      await fx.created([move(a, c)]);
      expect(await statuses(fx, [move(c, b)])).toEqual(['credit_account_already_closed']);
    });

    it('voiding another pending transfer is allowed on a closed account', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const p = await fx.pending(a, b, 10n);
      await fx.created([move(a, b, { amount: 0n, flags: pending | TransferFlags.closing_debit })]);
      expect(await statuses(fx, [resolve('post', p.id)])).toEqual(['debit_account_already_closed']);
      await fx.created([resolve('void', p.id)]);
      expect(await fx.balances(a.id)).toEqual(bal({}));
      expect((await fx.lookupAccount(a.id)).flags & AccountFlags.closed).toBe(AccountFlags.closed);
    });
  });
}
