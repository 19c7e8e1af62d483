/**
 * The expiry half of TigerBeetle's pulse (`execute_expire_pending_transfers`): which pending
 * transfers a pulse releases, and the release of one, with its `two_phase_expired` change event.
 * Called by the state machine's `pulse` (./state-machine.ts), which owns the commit timestamp.
 */
import { AccountFlags, BATCH_EVENTS_MAX, TransferFlags } from '../port';
import { CHANGE_EXPIRED, recordChange } from './changes';
import { CHUNK_MASK, type LedgerState, NS_PER_S, PENDING_EXPIRED } from './state';
import type { UndoLog } from './undo';

/**
 * Pops the pending transfers a pulse at `timestamp` expires, in expiry order (deadline, then
 * creation): those due by `timestamp`, at most one batch and at most as many as there are unused
 * timestamps since `last`. Expiry k of n gets timestamp − n + k + 1, and TigerBeetle asserts that
 * none precedes its deadline, which only a pulse within n ns of its deadlines could break. The
 * engine's pulses leave a batch's worth of room, so this never trims in practice; where it would,
 * the later expiries wait for the next pulse instead of failing the engine. The expiries that fit
 * form a prefix: fewer expiries start later.
 */
export function takeExpired(state: LedgerState, last: bigint, timestamp: bigint): number[] {
  const { expiries, transfers } = state;
  const unused = timestamp - last;
  const limit = unused < BigInt(BATCH_EVENTS_MAX) ? Number(unused) : BATCH_EVENTS_MAX;
  const rows: number[] = [];
  const deadlines: bigint[] = [];
  while (rows.length < limit) {
    const row = expiries.peekValid(transfers);
    if (row < 0 || expiries.topDeadline() > timestamp) break;
    rows.push(row);
    deadlines.push(expiries.topDeadline());
    expiries.pop();
  }
  // n fit when every deadline_k − k ≤ timestamp + 1 − n.
  let fit = 0;
  let lateMost = -1n;
  for (let k = 0; k < rows.length; k++) {
    const late = deadlines[k]! - BigInt(k);
    if (late > lateMost) lateMost = late;
    if (BigInt(k + 1) > timestamp + 1n - lateMost) break;
    fit = k + 1;
  }
  for (let k = fit; k < rows.length; k++) {
    expiries.push(deadlines[k]!, transfers.timestamp(rows[k]!), rows[k]!);
  }
  rows.length = fit;
  return rows;
}

/** Releases the pending transfer at `row` at `eventTimestamp`, its expiry's own timestamp. */
export function expire(
  state: LedgerState,
  undo: UndoLog,
  row: number,
  eventTimestamp: bigint,
  last: bigint,
): void {
  const transfers = state.transfers;
  const c = transfers.chunk(row);
  const o = row & CHUNK_MASK;
  const deadline = c.timestamp[o]! + BigInt(c.timeout[o]!) * NS_PER_S;
  if (c.timeout[o] === 0 || deadline > eventTimestamp || eventTimestamp <= last) {
    throw new Error(`pulse: expiry of row ${row} at ${eventTimestamp}, deadline ${deadline}`);
  }
  const amount = transfers.amount(row);
  const dr = state.accounts[c.debit[o]!]!;
  const cr = state.accounts[c.credit[o]!]!;
  if (dr.debits_pending < amount || cr.credits_pending < amount) {
    throw new Error(`pulse: pending transfer at row ${row} exceeds its accounts' pending`);
  }
  dr.debits_pending -= amount;
  cr.credits_pending -= amount;
  // An expired closing transfer reopens the account, like a void.
  if ((c.flags[o]! & TransferFlags.closing_debit) !== 0) dr.flags &= ~AccountFlags.closed;
  if ((c.flags[o]! & TransferFlags.closing_credit) !== 0) cr.flags &= ~AccountFlags.closed;
  c.pendingStatus[o] = PENDING_EXPIRED;
  recordChange(state, undo, eventTimestamp, CHANGE_EXPIRED, row);
}
