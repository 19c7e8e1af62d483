/**
 * `replayDeadLetters`: applies the events the projection runners skipped, once their cause is
 * fixed (a projection that now accepts them, data repaired, a limit raised). It reads the rows of
 * `projection_dead_letter` not replayed yet, in (topic, partition, offset) order, a page at a
 * time; decodes each with its feed and applies it to that feed's projections in a transaction of
 * its own, which also sets `replayed_at` (fenced on it still being null, so two replays never
 * apply a row twice). A row that fails again stays pending, with the attempt and its error noted.
 *
 * Out of order on purpose: the partition has moved on, so a replayed event lands after later
 * ones. Projections are idempotent by event id and, where order matters, take a late event as
 * the worker would take a redelivered one (a hold's post that arrived first left a stub).
 *
 * `dryRun`: each row is applied in a transaction that is rolled back: the report says what would
 * replay and what would still fail, and nothing changes. A transient failure (the database gone)
 * stops the replay with that error rather than marking every row failed.
 */
import type pg from 'pg';
import type { Logger } from '../../../core/logger';
import { type Queryable, withTransaction } from '../../../core/postgres/pool';
import {
  type DeadLetterKey,
  markReplayed,
  noteReplayFailure,
  type PendingDeadLetter,
  pendingDeadLetters,
} from '../dead-letter-table';
import { classifyFailure } from '../failure';
import type { Feed } from '../feed';
import type { Located, Projection } from '../projection';
import { describeFailure } from '../screen';

/** Rows read per page: bounds memory (a value may be megabytes). */
export const REPLAY_PAGE_ROWS = 100;

/** What a (consumer group, topic) pair's dead letters are replayed through. */
export interface ReplayTarget {
  group: string;
  topic: string;
  /** Decodes the row's record and applies it to the feed's projections, inside `tx`. */
  apply(tx: Queryable, row: PendingDeadLetter): Promise<void>;
}

/** The target of one runner: its group, topic, feed and projections, as the worker runs them. */
export function feedTarget<E extends Located>(
  group: string,
  topic: string,
  feed: Feed<E>,
  projections: readonly Projection<E>[],
): ReplayTarget {
  return {
    group,
    topic,
    async apply(tx, row) {
      const events = feed.decode(row, row.topic, row.partition);
      for (const projection of projections) await projection.apply(tx, events);
    },
  };
}

export interface ReplayOptions {
  /** The primary, directly or through PgBouncer: one short transaction per row. */
  db: pg.Pool;
  targets: readonly ReplayTarget[];
  dryRun?: boolean;
  logger?: Logger;
}

export interface ReplayFailure extends DeadLetterKey {
  /** Why it was dead-lettered. */
  reason: string;
  /** Why it still fails. */
  error: string;
}

export interface ReplayReport {
  dryRun: boolean;
  /** Rows of the targets that were pending when read. */
  pending: number;
  /** Applied and marked (dry run: would be). */
  replayed: number;
  /** Still failing, in order. */
  failed: ReplayFailure[];
}

/** Rolls a dry run's transaction back after the row applied. */
class DryRunRollback extends Error {}

/** The row was replayed by someone else meanwhile: this transaction rolls back. */
class AlreadyReplayed extends Error {}

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayReport> {
  const dryRun = options.dryRun ?? false;
  const report: ReplayReport = { dryRun, pending: 0, replayed: 0, failed: [] };
  const targets = new Map(options.targets.map((t) => [`${t.group}\u0000${t.topic}`, t]));
  const feeds = options.targets.map(({ group, topic }) => ({ group, topic }));
  let after: DeadLetterKey | undefined;
  for (;;) {
    const page = await pendingDeadLetters(options.db, { feeds, after, limit: REPLAY_PAGE_ROWS });
    for (const row of page) {
      report.pending += 1;
      const target = targets.get(`${row.group}\u0000${row.topic}`)!;
      const error = await replayOne(options.db, target, row, dryRun);
      if (error === null) {
        report.replayed += 1;
        options.logger?.info({ ...keyOf(row), dryRun }, 'dead letter replayed');
        continue;
      }
      report.failed.push({ ...keyOf(row), reason: row.reason, error });
      options.logger?.warn({ ...keyOf(row), error, dryRun }, 'dead letter still fails');
      if (!dryRun) await noteReplayFailure(options.db, row, error);
    }
    if (page.length < REPLAY_PAGE_ROWS) return report;
    after = keyOf(page.at(-1)!);
  }
}

function keyOf(row: DeadLetterKey): DeadLetterKey {
  return { group: row.group, topic: row.topic, partition: row.partition, offset: row.offset };
}

/** Null when the row applied (and, unless a dry run, was marked); else why it failed. */
async function replayOne(
  db: pg.Pool,
  target: ReplayTarget,
  row: PendingDeadLetter,
  dryRun: boolean,
): Promise<string | null> {
  try {
    await withTransaction(db, async (tx) => {
      await target.apply(tx, row);
      if (dryRun) throw new DryRunRollback();
      if (!(await markReplayed(tx, row))) throw new AlreadyReplayed();
    });
    return null;
  } catch (error) {
    if (error instanceof DryRunRollback || error instanceof AlreadyReplayed) return null;
    if (classifyFailure(error) === 'transient') throw error;
    return describeFailure(error);
  }
}
