/**
 * What the read models share: the events of a batch, deduplicated by event id against a model's
 * own applied-events table, expanded into postings — one per account side of each transfer, with
 * the posted and pending amounts it moves.
 *
 * A hold's post or void carries no journal lines (the bridge does not have them then), so each
 * model that needs them keeps the holds it has seen in a table of its own and resolves the post or
 * void through `pendingId`. The hold precedes its resolution on the same partition (same key),
 * and a rebuild replays each partition in order, so the lookup gives the same answer every time.
 *
 * Everything here is a pure function of the events: amounts and TigerBeetle ids stay decimal
 * strings or bigints, timestamps are TigerBeetle's, and nothing reads a clock.
 */
import { assert, InvariantError } from '../../../core/assert';
import type { JournalOutcomeEventV1, TransferEventV1 } from '../../../events/schema';
import type { Queryable } from '../../../core/postgres/pool';
import type { ProjectedEvent } from '../projection';

export type Side = 'DEBIT' | 'CREDIT';
export type SuccessKind = 'posted' | 'held' | 'hold_posted' | 'hold_voided';

/** A held transfer, as a model remembers it until its post or void. */
export interface Hold {
  transferId: string;
  journalId: string;
  ledger: number;
  debitLedgerId: string;
  creditLedgerId: string;
  debitAccountId: string;
  creditAccountId: string;
  debitLine: number;
  creditLine: number;
  amount: bigint;
  description: string;
}

/** One account side of one transfer. */
export interface Posting {
  event: JournalOutcomeEventV1;
  kind: SuccessKind;
  /** The TigerBeetle account id (u128, decimal). */
  ledgerAccountId: string;
  /** The journal line's account id; null only when a resolved hold was never seen. */
  accountId: string | null;
  lineNumber: number | null;
  ledger: number;
  side: Side;
  /** Change of the posted total on this side (≥ 0: nothing un-posts in TigerBeetle). */
  posted: bigint;
  /** Change of the pending total on this side (negative when a hold is released). */
  pending: bigint;
  transferId: string;
  /** TigerBeetle's timestamp of this transfer (u64 ns, decimal). */
  tbTimestamp: string;
  description: string;
}

export interface PreparedBatch {
  /** Events applied for the first time, in batch order (duplicates and repeats dropped). */
  fresh: JournalOutcomeEventV1[];
  postings: Posting[];
}

/** Table names are constants of this folder, never input; checked anyway before interpolation. */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertTableName(table: string): string {
  assert(!!TABLE_NAME.test(table), `unsafe table name ${table}`);
  return table;
}

/**
 * Records the batch's event ids in `appliedTable` and returns the events seen for the first time,
 * first occurrence wins (the outcome events README: "deduplicate on eventId, first one wins").
 */
