/**
 * Dead letters in the reconciliation: every `projection_dead_letter` row not replayed is an event
 * TigerBeetle's side has and PostgreSQL does not (yet), counted as `dead_lettered_event` with the
 * oldest few as examples. Not windowed: a dead letter counts on every run that is not deferred,
 * whatever its age, until replayed. A store without the table (migrated before 0008) has nothing
 * recorded, so nothing is counted.
 */
import type { Queryable } from '../../../core/postgres/pool';
import { countPendingDeadLetters, oldestPendingDeadLetters } from '../dead-letter-table';
import type { Mismatch, ReportBuilder } from './report';

export async function reconcileDeadLetters(
  db: Queryable,
  examplesMax: number,
  report: ReportBuilder,
): Promise<void> {
  const pending = await countPendingDeadLetters(db);
  const total = pending.reduce((sum, each) => sum + each.count, 0);
  if (total === 0) return;
  const examples = (await oldestPendingDeadLetters(db, examplesMax)).map((row): Mismatch => ({
    kind: 'dead_lettered_event',
    detail:
      `${row.topic}/${row.partition} offset ${row.offset} (group ${row.group}): ` +
      `${row.reason}: ${row.message.slice(0, 200)}`,
  }));
  report.addCounted('dead_lettered_event', total, examples);
}
