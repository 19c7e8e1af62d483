/**
 * create_transfers cases that depend on ledger state: pending transfers (post / void and the
 * `pending_transfer_*` family, from `post_or_void_pending_transfer` in src/state_machine.zig),
 * closed accounts, balance limits, overflows (accounts driven to huge balances by transfers of
 * u128-sized amounts) and ids retired by transient failures (`id_already_failed`).
 */
import {
  type Account,
  AccountFlags,
  CreateTransferStatus as S,
  type Transfer,
  TransferFlags,
  U128_MAX,
  U32_MAX,
} from '../../../ledger/port';
import { type Fixture, id, nth, resolve, sleepMs, transfer } from './fixtures';
import { ab, type TransferCase } from './transfer-cases';

const { pending, closing_debit, closing_credit } = TransferFlags;
const DEBITS_LIMITED = AccountFlags.debits_must_not_exceed_credits;
const CREDITS_LIMITED = AccountFlags.credits_must_not_exceed_debits;

/** TigerBeetle expires a pending transfer at timestamp + timeout; its pulse then releases it. */
const EXPIRY_WAIT_MS_MAX = 5_000;
const POLL_INTERVAL_MS = 100;

const move = (from: Account, to: Account, over: Partial<Transfer> = {}): Transfer =>
  transfer({ debit_account_id: from.id, credit_account_id: to.id, ...over });

/** A→B pending of 100, then the batch `make` builds around it. */
const withPending =
  (
    make: (p: Transfer, a: Account, b: Account) => Transfer[],
    setup?: (p: Transfer) => Transfer[],
  ) =>
  async (fx: Fixture): Promise<Transfer[]> => {
    const [a, b] = await fx.pair();
    const p = await fx.pending(a, b, 100n);
    if (setup) await fx.created(setup(p));
    return make(p, a, b);
  };

/** Accounts A, B, C; `setup` runs first (all created), then the batch `make` builds. */
const threeAccounts =
  (
    setup: (a: Account, b: Account, c: Account) => Transfer[],
    make: (a: Account, b: Account, c: Account) => Transfer[],
    flags: [number, number, number] = [0, 0, 0],
  ) =>
  async (fx: Fixture): Promise<Transfer[]> => {
    const [a, b, c] = await fx.three(flags);
    await fx.created(setup(a, b, c));
    return make(a, b, c);
  };

const big = (flags = 0) => ({ amount: U128_MAX, flags });

