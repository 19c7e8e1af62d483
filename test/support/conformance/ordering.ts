/**
 * What the Ledger port promises about the order of calls, and what it does not.
 *
 * Promised, and held here on every adapter: each call's own answer is consistent (a read sees
 * one state, whole: both sides of every transfer or neither), and once a call has resolved,
 * every call made after that sees its effects.
 *
 * Not promised: any order between calls in flight together. tigerbeetle-node 0.17.9 merges a
 * new request into an already queued one of the same operation, ahead of other requests queued
 * in between. Measured on a 3-replica cluster with one request in flight, 50 of 50 times each:
 * with write W1, read R, write W2 issued in that order without awaiting, R saw W2; with read R1,
 * write W, read R2, R2 (merged into R1) missed W. The embedded engine runs calls in call order,
 * so code that passes on the engine can still read stale or "future" state on TigerBeetle:
 * a caller that needs an order must await the first call before making the second (the
 * differential fuzzer, ledger/fidelity/, makes one call at a time for that reason).
 */
import { type Ledger, TransferFlags } from '../../../ledger/port';
import { Fixture, id, nth, transfer, transferStatusName } from './fixtures';
import type { LedgerHandle } from './suite';

/** Writes per round: amounts 2^0 .. 2^(n-1), so any subset of them has its own sum. */
const WRITES = 8;
const ROUNDS = 5;

/** One round: a read in flight first (so the client queues), then writes and reads interleaved. */
async function interleaved(ledger: Ledger, fx: Fixture): Promise<void> {
  const [a, b] = await fx.pair();
  const inFlight = ledger.lookupTransfers([id()]);
  const writes: Promise<unknown>[] = [];
  const reads: Promise<[bigint, bigint]>[] = [];
  for (let i = 0; i < WRITES; i++) {
    const t = transfer({
      debit_account_id: a.id,
      credit_account_id: b.id,
      amount: 1n << BigInt(i),
    });
    writes.push(
      ledger.createTransfers([t]).then((results) => {
        expect(results.map((r) => transferStatusName(r.status))).toEqual(['created']);
      }),
    );
    reads.push(
      ledger.lookupAccounts([a.id, b.id]).then((found) => {
        return [nth(found, 0).debits_posted, nth(found, 1).credits_posted];
      }),
    );
  }
  await inFlight;
  await Promise.all(writes);
  const all = (1n << BigInt(WRITES)) - 1n;
  for (const [debited, credited] of await Promise.all(reads)) {
    // One state, whole: the same transfers on both sides, and only transfers that were sent.
    expect(debited).toBe(credited);
    expect(debited & ~all).toBe(0n);
  }
  // Everything resolved: a call made now sees all of it.
  expect((await fx.balances(a.id)).debits_posted).toBe(all);
}

export function describeOrdering(h: LedgerHandle): void {
  describe('call order: each answer is consistent; no order between calls in flight', () => {
    it('reads in flight with writes each see one whole state', async () => {
      const fx = new Fixture(h.ledger);
      for (let round = 0; round < ROUNDS; round++) await interleaved(h.ledger, fx);
    });

    it('a call made after another resolved sees its effects', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      for (let i = 1n; i <= BigInt(WRITES); i++) {
        const p = transfer({
          debit_account_id: a.id,
          credit_account_id: b.id,
          amount: 1n,
          flags: TransferFlags.pending,
        });
        await fx.created([p]);
        expect(await fx.balances(b.id)).toEqual({
          debits_pending: 0n,
          debits_posted: 0n,
          credits_pending: i,
          credits_posted: 0n,
        });
        expect((await h.ledger.lookupTransfers([p.id])).map((t) => t.id)).toEqual([p.id]);
      }
    });
  });
}
