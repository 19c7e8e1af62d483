/**
 * Reading a journal from the journal projection (journal_entry, journal_line, journal_transfer;
 * migration 0002). One statement, so the entry, its lines and transfers come from one snapshot
 * even through PgBouncer. Every u128/u64 leaves PostgreSQL as text: never a JSON number.
 */
import type { Queryable } from '../../../core/postgres/pool';

export interface JournalLineView {
  lineNumber: number;
  accountId: string;
  lineType: 'DEBIT' | 'CREDIT';
  amount: string;
}

export interface JournalTransferView {
  transferId: string;
  step: 'create' | 'post' | 'void';
  chainIndex: number;
  debitLine: number | null;
  creditLine: number | null;
  debitAccountId: string | null;
  creditAccountId: string | null;
  debitAccountLedgerId: string;
  creditAccountLedgerId: string;
  amount: string;
  pendingId: string;
  ledger: number;
  code: number;
  flags: number;
  timeout: number;
  tbTimestamp: string;
  status: 'created' | 'exists';
}

export interface JournalView {
  journalId: string;
  /**
   * `expired`: a hold TigerBeetle released by timeout, as its change feed says (`ledger_change`);
   * the outcome events never say so, since no request of the bridge caused it.
   */
  status: 'posted' | 'held' | 'hold_posted' | 'hold_voided' | 'rejected' | 'expired';
  /** Null only for a journal whose creation event the projection never saw. */
  date: string | null;
  description: string | null;
  source: string | null;
  pending: { timeoutSeconds: number } | null;
  rejection: { step: 'create' | 'post' | 'void'; statuses: string[] } | null;
  /** TigerBeetle timestamps (u64 ns, decimal) of the creation and of the latest event. */
  tbTimestamp: string;
  updatedTbTimestamp: string;
  createdAt: string;
  updatedAt: string;
  firstEventId: string;
  lastEventId: string;
  lines: JournalLineView[];
  transfers: JournalTransferView[];
}

const SELECT_JOURNAL = `
  SELECT e.journal_id,
         CASE WHEN e.status = 'held' AND EXISTS (
                SELECT 1 FROM journal_transfer t
                  JOIN ledger_change c ON c.transfer_id = t.transfer_id
                 WHERE t.journal_id = e.journal_id AND c.type = 'two_phase_expired')
              THEN 'expired' ELSE e.status END AS status,
         e.date, e.description, e.source,
         e.pending_timeout_seconds::text AS pending_timeout_seconds,
         e.rejected_step, e.rejected_statuses,
         e.tb_timestamp::text AS tb_timestamp,
         e.updated_tb_timestamp::text AS updated_tb_timestamp,
         e.created_at, e.updated_at, e.first_event_id, e.last_event_id,
         COALESCE((SELECT json_agg(json_build_object(
                    'lineNumber', l.line_number, 'accountId', l.account_id,
                    'lineType', l.line_type, 'amount', l.amount::text)
                    ORDER BY l.line_number)
                     FROM journal_line l WHERE l.journal_id = e.journal_id), '[]') AS lines,
         COALESCE((SELECT json_agg(json_build_object(
                    'transferId', t.transfer_id::text, 'step', t.step,
                    'chainIndex', t.chain_index, 'debitLine', t.debit_line,
                    'creditLine', t.credit_line, 'debitAccountId', t.debit_account_id,
                    'creditAccountId', t.credit_account_id,
                    'debitAccountLedgerId', t.debit_account_ledger_id::text,
                    'creditAccountLedgerId', t.credit_account_ledger_id::text,
                    'amount', t.amount::text, 'pendingId', t.pending_id::text,
                    'ledger', t.ledger, 'code', t.code, 'flags', t.flags, 'timeout', t.timeout,
                    'tbTimestamp', t.tb_timestamp::text, 'status', t.status)
                    ORDER BY t.tb_timestamp, t.chain_index, t.transfer_id)
                     FROM journal_transfer t WHERE t.journal_id = e.journal_id), '[]')
           AS transfers
    FROM journal_entry e
   WHERE e.journal_id = $1`;

interface JournalRow {
  journal_id: string;
  status: JournalView['status'];
  date: string | null;
  description: string | null;
  source: string | null;
  pending_timeout_seconds: string | null;
  rejected_step: 'create' | 'post' | 'void' | null;
  rejected_statuses: string[] | null;
  tb_timestamp: string;
  updated_tb_timestamp: string;
  created_at: Date;
  updated_at: Date;
  first_event_id: string;
  last_event_id: string;
  lines: JournalLineView[];
  transfers: JournalTransferView[];
}

/** The journal as the projection holds it, or null when it has no such journal (yet). */
export async function readJournal(db: Queryable, journalId: string): Promise<JournalView | null> {
  const { rows } = await db.query<JournalRow>(SELECT_JOURNAL, [journalId]);
  const row = rows[0];
  if (row === undefined) return null;
  return {
    journalId: row.journal_id,
    status: row.status,
    date: row.date,
    description: row.description,
    source: row.source,
    pending:
      row.pending_timeout_seconds === null
        ? null
        : { timeoutSeconds: Number(row.pending_timeout_seconds) },
    rejection:
      row.rejected_step === null
        ? null
        : { step: row.rejected_step, statuses: row.rejected_statuses ?? [] },
    tbTimestamp: row.tb_timestamp,
    updatedTbTimestamp: row.updated_tb_timestamp,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    firstEventId: row.first_event_id,
    lastEventId: row.last_event_id,
    lines: row.lines,
    transfers: row.transfers,
  };
}