export const TRANSFER_PENDING_CASES: TransferCase[] = [
  {
    name: 'post of a transfer that does not exist',
    expect: [S.pending_transfer_not_found],
    build: withPending(() => [resolve('post', id())]),
  },
  {
    name: 'post of a transfer that is not pending',
    expect: [S.pending_transfer_not_pending],
    build: async (fx) => {
      const plain = await fx.createdOne(nth(await ab({})(fx), 0));
      return [resolve('post', plain.id)];
    },
  },
  {
    name: 'post naming another debit account',
    expect: [S.pending_transfer_has_different_debit_account_id],
    build: withPending((p, _a, b) => [resolve('post', p.id, { debit_account_id: b.id })]),
  },
  {
    name: 'post naming another credit account',
    expect: [S.pending_transfer_has_different_credit_account_id],
    build: withPending((p, a) => [resolve('post', p.id, { credit_account_id: a.id })]),
  },
  {
    name: 'post naming another ledger',
    expect: [S.pending_transfer_has_different_ledger],
    build: withPending((p) => [resolve('post', p.id, { ledger: 9 })]),
  },
  {
    name: 'post naming another code',
    expect: [S.pending_transfer_has_different_code],
    build: withPending((p) => [resolve('post', p.id, { code: 9 })]),
  },
  {
    name: 'post of more than the pending amount',
    expect: [S.exceeds_pending_transfer_amount],
    build: withPending((p) => [resolve('post', p.id, { amount: 101n })]),
  },
  {
    name: 'void of less than the pending amount',
    expect: [S.pending_transfer_has_different_amount],
    build: withPending((p) => [resolve('void', p.id, { amount: 50n })]),
  },
  {
    name: 'post of a posted transfer',
    expect: [S.pending_transfer_already_posted],
    build: withPending(
      (p) => [resolve('post', p.id)],
      (p) => [resolve('post', p.id, { amount: U128_MAX })],
    ),
  },
  {
    name: 'post then post again in one batch',
    expect: [S.created, S.pending_transfer_already_posted],
    build: withPending((p) => [resolve('post', p.id, { amount: 100n }), resolve('post', p.id)]),
  },
  {
    name: 'post of a voided transfer',
    expect: [S.pending_transfer_already_voided],
    build: withPending(
      (p) => [resolve('post', p.id, { amount: 100n })],
      (p) => [resolve('void', p.id)],
    ),
  },
  {
    name: 'post after the pending transfer timed out',
    expect: [S.pending_transfer_expired],
    timeoutMs: 20_000,
    build: async (fx) => {
      const [a, b] = await fx.pair();
      const startedMs = Date.now();
      const p = await fx.pending(a, b, 100n, 1);
      await sleepMs(1_100);
      // The expiry is TigerBeetle's pulse: poll (bounded) until the hold is released.
      while ((await fx.balances(a.id)).debits_pending !== 0n) {
        if (Date.now() - startedMs > EXPIRY_WAIT_MS_MAX) {
          throw new Error(`pending balance not released ${EXPIRY_WAIT_MS_MAX} ms after creation`);
        }
        await sleepMs(POLL_INTERVAL_MS);
      }
      return [resolve('post', p.id)];
    },
    verify: async (fx, batch) => {
      const pendingId = nth(batch, 0).pending_id;
      const voided = await fx.ledger.createTransfers([resolve('void', pendingId)]);
      expect(voided.map((r) => S[r.status])).toEqual(['pending_transfer_expired']);
      const p = await fx.lookupTransfer(pendingId);
      const expected = {
        debits_pending: 0n,
        debits_posted: 0n,
        credits_pending: 0n,
        credits_posted: 0n,
      };
      expect(await fx.balances(p.debit_account_id)).toEqual(expected);
      expect(await fx.balances(p.credit_account_id)).toEqual(expected);
    },
  },
  {
    name: 'post with pending_id 0',
    expect: [S.pending_id_must_not_be_zero],
    build: withPending(() => [resolve('post', 0n)]),
  },
  {
    name: 'post with pending_id u128 max',
    expect: [S.pending_id_must_not_be_int_max],
    build: withPending(() => [resolve('post', U128_MAX)]),
  },
  {
    name: 'post naming itself as the pending transfer',
    expect: [S.pending_id_must_be_different],
    build: withPending(() => {
      const self = id();
      return [resolve('post', self, { id: self })];
    }),
  },
  {
    name: 'post with a timeout',
    expect: [S.timeout_reserved_for_pending_transfer],
    build: withPending((p) => [resolve('post', p.id, { timeout: 1 })]),
  },
  {
    name: 'a pending transfer with the longest timeout (overflows_timeout boundary)',
    expect: [S.created],
    build: ab({ flags: pending, timeout: U32_MAX }),
  },
];

