/**
 * For the engine's change-event tests: a seeded workload of every kind of transfer, and a check
 * that the events describe the state. Walking the events in timestamp order from zero balances,
 * each event's effect (by its type and amount) must lead exactly to the balances and flags it
 * carries for both accounts, every transfer must have its one event, and the walk must end at the
 * accounts as they are.
 */
import {
  type Account,
  AccountFlags as AF,
  BATCH_EVENTS_MAX,
  QueryFilterFlags,
  type Transfer,
  TransferFlags as F,
  U128_MAX,
} from '../../../ledger/port';
import { newAccount, newTransfer } from '../../../ledger/records';
import { CHANGE_EVENTS_MAX, type LedgerChange } from '../../../ledger/engine/changes';
import type { StateMachine } from '../../../ledger/engine/state-machine';

const WALL_START_NS = 1_700_000_000_000_000_000n;
const ACCOUNTS = 12;

/** Drives `machine` through a seeded mix: chains, two-phase, balancing, closing, timeouts. */
export function seededWorkload(seed: number, machine: StateMachine, batches = 150): void {
  let state = seed >>> 0 || 1;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  let wallNs = WALL_START_NS;
  const flagsOf = [
    0,
    0,
    AF.history,
    AF.debits_must_not_exceed_credits,
    AF.credits_must_not_exceed_debits,
  ];
  const accounts: Account[] = Array.from({ length: ACCOUNTS }, (_, i) =>
    newAccount({ id: BigInt(i + 1), ledger: 1, code: 1, flags: flagsOf[random(flagsOf.length)]! }),
  );
  machine.createAccounts(accounts, machine.prepareTimestamp(accounts.length, wallNs));
  let id = 1000n;
  for (let b = 0; b < batches; b++) {
    wallNs += BigInt(100 + random(900)) * 1_000_000n;
    if (random(6) === 0) {
      machine.pulse(machine.prepareTimestamp(BATCH_EVENTS_MAX, wallNs));
      continue;
    }
    const batch: Transfer[] = [];
    for (let i = 0; i < 1 + random(30); i++) batch.push(randomTransfer(id++, random));
    machine.createTransfers(batch, machine.prepareTimestamp(batch.length, wallNs));
  }
  // Let every timeout run out.
  machine.pulse(machine.prepareTimestamp(BATCH_EVENTS_MAX, wallNs + 10_000_000_000n));
}

function randomTransfer(id: bigint, random: (n: number) => number): Transfer {
  const linked = random(4) === 0 ? F.linked : 0;
  const kind = random(8);
  if (kind === 3 || kind === 4) {
    const post = kind === 3;
    return newTransfer({
      id,
      debit_account_id: 0n,
      credit_account_id: 0n,
      ledger: 0,
      code: 0,
      pending_id: id - 1n - BigInt(random(20)),
      amount: post ? [U128_MAX, BigInt(random(50))][random(2)]! : 0n,
      flags: linked | (post ? F.post_pending_transfer : F.void_pending_transfer),
    });
  }
  const flags = [0, 0, F.pending, 0, 0, F.balancing_debit, F.balancing_credit, F.pending][kind]!;
  const closing =
    kind === 7 && random(3) === 0 ? [F.closing_debit, F.closing_credit][random(2)]! : 0;
  return newTransfer({
    id,
    debit_account_id: BigInt(1 + random(ACCOUNTS)),
    credit_account_id: BigInt(1 + random(ACCOUNTS)),
    amount: BigInt(random(100)),
    timeout: (flags & F.pending) !== 0 ? random(3) : 0,
    ledger: 1,
    code: 1,
    flags: linked | flags | closing,
  });
}

/** Every change event, by pages of one reply. */
export function allChanges(machine: StateMachine): LedgerChange[] {
  const out: LedgerChange[] = [];
  let min = 0n;
  for (;;) {
    const page = machine.changes(min, CHANGE_EVENTS_MAX);
    out.push(...page);
    if (page.length < CHANGE_EVENTS_MAX) return out;
    min = page[page.length - 1]!.timestamp + 1n;
  }
}

function allTransfers(machine: StateMachine): Transfer[] {
  const out: Transfer[] = [];
  let min = 0n;
  for (;;) {
    const page = machine.queryTransfers({
      user_data_128: 0n,
      user_data_64: 0n,
      user_data_32: 0,
      ledger: 0,
      code: 0,
      timestamp_min: min,
      timestamp_max: 0n,
      limit: BATCH_EVENTS_MAX,
      flags: QueryFilterFlags.none,
    });
    out.push(...page);
    if (page.length < BATCH_EVENTS_MAX) return out;
    min = page[page.length - 1]!.timestamp + 1n;
  }
}

