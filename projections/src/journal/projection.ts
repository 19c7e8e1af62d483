/**
 * The journal projection: journal_entry, journal_line and journal_transfer from the outcome events
 * (schema in core/postgres/migrations/0002_projection_journals.up.sql).
 *
 * - `posted` / `held` create the entry with its lines and transfers;
 * - `hold_posted` / `hold_voided` (their event may carry no journal) move a held entry to that
 *   status and add their transfers, whose lines and bridge account ids are copied from the held
 *   transfer each names (`pending_id`);
 * - `rejected` creates a `rejected` entry at the creation step, and records the rejection on the
 *   entry at any step; it never undoes a success, and adds no transfer (TigerBeetle has none).
 *
 * Idempotent by event id: `journal_event` has one row per distinct event, first one wins, and
 * only the events it newly accepted are applied. Deterministic: every column comes from the
 * events (TigerBeetle timestamps, never now()), so a rebuild gives the same rows.
 *
 * Throughput: a batch is a handful of statements whatever its size (unnest of parallel arrays:
 * one bind parameter per column, so the 65,535-parameter limit never applies). Within a batch,
 * one journal's events are folded in order in memory first, so no statement touches a row twice.
 */
import { InvariantError } from '../../../core/assert';
import type { Queryable } from '../../../core/postgres/pool';
import type { JournalOutcomeEventV1 } from '../../../events/schema';
import { stepOfFlags, type OutcomeStep } from '../../../events/schema';
import type { ProjectedEvent, Projection } from '../projection';
import { insertTransfers } from './transfers';

export const JOURNAL_PROJECTION_NAME = 'journal';

type Status = JournalOutcomeEventV1['kind'];

/** The entry row a batch inserts for a journal created (or first rejected) in it. */
interface EntryRow {
  journalId: string;
  status: Status;
  date: string | null;
  description: string | null;
  source: string | null;
  pendingTimeoutSeconds: number | null;
  firstEventId: string;
  tbTimestamp: string;
}

/** What one batch does to one journal, folded from its new events in offset order. */
interface JournalFold {
  entry: EntryRow | null;
  /** A hold's second step that succeeded: the status it moves a held entry to. */
  settled: { status: 'hold_posted' | 'hold_voided'; eventId: string; at: string } | null;
  rejection: { step: OutcomeStep; statuses: string[] } | null;
  lastEventId: string;
  lastAt: string;
}

/** Statuses as one text for `string_to_array(…, ',')`: names are identifiers, never commas. */
export function joinStatuses(statuses: readonly string[]): string {
  for (const status of statuses) {
    if (!/^[a-z0-9_]+$/.test(status)) throw new InvariantError(`transfer status '${status}'`);
  }
  return statuses.join(',');
}

/** Keeps the first occurrence of every event id, in order. */
export function firstOccurrences(events: readonly ProjectedEvent[]): ProjectedEvent[] {
  const seen = new Set<string>();
  return events.filter(({ event }) => {
    if (seen.has(event.eventId)) return false;
    seen.add(event.eventId);
    return true;
  });
}

/** Inserts one journal_event row per event; returns the ids not seen before (first one wins). */
async function claim(tx: Queryable, events: readonly ProjectedEvent[]): Promise<Set<string>> {
  const cols = {
    id: [] as string[],
    journal: [] as string[],
    kind: [] as string[],
    step: [] as string[],
    at: [] as string[],
    statuses: [] as string[],
    topic: [] as string[],
    partition: [] as number[],
    offset: [] as string[],
  };
  for (const { event, topic, partition, offset } of events) {
    cols.id.push(event.eventId);
    cols.journal.push(event.journalId);
    cols.kind.push(event.kind);
    cols.step.push(stepOfFlags(event.transfers[0]!.flags));
    cols.at.push(event.occurredAt);
    // text[][] must be rectangular: each event's statuses travel as one comma-joined text
    // instead (status names are identifiers: no commas), split by string_to_array.
    cols.statuses.push(joinStatuses(event.transfers.map((t) => t.status)));
    cols.topic.push(topic);
    cols.partition.push(partition);
    cols.offset.push(offset);
  }
  const { rows } = await tx.query<{ event_id: string }>(
    `INSERT INTO journal_event
       (event_id, journal_id, kind, step, occurred_at, statuses, topic, partition, kafka_offset)
     SELECT u.id, u.journal, u.kind, u.step, u.at,
            string_to_array(u.statuses, ','), u.topic, u.part, u.off
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[],
                   $7::text[], $8::int[], $9::bigint[])
            AS u(id, journal, kind, step, at, statuses, topic, part, off)
     ON CONFLICT (event_id) DO NOTHING
     RETURNING event_id`,
    [
      cols.id,
      cols.journal,
      cols.kind,
      cols.step,
      cols.at,
      cols.statuses,
      cols.topic,
      cols.partition,
      cols.offset,
    ],
  );
  return new Set(rows.map((row) => row.event_id));
}

