/**
 * journal_transfer rows of the journal projection (./projection.ts): every transfer TigerBeetle
 * accepted for a successful outcome event, one multi-row statement per call (unnest of parallel
 * arrays).
 *
 * A creation's transfer names its journal lines; the lines' bridge account ids come from the
 * event's own journal (the rows ./projection.ts inserted into journal_line from the same events),
 * so no lookup. A hold's post or void carries no lines: it takes its lines and bridge account ids
 * from the held transfer it names (`pending_id`), which an earlier statement (or batch) inserted.
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { JournalOutcomeEventV1, TransferEventV1 } from '../../../events/schema';
import { stepOfFlags } from '../../../events/schema';

type Cell = string | number | null;

/** Column name (as in the statement), its array type, and its value for one transfer. */
const COLUMNS: readonly [string, string, (t: TransferEventV1, at: Context) => Cell][] = [
  ['id', 'numeric', (t) => t.id],
  ['journal', 'text', (_, at) => at.event.journalId],
  ['step', 'text', (t) => stepOfFlags(t.flags)],
  ['idx', 'int', (_, at) => at.index],
  ['dline', 'int', (t) => t.debitLine],
  ['cline', 'int', (t) => t.creditLine],
  ['daccount', 'text', (t, at) => at.accountOf(t.debitLine)],
  ['caccount', 'text', (t, at) => at.accountOf(t.creditLine)],
  ['dledger', 'numeric', (t) => t.debitAccountId],
  ['cledger', 'numeric', (t) => t.creditAccountId],
  ['amount', 'numeric', (t) => t.amount],
  ['pending', 'numeric', (t) => t.pendingId],
  ['ledger', 'bigint', (t) => t.ledger],
  ['code', 'int', (t) => t.code],
  ['flags', 'int', (t) => t.flags],
  ['timeout', 'bigint', (t) => t.timeout],
  ['ud128', 'numeric', (t) => t.userData128],
  ['ud64', 'numeric', (t) => t.userData64],
  ['ud32', 'bigint', (t) => t.userData32],
  ['at', 'numeric', (t) => t.timestamp],
  ['status', 'text', (t) => t.status],
  ['event', 'text', (_, at) => at.event.eventId],
];

interface Context {
  event: JournalOutcomeEventV1;
  index: number;
  /** The bridge account id of one of the event's journal lines (null: none, or no journal). */
  accountOf(line: number | null): string | null;
}

function contextOf(event: JournalOutcomeEventV1): Context {
  const lines = event.journal?.lines ?? [];
  const accountOf = (n: number | null): string | null => {
    // The last line so numbered (a journal has a handful; the schema makes numbers unique).
    for (let i = lines.length - 1; i >= 0; i--)
      if (lines[i]!.lineNumber === n) return lines[i]!.accountId;
    return null;
  };
  return { event, index: 0, accountOf };
}

const UNNEST = COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
const ALIASES = COLUMNS.map(([name]) => name).join(', ');

/** The accepted transfers of successful events (creations, or posts and voids). */
export async function insertTransfers(
  tx: Queryable,
  events: readonly JournalOutcomeEventV1[],
): Promise<void> {
  const columns: Cell[][] = COLUMNS.map(() => []);
  for (const event of events) {
    const at = contextOf(event);
    for (const transfer of event.transfers) {
      for (let i = 0; i < COLUMNS.length; i++) columns[i]!.push(COLUMNS[i]![2](transfer, at));
      at.index += 1;
    }
  }
  if (columns[0]!.length === 0) return;
  await tx.query(
    `INSERT INTO journal_transfer
       (transfer_id, journal_id, step, chain_index, debit_line, credit_line,
        debit_account_id, credit_account_id, debit_account_ledger_id, credit_account_ledger_id,
        amount, pending_id, ledger, code, flags, timeout, user_data_128, user_data_64,
        user_data_32, tb_timestamp, status, event_id)
     SELECT u.id, u.journal, u.step, u.idx,
            COALESCE(u.dline, p.debit_line), COALESCE(u.cline, p.credit_line),
            COALESCE(u.daccount, p.debit_account_id), COALESCE(u.caccount, p.credit_account_id),
            u.dledger, u.cledger, u.amount, u.pending, u.ledger, u.code, u.flags, u.timeout,
            u.ud128, u.ud64, u.ud32, u.at, u.status, u.event
       FROM unnest(${UNNEST}) AS u(${ALIASES})
       LEFT JOIN journal_transfer p ON u.pending <> 0 AND p.transfer_id = u.pending
     ON CONFLICT (transfer_id) DO NOTHING`,
    columns,
  );
}
