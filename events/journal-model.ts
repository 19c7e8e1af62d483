/**
 * The journal in the ledger's own words, after validation: what the HTTP layer hands the journal
 * service, and what the service reports once TigerBeetle has answered.
 */
import type { CreateTransferStatus, Transfer } from '../ledger/port';

export type LineType = 'DEBIT' | 'CREDIT';

export interface JournalLine {
  lineNumber: number;
  accountId: string;
  lineType: LineType;
  /** Minor units of the account's asset (u128). */
  amount: bigint;
}

export interface Journal {
  journalId: string;
  /** The business date the client gave (ISO 8601 date or date-time), kept as sent. */
  date: string;
  description: string;
  source: string;
  lines: JournalLine[];
  /** A hold: the transfers are created pending and expire after `timeoutSeconds` unless posted. */
  pending: { timeoutSeconds: number } | null;
}

/**
 * What happened to a journal (or to a hold's post/void) in the ledger.
 * - `posted`: every transfer created (or already existed with the same content: a retry);
 * - `held`: pending transfers created (a two-phase journal's first step);
 * - `hold_posted` / `hold_voided`: the second step of a two-phase journal;
 * - `rejected`: the ledger refused the chain; `transfers[i].status` says why, per transfer.
 */
export type OutcomeKind = 'posted' | 'held' | 'hold_posted' | 'hold_voided' | 'rejected';

export interface TransferOutcome {
  transfer: Transfer;
  /**
   * The journal lines this transfer carries (a transfer pairs a debit line with a credit line);
   * null for a hold's post/void, whose lines are those of the held transfer (`pending_id`).
   */
  debitLine: number | null;
  creditLine: number | null;
  status: CreateTransferStatus;
  /** TigerBeetle's timestamp for the event (ns since epoch). */
  timestamp: bigint;
}

export interface JournalOutcome {
  kind: OutcomeKind;
  journalId: string;
  /**
   * The journal as posted. Null for a hold's post/void: the bridge does not keep journals on the
   * write path, and the journal's metadata travelled with its `held` outcome, on the same
   * partition (same key) before it.
   */
  journal: Journal | null;
  transfers: TransferOutcome[];
}
