/**
 * The balance read's answer (bridge/src/balances/routes.ts, reader.ts): the body the route writes
 * from a shared view's cached text is, byte for byte, what JSON.stringify made of
 * `{...view, cache}` before (a property over u128 balances, both sides, every level and age);
 * and the reader, on L1 hits, hands out one frozen view per cached value (no Redis, a fake
 * ledger and account source), a new one once a posting invalidates it.
 */
import fc from 'fast-check';
import { balanceJson } from '../../../bridge/src/balances/routes';
import { BalanceReader } from '../../../bridge/src/balances/reader';
import { balanceView, frozenView } from '../../../bridge/src/balances/view';
import type { Account } from '../../../ledger/port';

const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

describe('balanceJson', () => {
  it('writes what JSON.stringify wrote for {...view, cache}', () => {
    fc.assert(
      fc.property(
        fc.record({ dp: u128, cp: u128, dq: u128, cq: u128, t: u128 }),
        fc.constantFrom('DEBIT' as const, 'CREDIT' as const),
        fc.constantFrom('l1' as const, 'l2' as const, 'ledger' as const),
        fc.nat(),
        fc.string(),
        (b, normalSide, level, ageMs, accountId) => {
          const view = frozenView(
            balanceView(
              { accountId, asset: 'USD', scale: 2, normalSide },
              {
                debits_posted: b.dp,
                credits_posted: b.cp,
                debits_pending: b.dq,
                credits_pending: b.cq,
                timestamp: b.t,
              },
            ),
          );
          const expected = JSON.stringify({ ...view, cache: { level, ageMs } });
          expect(balanceJson(view, level, ageMs)).toBe(expected);
          // The second time from the cached text.
          expect(balanceJson(view, level, ageMs + 1)).toBe(
            JSON.stringify({ ...view, cache: { level, ageMs: ageMs + 1 } }),
          );
        },
      ),
    );
  });
});

describe('BalanceReader views', () => {
  it('shares one frozen view per cached value, and makes a new one after a posting', async () => {
    let credits = 5n;
    const ledger = {
      lookupAccounts: async (ids: bigint[]) =>
        ids.map(
          (id) =>
            ({
              id,
              debits_posted: 0n,
              credits_posted: credits,
              debits_pending: 0n,
              credits_pending: 0n,
              timestamp: 7n,
            }) as unknown as Account,
        ),
    };
    const accounts = {
      requireAccount: async (accountId: string) => ({
        accountId,
        ledgerId: 42n,
        asset: 'USD',
        scale: 2,
        normalSide: 'CREDIT' as const,
      }),
    };
    const reader = new BalanceReader({ ledger, accounts, redisUrl: null });
    const first = await reader.read('a');
    const second = await reader.read('a');
    expect(first.level).toBe('ledger');
    expect(second.level).toBe('l1');
    expect(second.view).toBe(first.view);
    expect(Object.isFrozen(second.view) && Object.isFrozen(second.view.posted)).toBe(true);
    expect(second.view.balance).toBe('5');
    credits = 9n;
    await reader.onPosted([42n], 8n);
    const third = await reader.read('a');
    expect(third.view).not.toBe(first.view);
    expect(third.view.balance).toBe('9');
    await reader.close();
  });
});
