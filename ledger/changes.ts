/**
 * The ledger's change event, as TigerBeetle's change data capture has it (`get_change_events`,
 * `tigerbeetle amqp`): one per transfer created and one per pending transfer expired, with the
 * transfer and both accounts' balances and flags as of right after the event. Both ledgers speak
 * it: the cluster through its CDC job, the embedded engine through its own (ledger/engine/
 * changes.ts). Its wire format, TigerBeetle's JSON, is events/change.ts.
 */

/** Index = TigerBeetle's ChangeEventType. */
export const CHANGE_TYPES = [
  'single_phase',
  'two_phase_pending',
  'two_phase_posted',
  'two_phase_voided',
  'two_phase_expired',
] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** A TigerBeetle account as of one event (tigerbeetle-node's Account less `ledger`/`reserved`). */
export interface ChangeAccount {
  id: bigint;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  userData128: bigint;
  userData64: bigint;
  userData32: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

/** The transfer of an event (no account ids or ledger: see the event). */
export interface ChangeTransfer {
  id: bigint;
  amount: bigint;
  pendingId: bigint;
  userData128: bigint;
  userData64: bigint;
  userData32: number;
  timeout: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

export interface LedgerChange {
  /** The event's TigerBeetle timestamp (ns): unique per event, the feed's order. */
  timestamp: bigint;
  type: ChangeType;
  ledger: number;
  /** For `two_phase_expired`, the pending transfer that expired. */
  transfer: ChangeTransfer;
  debitAccount: ChangeAccount;
  creditAccount: ChangeAccount;
}