interface Model {
  balances: bigint[]; // debits_pending, debits_posted, credits_pending, credits_posted
  flags: number;
}

/** Throws (through expect) where an event does not follow from the ones before it. */
export function checkChangesMatchState(machine: StateMachine): void {
  const events = allChanges(machine);
  const transfers = new Map(allTransfers(machine).map((t) => [t.id, t]));
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => BigInt(i + 1));
  const models = new Map<bigint, Model>(
    machine
      .lookupAccounts(ids)
      .map((a) => [a.id, { balances: [0n, 0n, 0n, 0n], flags: a.flags & ~AF.closed }]),
  );
  const seen = new Set<bigint>();
  let previous = 0n;
  for (const e of events) {
    expect(e.timestamp).toBeGreaterThan(previous);
    previous = e.timestamp;
    if (e.type !== 'two_phase_expired') {
      expect(seen.has(e.transfer.id)).toBe(false);
      seen.add(e.transfer.id);
      const t = transfers.get(e.transfer.id)!;
      expect(e.timestamp).toBe(t.timestamp);
      expect([e.transfer.amount, e.transfer.pendingId, e.transfer.flags, e.ledger]).toEqual([
        t.amount,
        t.pending_id,
        t.flags,
        t.ledger,
      ]);
      expect([e.debitAccount.id, e.creditAccount.id]).toEqual([
        t.debit_account_id,
        t.credit_account_id,
      ]);
    } else {
      expect(e.transfer.flags & F.pending).toBe(F.pending);
      expect(e.transfer.timeout).toBeGreaterThan(0);
      expect(e.timestamp).toBeGreaterThanOrEqual(
        e.transfer.timestamp + BigInt(e.transfer.timeout) * 1_000_000_000n,
      );
    }
    apply(e, models.get(e.debitAccount.id)!, models.get(e.creditAccount.id)!, transfers);
    for (const [side, model] of [
      [e.debitAccount, models.get(e.debitAccount.id)!],
      [e.creditAccount, models.get(e.creditAccount.id)!],
    ] as const) {
      const carried = [
        side.debitsPending,
        side.debitsPosted,
        side.creditsPending,
        side.creditsPosted,
      ];
      expect({ id: side.id, at: e.timestamp, balances: carried, flags: side.flags }).toEqual({
        id: side.id,
        at: e.timestamp,
        balances: model.balances,
        flags: model.flags,
      });
    }
  }
  expect([...seen].sort()).toEqual([...transfers.keys()].sort());
  for (const a of machine.lookupAccounts(ids)) {
    const model = models.get(a.id)!;
    const now = [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
    expect({ id: a.id, balances: now, flags: a.flags }).toEqual({ id: a.id, ...model });
  }
}

/** An event's effect on its two accounts, from its type alone. */
function apply(e: LedgerChange, dr: Model, cr: Model, transfers: Map<bigint, Transfer>): void {
  const amount = e.transfer.amount;
  const pending =
    e.type === 'two_phase_posted' || e.type === 'two_phase_voided'
      ? transfers.get(e.transfer.pendingId)!
      : null;
  switch (e.type) {
    case 'single_phase':
      dr.balances[1]! += amount;
      cr.balances[3]! += amount;
      break;
    case 'two_phase_pending':
      dr.balances[0]! += amount;
      cr.balances[2]! += amount;
      if ((e.transfer.flags & F.closing_debit) !== 0) dr.flags |= AF.closed;
      if ((e.transfer.flags & F.closing_credit) !== 0) cr.flags |= AF.closed;
      break;
    case 'two_phase_posted':
      dr.balances[0]! -= pending!.amount;
      cr.balances[2]! -= pending!.amount;
      dr.balances[1]! += amount;
      cr.balances[3]! += amount;
      break;
    case 'two_phase_voided':
    case 'two_phase_expired': {
      const released = pending ?? e.transfer;
      dr.balances[0]! -= released.amount;
      cr.balances[2]! -= released.amount;
      if ((released.flags & F.closing_debit) !== 0) dr.flags &= ~AF.closed;
      if ((released.flags & F.closing_credit) !== 0) cr.flags &= ~AF.closed;
      break;
    }
  }
}