function entryOf(event: JournalOutcomeEventV1): EntryRow {
  const journal = event.journal;
  return {
    journalId: event.journalId,
    status: event.kind,
    date: journal?.date ?? null,
    description: journal?.description ?? null,
    source: journal?.source ?? null,
    pendingTimeoutSeconds: journal?.pending?.timeoutSeconds ?? null,
    firstEventId: event.eventId,
    tbTimestamp: event.occurredAt,
  };
}

/** Folds one journal's new events of this batch, in offset order. */
function fold(folds: Map<string, JournalFold>, event: JournalOutcomeEventV1): void {
  let state = folds.get(event.journalId);
  if (state === undefined) {
    state = { entry: null, settled: null, rejection: null, lastEventId: '', lastAt: '0' };
    folds.set(event.journalId, state);
  }
  state.lastEventId = event.eventId;
  state.lastAt = event.occurredAt;
  const step = stepOfFlags(event.transfers[0]!.flags);
  if (event.kind === 'rejected') {
    state.rejection = { step, statuses: event.transfers.map((t) => t.status) };
    if (step === 'create' && state.entry === null) state.entry = entryOf(event);
    return;
  }
  if (step === 'create') {
    // A success replaces an earlier rejection of the same journal; never the other way round.
    if (state.entry === null || state.entry.status === 'rejected') state.entry = entryOf(event);
    return;
  }
  if (state.settled === null) {
    const status = event.kind as 'hold_posted' | 'hold_voided';
    state.settled = { status, eventId: event.eventId, at: event.occurredAt };
  }
}

const TB_TIME = (column: string) => `to_timestamp((${column}) / 1000000000.0)`;

/**
 * New entries: inserted, or replacing a `rejected` entry when the batch brings a success.
 * An existing success is never touched here.
 */