export const TRANSFER_BALANCE_CASES: TransferCase[] = [
  {
    name: 'debit from an account closed by a pending closing_debit',
    expect: [S.debit_account_already_closed],
    build: threeAccounts(
      (a, b) => [move(a, b, { amount: 0n, flags: pending | closing_debit })],
      (a, _b, c) => [move(a, c)],
    ),
  },
  {
    name: 'credit to an account closed by a pending closing_credit',
    expect: [S.credit_account_already_closed],
    build: threeAccounts(
      (a, b) => [move(a, b, { amount: 0n, flags: pending | closing_credit })],
      (_a, b, c) => [move(c, b)],
    ),
  },
  {
    name: 'debits over credits on a debits_must_not_exceed_credits account',
    expect: [S.exceeds_credits],
    build: threeAccounts(
      (a, _b, c) => [move(c, a, { amount: 10n })],
      (a, b) => [move(a, b, { amount: 11n })],
      [DEBITS_LIMITED, 0, 0],
    ),
  },
  {
    name: 'debits up to credits exactly',
    expect: [S.created],
    build: threeAccounts(
      (a, _b, c) => [move(c, a, { amount: 10n })],
      (a, b) => [move(a, b, { amount: 10n })],
      [DEBITS_LIMITED, 0, 0],
    ),
  },
  {
    name: 'pending debits count against the limit',
    expect: [S.exceeds_credits],
    build: threeAccounts(
      (a, b, c) => [move(c, a, { amount: 10n }), move(a, b, { amount: 6n, flags: pending })],
      (a, b) => [move(a, b, { amount: 5n })],
      [DEBITS_LIMITED, 0, 0],
    ),
  },
  {
    name: 'credits over debits on a credits_must_not_exceed_debits account',
    expect: [S.exceeds_debits],
    build: threeAccounts(
      (_a, b, c) => [move(b, c, { amount: 10n })],
      (a, b) => [move(a, b, { amount: 11n })],
      [0, CREDITS_LIMITED, 0],
    ),
  },
  {
    name: 'pending debits at u128 max, then one more pending',
    expect: [S.overflows_debits_pending],
    build: threeAccounts(
      (a, b) => [move(a, b, big(pending))],
      (a, _b, c) => [move(a, c, { amount: 1n, flags: pending })],
    ),
  },
  {
    name: 'pending credits at u128 max, then one more pending',
    expect: [S.overflows_credits_pending],
    build: threeAccounts(
      (a, b) => [move(a, b, big(pending))],
      (_a, b, c) => [move(c, b, { amount: 1n, flags: pending })],
    ),
  },
  {
    name: 'posted debits at u128 max, then one more',
    expect: [S.overflows_debits_posted],
    build: threeAccounts(
      (a, b) => [move(a, b, big())],
      (a, _b, c) => [move(a, c, { amount: 1n })],
    ),
  },
  {
    name: 'posted credits at u128 max, then one more',
    expect: [S.overflows_credits_posted],
    build: threeAccounts(
      (a, b) => [move(a, b, big())],
      (_a, b, c) => [move(c, b, { amount: 1n })],
    ),
  },
  {
    name: 'pending debits at u128 max, then one posted',
    expect: [S.overflows_debits],
    build: threeAccounts(
      (a, b) => [move(a, b, big(pending))],
      (a, _b, c) => [move(a, c, { amount: 1n })],
    ),
  },
  {
    name: 'pending credits at u128 max, then one posted',
    expect: [S.overflows_credits],
    build: threeAccounts(
      (a, b) => [move(a, b, big(pending))],
      (_a, b, c) => [move(c, b, { amount: 1n })],
    ),
  },
  {
    name: 'a transient failure retires the id',
    expect: [S.id_already_failed],
    build: async (fx) => {
      const [a, b] = await fx.pair();
      const t = move(a, b, { debit_account_id: id() });
      const first = await fx.ledger.createTransfers([t]);
      expect(first.map((r) => S[r.status])).toEqual(['debit_account_not_found']);
      return [{ ...t, debit_account_id: a.id }];
    },
  },
  {
    name: 'a transient failure retires the id within the same batch',
    expect: [S.exceeds_credits, S.id_already_failed],
    build: threeAccounts(
      () => [],
      (a, b) => {
        const t = move(a, b, { amount: 1n });
        return [t, { ...t, amount: 0n }];
      },
      [DEBITS_LIMITED, 0, 0],
    ),
  },
  {
    name: 'a deterministic failure does not retire the id',
    expect: [S.created],
    build: async (fx) => {
      const [a, b] = await fx.pair();
      const t = move(a, b, { code: 0 });
      const first = await fx.ledger.createTransfers([t]);
      expect(first.map((r) => S[r.status])).toEqual(['code_must_not_be_zero']);
      return [{ ...t, code: 1 }];
    },
  },
];