export async function claimFresh(
  tx: Queryable,
  appliedTable: string,
  events: readonly ProjectedEvent[],
): Promise<JournalOutcomeEventV1[]> {
  const firsts = new Map<string, JournalOutcomeEventV1>();
  for (const { event } of events) if (!firsts.has(event.eventId)) firsts.set(event.eventId, event);
  if (firsts.size === 0) return [];
  const { rows } = await tx.query<{ event_id: string }>(
    `INSERT INTO ${assertTableName(appliedTable)} (event_id)
     SELECT unnest($1::text[]) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [[...firsts.keys()]],
  );
  const claimed = new Set(rows.map((row) => row.event_id));
  return [...firsts.values()].filter((event) => claimed.has(event.eventId));
}

const HOLD_COLUMNS =
  'transfer_id, journal_id, ledger, debit_ledger_id, credit_ledger_id, debit_account_id, ' +
  'credit_account_id, debit_line, credit_line, amount, description';

interface HoldRow {
  transfer_id: string;
  journal_id: string;
  ledger: number;
  debit_ledger_id: string;
  credit_ledger_id: string;
  debit_account_id: string;
  credit_account_id: string;
  debit_line: number;
  credit_line: number;
  amount: string;
  description: string;
}

async function loadHolds(
  tx: Queryable,
  holdTable: string,
  transferIds: string[],
): Promise<Map<string, Hold>> {
  const holds = new Map<string, Hold>();
  if (transferIds.length === 0) return holds;
  const { rows } = await tx.query<HoldRow>(
    `SELECT ${HOLD_COLUMNS} FROM ${assertTableName(holdTable)}
     WHERE transfer_id = ANY($1::numeric[])`,
    [transferIds],
  );
  for (const row of rows) {
    holds.set(row.transfer_id, {
      transferId: row.transfer_id,
      journalId: row.journal_id,
      ledger: row.ledger,
      debitLedgerId: row.debit_ledger_id,
      creditLedgerId: row.credit_ledger_id,
      debitAccountId: row.debit_account_id,
      creditAccountId: row.credit_account_id,
      debitLine: row.debit_line,
      creditLine: row.credit_line,
      amount: BigInt(row.amount),
      description: row.description,
    });
  }
  return holds;
}

async function saveHolds(
  tx: Queryable,
  holdTable: string,
  created: Hold[],
  resolved: string[],
): Promise<void> {
  const table = assertTableName(holdTable);
  if (resolved.length > 0) {
    await tx.query(`DELETE FROM ${table} WHERE transfer_id = ANY($1::numeric[])`, [resolved]);
  }
  if (created.length === 0) return;
  const sorted = [...created].sort((a, b) => compareDecimal(a.transferId, b.transferId));
  const column = <K extends keyof Hold>(key: K) => sorted.map((hold) => String(hold[key]));
  await tx.query(
    `INSERT INTO ${table} (${HOLD_COLUMNS})
     SELECT * FROM unnest($1::numeric[], $2::text[], $3::int[], $4::numeric[], $5::numeric[],
       $6::text[], $7::text[], $8::int[], $9::int[], $10::numeric[], $11::text[])
     ON CONFLICT (transfer_id) DO NOTHING`,
    [
      column('transferId'),
      column('journalId'),
      column('ledger'),
      column('debitLedgerId'),
      column('creditLedgerId'),
      column('debitAccountId'),
      column('creditAccountId'),
      column('debitLine'),
      column('creditLine'),
      column('amount'),
      column('description'),
    ],
  );
}

/** Orders canonical decimal strings (no sign, no leading zeros) numerically. */
export function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * PostgreSQL text cannot hold U+0000, which JSON (and so a journal's description) can: it is
 * stored as U+FFFD, the same way on every replay, rather than failing the partition's batch.
 */
export function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

function holdOf(event: JournalOutcomeEventV1, transfer: TransferEventV1): Hold {
  const { journal } = event;
  const debit = journal?.lines.find((line) => line.lineNumber === transfer.debitLine);
  const credit = journal?.lines.find((line) => line.lineNumber === transfer.creditLine);
  if (journal === null || debit === undefined || credit === undefined) {
    // The schema guarantees a creation carries its journal and every line it names.
    throw new InvariantError(`held transfer ${transfer.id} of ${event.eventId} has no lines`);
  }
  return {
    transferId: transfer.id,
    journalId: event.journalId,
    ledger: transfer.ledger,
    debitLedgerId: transfer.debitAccountId,
    creditLedgerId: transfer.creditAccountId,
    debitAccountId: debit.accountId,
    creditAccountId: credit.accountId,
    debitLine: debit.lineNumber,
    creditLine: credit.lineNumber,
    amount: BigInt(transfer.amount),
    description: storableText(journal.description),
  };
}

/**
 * The journal line numbered `n` (the last one so numbered, as a Map of the lines would give), by a
 * scan: a journal has a handful of lines, and a Map per transfer was this model's top cost.
 */
function lineOf(event: JournalOutcomeEventV1, n: number | null) {
  if (n === null || event.journal === null) return undefined;
  const { lines } = event.journal;
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.lineNumber === n) return lines[i];
  return undefined;
}

function sides(
  event: JournalOutcomeEventV1,
  kind: SuccessKind,
  transfer: TransferEventV1,
  hold: Hold | undefined,
  amounts: { posted: bigint; pending: bigint },
): [Posting, Posting] {
  const debitLine = lineOf(event, transfer.debitLine);
  const creditLine = lineOf(event, transfer.creditLine);
  const common = {
    event,
    kind,
    ledger: transfer.ledger,
    transferId: transfer.id,
    tbTimestamp: transfer.timestamp,
    description: storableText(event.journal?.description ?? hold?.description ?? ''),
    ...amounts,
  };
  return [
    {
      ...common,
      side: 'DEBIT',
      ledgerAccountId: hold?.debitLedgerId ?? transfer.debitAccountId,
      accountId: debitLine?.accountId ?? hold?.debitAccountId ?? null,
      lineNumber: debitLine?.lineNumber ?? hold?.debitLine ?? null,
    },
    {
      ...common,
      side: 'CREDIT',
      ledgerAccountId: hold?.creditLedgerId ?? transfer.creditAccountId,
      accountId: creditLine?.accountId ?? hold?.creditAccountId ?? null,
      lineNumber: creditLine?.lineNumber ?? hold?.creditLine ?? null,
    },
  ];
}

/**
 * The postings of a batch's fresh events, reading and updating the model's hold table. A post or
 * void whose hold was never seen (events lost before this model existed) still posts its amount
 * on the transfer's own accounts; it cannot release a pending amount it does not know.
 */
export async function prepareBatch(
  tx: Queryable,
  tables: { applied: string; holds: string },
  events: readonly ProjectedEvent[],
): Promise<PreparedBatch> {
  const fresh = await claimFresh(tx, tables.applied, events);
  const heldHere = new Set<string>();
  const wanted: string[] = [];
  for (const event of fresh) {
    for (const transfer of event.transfers) {
      if (event.kind === 'held') heldHere.add(transfer.id);
      const resolves = event.kind === 'hold_posted' || event.kind === 'hold_voided';
      if (resolves && !heldHere.has(transfer.pendingId)) wanted.push(transfer.pendingId);
    }
  }
  const holds = await loadHolds(tx, tables.holds, wanted);
  const created = new Map<string, Hold>();
  const resolved: string[] = [];
  const postings: Posting[] = [];
  for (const event of fresh) {
    const { kind } = event;
    if (kind === 'rejected') continue;
    for (const transfer of event.transfers) {
      const amount = BigInt(transfer.amount);
      if (kind === 'posted') {
        postings.push(...sides(event, kind, transfer, undefined, { posted: amount, pending: 0n }));
      } else if (kind === 'held') {
        const hold = holdOf(event, transfer);
        holds.set(hold.transferId, hold);
        created.set(hold.transferId, hold);
        postings.push(...sides(event, kind, transfer, hold, { posted: 0n, pending: amount }));
      } else {
        const hold = holds.get(transfer.pendingId);
        holds.delete(transfer.pendingId);
        if (!created.delete(transfer.pendingId)) resolved.push(transfer.pendingId);
        const released = -(hold?.amount ?? 0n);
        const posted = kind === 'hold_posted' ? amount : 0n;
        postings.push(...sides(event, kind, transfer, hold, { posted, pending: released }));
      }
    }
  }
  await saveHolds(tx, tables.holds, [...created.values()], resolved);
  return { fresh, postings };
}

/** The larger of two canonical decimal strings. */
export function maxDecimal(a: string, b: string): string {
  return compareDecimal(a, b) >= 0 ? a : b;
}
