/**
 * `projection_dead_letter` (migration 0008): every record a projection runner skipped, recorded
 * in the transaction that moves the partition's checkpoint past it, until replay-dlq applies it
 * (`replayed_at`). The runner writes it; replay-dlq, the reconciler and the worker's gauge read it.
 *
 * A store migrated before 0008 has no such table: `deadLetterTableExists` says so, and the callers
 * then say so too (the runner logs it at start; the others count nothing).
 */
import type { IHeaders } from 'kafkajs';
import type { Queryable } from '../../core/postgres/pool';
import { isStorableText } from '../../core/text';
import { DEAD_LETTER_MESSAGE_CHARS_MAX, type DeadLetter } from './dead-letter';

export const DEAD_LETTER_TABLE = 'projection_dead_letter';

/** Where a dead letter came from: the table's key. */
export interface DeadLetterKey {
  group: string;
  topic: string;
  partition: number;
  /** Kafka offset, decimal string. */
  offset: string;
}

/** A row not replayed yet: where it came from, and why it was skipped. */
export interface DeadLetterSummary extends DeadLetterKey {
  reason: string;
  message: string;
}

/** ... with the record as it was read from Kafka, for replay. */
export interface PendingDeadLetter extends DeadLetterSummary {
  /** Kafka record timestamp (ms since epoch, decimal string). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  replayAttempts: number;
}

interface SummaryRow {
  consumer_group: string;
  topic: string;
  partition: number;
  kafka_offset: bigint;
  reason: string;
  message: string;
}

const SUMMARY_COLUMNS =
  'd.consumer_group, d.topic, d.partition, d.kafka_offset, d.reason, d.message';

function summaryOf(row: SummaryRow): DeadLetterSummary {
  return {
    group: row.consumer_group,
    topic: row.topic,
    partition: row.partition,
    offset: row.kafka_offset.toString(),
    reason: row.reason,
    message: row.message,
  };
}

export async function deadLetterTableExists(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS present`,
    [DEAD_LETTER_TABLE],
  );
  return rows[0]?.present === true;
}

/**
 * Text PostgreSQL can hold: U+0000 (refused in text and jsonb) and lone surrogates (no UTF-8 form)
 * become U+FFFD. For messages and header names, which are read by people, never replayed.
 */
export function storableText(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8').replaceAll('\u0000', '\uFFFD');
}

type HeaderJson = string | { base64: string };

function headerValueJson(value: Buffer | string): HeaderJson {
  if (typeof value === 'string') {
    return isStorableText(value) ? value : { base64: Buffer.from(value).toString('base64') };
  }
  const text = value.toString('utf8');
  // Bytes that are not UTF-8 text (or hold U+0000) keep their exact value as base64.
  const exact = Buffer.from(text, 'utf8').equals(value) && !text.includes('\u0000');
  return exact ? text : { base64: value.toString('base64') };
}

/** The record's headers as a JSON object: each value UTF-8 text, or `{base64}` when not. */
export function headersJson(headers: IHeaders | undefined): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    json[storableText(name)] = Array.isArray(value)
      ? value.map(headerValueJson)
      : headerValueJson(value);
  }
  return json;
}

/**
 * Records the letters inside the caller's transaction (the one that moves the checkpoint past
 * them). A record dead-lettered again (a checkpoint moved back by hand) is pending again.
 */
export async function recordDeadLetters(
  tx: Queryable,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  const column = <T>(pick: (letter: DeadLetter) => T) => letters.map(pick);
  await tx.query(
    `INSERT INTO projection_dead_letter AS d (consumer_group, topic, partition, kafka_offset,
       reason, message, record_timestamp_ms, key, value, headers)
     SELECT u.grp, u.topic, u.part, u.off, u.reason, u.message, u.ts, u.key, u.value,
            u.headers::jsonb
       FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[],
                   $7::bigint[], $8::bytea[], $9::bytea[], $10::text[])
            AS u(grp, topic, part, off, reason, message, ts, key, value, headers)
     ON CONFLICT (consumer_group, topic, partition, kafka_offset) DO UPDATE
       SET reason = excluded.reason, message = excluded.message, key = excluded.key,
           value = excluded.value, headers = excluded.headers,
           record_timestamp_ms = excluded.record_timestamp_ms, dead_lettered_at = now(),
           replayed_at = NULL`,
    [
      column((l) => l.group),
      column((l) => l.topic),
      column((l) => l.partition),
      column((l) => l.offset),
      column((l) => l.reason),
      column((l) => storableText(l.message.slice(0, DEAD_LETTER_MESSAGE_CHARS_MAX))),
      column((l) => l.timestamp),
      column((l) => l.key),
      column((l) => l.value),
      column((l) => JSON.stringify(headersJson(l.headers))),
    ],
  );
}