/** State-dependent failures that coincide: TigerBeetle's order decides. */
export const TRANSFER_STATE_ORDER_CASES: TransferCase[] = [
  {
    name: 'post: pending_id zero before timeout',
    expect: [S.pending_id_must_not_be_zero],
    build: withPending(() => [resolve('post', 0n, { timeout: 1 })]),
  },
  {
    name: 'post: timeout before pending transfer lookup',
    expect: [S.timeout_reserved_for_pending_transfer],
    build: withPending(() => [resolve('post', id(), { timeout: 1 })]),
  },
  {
    name: 'post: pending transfer lookup before its accounts',
    expect: [S.pending_transfer_not_found],
    build: withPending((_p, a) => [resolve('post', id(), { debit_account_id: a.id })]),
  },
  {
    name: 'post: debit account before code',
    expect: [S.pending_transfer_has_different_debit_account_id],
    build: withPending((p, _a, b) => [resolve('post', p.id, { debit_account_id: b.id, code: 9 })]),
  },
  {
    name: 'post: code before amount',
    expect: [S.pending_transfer_has_different_code],
    build: withPending((p) => [resolve('post', p.id, { code: 9, amount: 101n })]),
  },
  {
    name: 'post: amount before already posted',
    expect: [S.exceeds_pending_transfer_amount],
    build: withPending(
      (p) => [resolve('post', p.id, { amount: 101n })],
      (p) => [resolve('post', p.id, { amount: 100n })],
    ),
  },
  {
    name: 'void: amount before already voided',
    expect: [S.pending_transfer_has_different_amount],
    build: withPending(
      (p) => [resolve('void', p.id, { amount: 50n })],
      (p) => [resolve('void', p.id)],
    ),
  },
  {
    name: 'id_already_failed before validation',
    expect: [S.id_already_failed],
    build: async (fx) => {
      const [a, b] = await fx.pair();
      const t = move(a, b, { credit_account_id: id() });
      await fx.ledger.createTransfers([t]);
      return [{ ...t, code: 0, credit_account_id: b.id }];
    },
  },
  {
    name: 'closed account before limits',
    expect: [S.debit_account_already_closed],
    build: threeAccounts(
      (a, b) => [move(a, b, { amount: 0n, flags: pending | closing_debit })],
      (a, _b, c) => [move(a, c, { amount: 5n })],
      [DEBITS_LIMITED, 0, 0],
    ),
  },
  {
    name: 'pending overflow of the debit account before the credit account',
    expect: [S.overflows_debits_pending],
    build: threeAccounts(
      (a, b) => [move(a, b, big(pending))],
      (a, b) => [move(a, b, { amount: 1n, flags: pending })],
    ),
  },
  {
    name: 'posted overflow of the debit account before the credit account',
    expect: [S.overflows_debits_posted],
    build: threeAccounts(
      (a, b) => [move(a, b, big())],
      (a, b) => [move(a, b, { amount: 1n })],
    ),
  },
  {
    name: 'overflow before limits',
    expect: [S.overflows_debits],
    build: threeAccounts(
      (a, b, c) => [move(c, a, big()), move(a, b, big(pending))],
      (a, _b, c) => [move(a, c, { amount: 1n })],
      [DEBITS_LIMITED, 0, 0],
    ),
  },
  {
    name: 'exceeds_credits (debit side) before exceeds_debits (credit side)',
    expect: [S.exceeds_credits],
    build: threeAccounts(
      () => [],
      (a, b) => [move(a, b, { amount: 1n })],
      [DEBITS_LIMITED, CREDITS_LIMITED, 0],
    ),
  },
];