async function upsertEntries(tx: Queryable, entries: EntryRow[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const { rows } = await tx.query<{ journal_id: string; inserted: boolean }>(
    `INSERT INTO journal_entry
       (journal_id, status, date, description, source, pending_timeout_seconds,
        first_event_id, last_event_id, tb_timestamp, updated_tb_timestamp, created_at, updated_at)
     SELECT u.id, u.status, u.date, u.description, u.source, u.timeout, u.first, u.first,
            u.at, u.at, ${TB_TIME('u.at')}, ${TB_TIME('u.at')}
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                   $7::text[], $8::numeric[])
            AS u(id, status, date, description, source, timeout, first, at)
     ON CONFLICT (journal_id) DO UPDATE SET
       status = EXCLUDED.status, date = EXCLUDED.date, description = EXCLUDED.description,
       source = EXCLUDED.source, pending_timeout_seconds = EXCLUDED.pending_timeout_seconds,
       first_event_id = EXCLUDED.first_event_id, tb_timestamp = EXCLUDED.tb_timestamp,
       created_at = EXCLUDED.created_at
     WHERE journal_entry.status = 'rejected' AND EXCLUDED.status <> 'rejected'
     RETURNING journal_id, (xmax = 0) AS inserted`,
    [
      entries.map((e) => e.journalId),
      entries.map((e) => e.status),
      entries.map((e) => e.date),
      entries.map((e) => e.description),
      entries.map((e) => e.source),
      entries.map((e) => e.pendingTimeoutSeconds),
      entries.map((e) => e.firstEventId),
      entries.map((e) => e.tbTimestamp),
    ],
  );
  // Inserted now (xmax = 0), not a rejected entry replaced: its row is the entry as created.
  return new Set(rows.filter((row) => row.inserted).map((row) => row.journal_id));
}

async function insertLines(tx: Queryable, events: JournalOutcomeEventV1[]): Promise<void> {
  const journal: string[] = [];
  const number: number[] = [];
  const account: string[] = [];
  const type: string[] = [];
  const amount: string[] = [];
  for (const event of events) {
    for (const line of event.journal?.lines ?? []) {
      journal.push(event.journalId);
      number.push(line.lineNumber);
      account.push(line.accountId);
      type.push(line.lineType);
      amount.push(line.amount);
    }
  }
  if (journal.length === 0) return;
  await tx.query(
    `INSERT INTO journal_line (journal_id, line_number, account_id, line_type, amount)
     SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::numeric[])
     ON CONFLICT (journal_id, line_number) DO NOTHING`,
    [journal, number, account, type, amount],
  );
}

/**
 * A hold's post or void: a `held` entry moves to its final status. With no entry at all (its
 * `held` event never reached this store) a stub without metadata is created, so the transfers
 * still have their journal and the gap is visible.
 */
async function settleHolds(tx: Queryable, folds: Map<string, JournalFold>): Promise<void> {
  const settled = [...folds.entries()].filter(([, fold]) => fold.settled !== null);
  if (settled.length === 0) return;
  await tx.query(
    `INSERT INTO journal_entry
       (journal_id, status, first_event_id, last_event_id, tb_timestamp, updated_tb_timestamp,
        created_at, updated_at)
     SELECT u.id, u.status, u.event, u.event, u.at, u.at, ${TB_TIME('u.at')}, ${TB_TIME('u.at')}
       FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[]) AS u(id, status, event, at)
     ON CONFLICT (journal_id) DO UPDATE SET status = EXCLUDED.status
     WHERE journal_entry.status = 'held'`,
    [
      settled.map(([id]) => id),
      settled.map(([, fold]) => fold.settled!.status),
      settled.map(([, fold]) => fold.settled!.eventId),
      settled.map(([, fold]) => fold.settled!.at),
    ],
  );
}

/**
 * Whether the entry row this batch inserted for the journal already says what `touchEntries`
 * would write: its one event of the batch created it, with no rejection. Then the second write
 * of the row (a new tuple version and its WAL) is skipped.
 */
function createdAsIs(fold: JournalFold, inserted: ReadonlySet<string>, id: string): boolean {
  return (
    inserted.has(id) &&
    fold.entry !== null &&
    fold.rejection === null &&
    fold.settled === null &&
    fold.lastEventId === fold.entry.firstEventId
  );
}

/** The latest event and rejection of every journal the batch touched (not created as is). */
async function touchEntries(
  tx: Queryable,
  folds: Map<string, JournalFold>,
  inserted: ReadonlySet<string>,
): Promise<void> {
  const all = [...folds.entries()].filter(([id, fold]) => !createdAsIs(fold, inserted, id));
  if (all.length === 0) return;
  await tx.query(
    `UPDATE journal_entry e SET
       last_event_id = u.event,
       updated_tb_timestamp = GREATEST(e.updated_tb_timestamp, u.at),
       updated_at = ${TB_TIME('GREATEST(e.updated_tb_timestamp, u.at)')},
       rejected_step = COALESCE(u.rstep, e.rejected_step),
       rejected_statuses = CASE WHEN u.rstep IS NULL THEN e.rejected_statuses
                                ELSE string_to_array(u.rstatuses, ',')
                           END
     FROM unnest($1::text[], $2::text[], $3::numeric[], $4::text[], $5::text[])
          AS u(id, event, at, rstep, rstatuses)
     WHERE e.journal_id = u.id`,
    [
      all.map(([id]) => id),
      all.map(([, fold]) => fold.lastEventId),
      all.map(([, fold]) => fold.lastAt),
      all.map(([, fold]) => fold.rejection?.step ?? null),
      all.map(([, fold]) =>
        fold.rejection === null ? null : joinStatuses(fold.rejection.statuses),
      ),
    ],
  );
}

export class JournalStoreProjection implements Projection {
  readonly name = JOURNAL_PROJECTION_NAME;
  readonly tables = ['journal_transfer', 'journal_line', 'journal_entry', 'journal_event'] as const;

  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    const distinct = firstOccurrences(events);
    if (distinct.length === 0) return;
    const fresh = await claim(tx, distinct);
    const accepted = distinct.map((p) => p.event).filter((e) => fresh.has(e.eventId));
    if (accepted.length === 0) return;
    const folds = new Map<string, JournalFold>();
    for (const event of accepted) fold(folds, event);
    const entries = [...folds.values()].flatMap((f) => (f.entry === null ? [] : [f.entry]));
    const inserted = await upsertEntries(tx, entries);
    const creations = accepted.filter(
      (e) => e.journal !== null && stepOfFlags(e.transfers[0]!.flags) === 'create',
    );
    await insertLines(tx, creations);
    const successes = accepted.filter((e) => e.kind !== 'rejected');
    await insertTransfers(
      tx,
      successes.filter((e) => stepOfFlags(e.transfers[0]!.flags) === 'create'),
    );
    await settleHolds(tx, folds);
    await insertTransfers(
      tx,
      successes.filter((e) => stepOfFlags(e.transfers[0]!.flags) !== 'create'),
    );
    await touchEntries(tx, folds, inserted);
  }
}
