/**
 * Proves the benchmarks' synthetic change events (events/synthetic-change.ts) are what the
 * ledger would send for the synthetic outcomes: the same transfer (id, accounts, amount,
 * timestamp), valid in TigerBeetle's format, and each account's balance as of the event equal to
 * the running sum of every earlier transfer it took part in (checked against a plain loop).
 */
import { decodeChange, encodeChange } from '../../../events/change';
import { syntheticOutcome } from '../../../events/synthetic';
import { syntheticChange } from '../../../events/synthetic-change';

describe('syntheticChange', () => {
  it.each([
    [7, 1],
    [5, 3],
  ])('balances are running sums (%i debit, %i credit accounts)', (accounts, creditAccounts) => {
    const posted = new Map<bigint, { debits: bigint; credits: bigint }>();
    for (let sequence = 0; sequence < 200; sequence++) {
      const change = syntheticChange(sequence, { accounts, creditAccounts });
      const { debitAccount: debit, creditAccount: credit, transfer } = change;
      const d = posted.get(debit.id) ?? { debits: 0n, credits: 0n };
      const c = posted.get(credit.id) ?? { debits: 0n, credits: 0n };
      d.debits += transfer.amount;
      c.credits += transfer.amount;
      posted.set(debit.id, d).set(credit.id, c);
      expect([debit.debitsPosted, debit.creditsPosted]).toEqual([d.debits, d.credits]);
      expect([credit.debitsPosted, credit.creditsPosted]).toEqual([c.debits, c.credits]);
      expect(decodeChange(encodeChange(change))).toEqual(change);
    }
  });

  it('describes the same transfer as the synthetic outcome', () => {
    for (const sequence of [0, 1, 999, 123_456]) {
      const change = syntheticChange(sequence, { accounts: 1_000 });
      const outcome = syntheticOutcome(sequence, { run: 'r', accounts: 1_000 }).transfers[0]!;
      expect(change.transfer.id).toBe(outcome.transfer.id);
      expect(change.transfer.amount).toBe(outcome.transfer.amount);
      expect(change.timestamp).toBe(outcome.timestamp);
      expect(change.debitAccount.id).toBe(outcome.transfer.debit_account_id);
      expect(change.creditAccount.id).toBe(outcome.transfer.credit_account_id);
    }
  });
});