export interface PendingFilter {
  /** Only these (consumer group, topic) pairs. */
  feeds: readonly { group: string; topic: string }[];
  /** Rows after this key, in (topic, partition, offset, group) order: keyset paging. */
  after?: DeadLetterKey;
  limit: number;
}

/** Rows not replayed, in (topic, partition, offset) order, one page at a time. */
export async function pendingDeadLetters(
  db: Queryable,
  filter: PendingFilter,
): Promise<PendingDeadLetter[]> {
  const after = filter.after ?? { topic: '', partition: -1, offset: '-1', group: '' };
  const { rows } = await db.query<
    SummaryRow & {
      record_timestamp_ms: bigint;
      key: Buffer | null;
      value: Buffer | null;
      replay_attempts: number;
    }
  >(
    `SELECT ${SUMMARY_COLUMNS}, d.record_timestamp_ms, d.key, d.value, d.replay_attempts
       FROM projection_dead_letter d
       JOIN unnest($1::text[], $2::text[]) AS f(grp, topic)
         ON f.grp = d.consumer_group AND f.topic = d.topic
      WHERE d.replayed_at IS NULL
        AND (d.topic, d.partition, d.kafka_offset, d.consumer_group) > ($3, $4, $5, $6)
      ORDER BY d.topic, d.partition, d.kafka_offset, d.consumer_group
      LIMIT $7`,
    [
      filter.feeds.map((feed) => feed.group),
      filter.feeds.map((feed) => feed.topic),
      after.topic,
      after.partition,
      after.offset,
      after.group,
      filter.limit,
    ],
  );
  return rows.map((row) => ({
    ...summaryOf(row),
    timestamp: row.record_timestamp_ms.toString(),
    key: row.key,
    value: row.value,
    replayAttempts: row.replay_attempts,
  }));
}

/** The `limit` oldest rows not replayed, of every group and topic (for reports). */
export async function oldestPendingDeadLetters(
  db: Queryable,
  limit: number,
): Promise<DeadLetterSummary[]> {
  const { rows } = await db.query<SummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM projection_dead_letter d WHERE d.replayed_at IS NULL
      ORDER BY d.dead_lettered_at, d.topic, d.partition, d.kafka_offset LIMIT $1`,
    [limit],
  );
  return rows.map(summaryOf);
}

const KEY_MATCH =
  'consumer_group = $1 AND topic = $2 AND partition = $3 AND kafka_offset = $4 ' +
  'AND replayed_at IS NULL';

const keyValues = (key: DeadLetterKey) => [key.group, key.topic, key.partition, key.offset];

/**
 * Marks a row replayed inside the transaction that applied it. False: it was not pending any more
 * (another replay got there first), and the caller must roll back.
 */
export async function markReplayed(tx: Queryable, key: DeadLetterKey): Promise<boolean> {
  const result = await tx.query(
    `UPDATE projection_dead_letter SET replayed_at = now(), replay_attempts = replay_attempts + 1,
            last_replay_error = NULL
      WHERE ${KEY_MATCH}`,
    keyValues(key),
  );
  return result.rowCount === 1;
}

/** Notes a failed replay on the row (after its transaction rolled back). */
export async function noteReplayFailure(
  db: Queryable,
  key: DeadLetterKey,
  message: string,
): Promise<void> {
  await db.query(
    `UPDATE projection_dead_letter SET replay_attempts = replay_attempts + 1,
            last_replay_error = $5
      WHERE ${KEY_MATCH}`,
    [...keyValues(key), storableText(message.slice(0, DEAD_LETTER_MESSAGE_CHARS_MAX))],
  );
}

export interface PendingCount {
  group: string;
  topic: string;
  reason: string;
  count: number;
}

/** Rows not replayed, per (group, topic, reason); empty when the table does not exist. */
export async function countPendingDeadLetters(db: Queryable): Promise<PendingCount[]> {
  if (!(await deadLetterTableExists(db))) return [];
  const { rows } = await db.query<{
    consumer_group: string;
    topic: string;
    reason: string;
    count: bigint;
  }>(
    `SELECT consumer_group, topic, reason, count(*) AS count FROM projection_dead_letter
      WHERE replayed_at IS NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  return rows.map((row) => ({
    group: row.consumer_group,
    topic: row.topic,
    reason: row.reason,
    count: Number(row.count),
  }));
}
