/**
 * Proves that no event stalls the projections (issue 14), against the real local Kafka broker and
 * PostgreSQL (own schema, own topics). Poison records go straight into a six-partition topic: a
 * journal whose description holds U+0000 (valid JSON and schema; PostgreSQL refuses it), invalid
 * JSON, an unknown schema version, a record above the runner's size limit (set low here), a
 * journal naming an unknown account and a hold's post whose hold was never seen (a strict test
 * projection refuses both). Two partitions meanwhile fail twice each with a lost connection.
 *
 * It shows: each poison record is dead-lettered exactly once with its reason, in `<topic>.dlq`
 * and in `projection_dead_letter`; every healthy event is applied exactly once, the transiently
 * failing ones included; the healthy partitions are not held up by the others' backoff (apply
 * lag measured with onCommit: p50/p99 printed, p99 bounded generously); the reconciler counts
 * the dead letters; replay-dlq (dry run, then for real, then after a data fix) applies them once
 * fixed and marks them, and the reconciler's count goes to 0. The CLI's exit codes are checked
 * too, and migration 0008 goes up, down and up again.
 */
import fs from 'node:fs';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { migrateDown, migrateUp } from '../../../core/postgres/migrate';
import type { Ledger } from '../../../ledger/port';
import { DLQ_HEADERS } from '../../../projections/src/dead-letter';
import { countPendingDeadLetters } from '../../../projections/src/dead-letter-table';
import { outcomeFeed } from '../../../projections/src/feed';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import type { CommitReport } from '../../../projections/src/runner-types';
import { ProjectionRunner } from '../../../projections/src/runner';
import { reconcile } from '../../../projections/src/reconcile/reconcile';
import { settledHorizon } from '../../../projections/src/reconcile/horizon';
import { runReplayDlq } from '../../../projections/src/replay/cli';
import { feedTarget, replayDeadLetters } from '../../../projections/src/replay/replay';
import type { TestSchema } from '../../support/store/schema';
import {
  deadLetterMigrationsDir,
  deadLetterSchema,
  FlakyConnection,
  LedgerRules,
  type PartitionRecord,
  percentile,
  recordOf,
  SanitizingJournalStore,
  futureVersion,
  futureVersionFeed,
} from '../../support/projections/dead-letter-fixtures';
import {
  kafkaFixture,
  type KafkaFixture,
  outcome,
  silent,
  waitFor,
} from '../../support/projections/runner.harness';

const PARTITIONS = 6;
/** Partitions 0 and 1 carry the poison; 2 and 3 fail twice on one event each; 4 and 5 are clean. */
const FLAKY_PARTITIONS = new Set([2, 3]);
const EVENT_BYTES_MAX = 4_096;
/**
 * Two failures: paused 2.5 s, then 5 s. A runner that slept in its batch handler instead would
 * hold both consumer slots (concurrency 2) that long, and the clean partitions' p99 would exceed
 * the bound below.
 */
const BACKOFF_INITIAL_MS = 2_500;
/** Streaming phase: one healthy event per partition every STREAM_EVERY_MS. */
const STREAM_MS = 8_000;
const STREAM_EVERY_MS = 100;
const LAG_P99_MS_MAX = 5_000;

let db: TestSchema;
let k: KafkaFixture;
let topic: string;
let group: string;
let sequence = 70_000;

/** Every poison record: its journal (the key), and the reason it must be dead-lettered with. */
const POISON: { journal: string; reason: string; record: () => PartitionRecord }[] = [
  {
    journal: 'dl-nul',
    reason: 'apply_failed',
    record: () => {
      const o = outcome('dl-nul', sequence++);
      o.journal!.description = 'refused \u0000 by PostgreSQL';
      return recordOf(0, o);
    },
  },
  {
    journal: 'dl-json',
    reason: 'malformed',
    record: () => ({ partition: 0, key: 'dl-json', value: Buffer.from('{"schema": "ledger') }),
  },
  {
    journal: 'dl-big',
    reason: 'oversized',
    record: () => {
      const o = outcome('dl-big', sequence++);
      o.journal!.description = 'x'.repeat(EVENT_BYTES_MAX);
      return recordOf(0, o);
    },
  },
  {
    journal: 'dl-v3',
    reason: 'unsupported_version',
    record: () => futureVersion(1, outcome('dl-v3', sequence++)),
  },
  {
    journal: 'dl-account',
    reason: 'apply_failed',
    record: () => {
      const o = outcome('dl-account', sequence++);
      o.journal!.lines[1]!.accountId = 'acc-unknown';
      return recordOf(1, o);
    },
  },
  {
    journal: 'dl-orphan',
    reason: 'apply_failed',
    record: () => recordOf(1, outcome('dl-orphan', sequence++, 'hold_posted', { pendingOf: 9 })),
  },
];

const healthy: string[] = [];
const flakyJournals = new Set<string>();

function healthyRecord(partition: number, name = `h-${partition}-${sequence}`): PartitionRecord {
  healthy.push(name);
  return recordOf(partition, outcome(name, sequence++));
}

async function send(kafka: KafkaFixture, records: PartitionRecord[]): Promise<void> {
  await kafka.producer.send({ topic, acks: -1, messages: records });
}

/** The initial log: poison between healthy events in 0 and 1, a flaky journal in 2 and 3. */
function initialRecords(): PartitionRecord[] {
  const records: PartitionRecord[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    records.push(healthyRecord(partition), healthyRecord(partition));
  }
  for (const poison of POISON) {
    const record = poison.record();
    records.push(record, healthyRecord(record.partition));
  }
  for (const partition of FLAKY_PARTITIONS) {
    const name = `flaky-${partition}`;
    flakyJournals.add(name);
    records.push(healthyRecord(partition, name), healthyRecord(partition));
  }
  return records;
}

async function caughtUp(): Promise<boolean> {
  const { rows } = await db.pool.query<{ partition: number; next_offset: bigint }>(
    'SELECT partition, next_offset FROM projection_checkpoint WHERE consumer_group=$1 AND topic=$2',
    [group, topic],
  );
  const done = new Map(rows.map((r) => [r.partition, r.next_offset]));
  const high = await k.highWatermarks(topic);
  return [...high].every(([p, h]) => h === 0n || done.get(p) === h);
}

/** Every message of the DLQ topic, read from the beginning until `count` arrived (and 1 s more). */
async function dlqMessages(kafka: Kafka, count: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: k.group('dlq-reader'), maxWaitTimeInMs: 50 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [`${topic}.dlq`], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  try {
    await waitFor(`${count} dead letters`, async () => messages.length >= count);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a duplicate would show now
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

beforeAll(async () => {
  db = await deadLetterSchema('dead_letters');
  k = await kafkaFixture();
  topic = await k.topic('dead-letters', PARTITIONS);
  group = k.group('dead-letters');
}, 30_000);

afterAll(async () => {
  await k?.close();
  await db?.drop();
}, 30_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Lags {
  /** Apply lag (ms) of events streamed to partitions that never failed transiently. */
  clean: number[];
  /** ... and to the two that were paused. */
  paused: number[];
}

function lagRecorder(lags: Lags, fromMs: () => number) {
  return (report: CommitReport) => {
    for (const ts of report.recordTimestampsMs) {
      if (ts < fromMs()) continue;
      const lag = report.committedAtMs - ts;
      (FLAKY_PARTITIONS.has(report.partition) ? lags.paused : lags.clean).push(lag);
    }
  };
}

function describeLags(name: string, values: readonly number[]): string {
  const at = (p: number) => Math.round(percentile(values, p));
  return `${name}: n=${values.length} p50=${at(50)} p99=${at(99)} max=${at(100)}`;
}

let runner: ProjectionRunner;

test('poison events are dead-lettered once each; the rest flow, undelayed by backoff', async () => {
  await send(k, initialRecords());
  const lags: Lags = { clean: [], paused: [] };
  let streamFromMs = Number.POSITIVE_INFINITY;
  const flaky = new FlakyConnection(flakyJournals, 2);
  runner = new ProjectionRunner({
    kafka: k.kafka,
    pool: db.pool,
    topic,
    groupId: group,
    projections: [new JournalStoreProjection(), new LedgerRules(), flaky],
    logger: silent,
    onCommit: lagRecorder(lags, () => streamFromMs),
    limits: {
      fetchWaitMs: 50,
      lagPollMs: 200,
      kafkaCommitIntervalMs: 0,
      batchEventsMax: 50,
      eventBytesMax: EVENT_BYTES_MAX,
      backoffInitialMs: BACKOFF_INITIAL_MS,
      backoffMaxMs: 4 * BACKOFF_INITIAL_MS,
    },
  });
  await runner.start();
  try {
    await waitFor('a first transient failure', async () => flaky.thrown.size > 0, 30_000);
    streamFromMs = Date.now();
    while (Date.now() - streamFromMs < STREAM_MS) {
      const all = Array.from({ length: PARTITIONS }, (_, partition) => partition);
      await send(
        k,
        all.map((partition) => healthyRecord(partition)),
      );
      await sleep(STREAM_EVERY_MS);
    }
    await waitFor('every partition at its high watermark', caughtUp, 30_000);
  } finally {
    await runner.stop();
  }
  console.log(
    `apply lag (ms) while two partitions backed off ${BACKOFF_INITIAL_MS} + ` +
      `${2 * BACKOFF_INITIAL_MS} ms:\n  ${describeLags('clean partitions', lags.clean)}\n  ` +
      describeLags('paused partitions', lags.paused),
  );
  expect(percentile(lags.clean, 99)).toBeLessThan(LAG_P99_MS_MAX);
  // The backoff was real: events behind it waited for it.
  expect(Math.max(...lags.paused)).toBeGreaterThanOrEqual(BACKOFF_INITIAL_MS);
  expect([...flaky.thrown.values()]).toEqual([2, 2]);

  const expected = POISON.map((p) => [p.journal, p.reason]).sort();
  const letters = await dlqMessages(k.kafka, POISON.length);
  expect(letters.map((m) => [String(m.key), header(m, DLQ_HEADERS.reason)]).sort()).toEqual(
    expected,
  );
  const coordinates = letters.map(
    (m) => `${header(m, DLQ_HEADERS.partition)}@${header(m, DLQ_HEADERS.offset)}`,
  );
  expect(new Set(coordinates).size).toBe(POISON.length);
  const big = letters.find((m) => String(m.key) === 'dl-big')!;
  expect(big.value).toBeNull();
  expect(Number(header(big, DLQ_HEADERS.valueBytes))).toBeGreaterThan(EVENT_BYTES_MAX);

  const { rows } = await db.pool.query<{
    key: Buffer;
    reason: string;
    message: string;
    partition: number;
    kafka_offset: bigint;
    value_bytes: number | null;
    headers: Record<string, unknown>;
  }>(
    `SELECT key, reason, message, partition, kafka_offset, octet_length(value) AS value_bytes,
            headers
       FROM projection_dead_letter WHERE consumer_group = $1 AND topic = $2 AND replayed_at IS NULL
      ORDER BY partition, kafka_offset`,
    [group, topic],
  );
  expect(rows.map((r) => [r.key.toString(), r.reason]).sort()).toEqual(expected);
  expect(rows.map((r) => `${r.partition}@${r.kafka_offset}`).sort()).toEqual(
    [...coordinates].sort(),
  );
  const row = (journal: string) => rows.find((r) => r.key.toString() === journal)!;
  expect(row('dl-nul').message).toMatch(/22021.*0x00/);
  expect(row('dl-account').message).toMatch(/unknown account acc-unknown/);
  expect(row('dl-orphan').message).toMatch(/was never seen/);
  expect(row('dl-v3').message).toMatch(/version 3/);
  expect(row('dl-big').value_bytes).toBeGreaterThan(EVENT_BYTES_MAX);
  expect(row('dl-nul').headers).toMatchObject({ schema: expect.any(String) });

  const { rows: entries } = await db.pool.query<{ journal_id: string }>(
    'SELECT journal_id FROM journal_entry ORDER BY 1',
  );
  expect(entries.map((e) => e.journal_id)).toEqual([...healthy].sort());
  const { rows: applied } = await db.pool.query('SELECT count(*) AS n FROM rules_applied');
  expect(applied[0].n).toBe(BigInt(healthy.length));

  const stats = runner.stats();
  expect(stats.eventsApplied).toBe(healthy.length);
  expect(stats.eventsDeadLettered).toBe(POISON.length);
  expect(stats.eventsDeadLetteredByReason).toMatchObject({
    apply_failed: 3,
    malformed: 1,
    oversized: 1,
    unsupported_version: 1,
    unknown_schema: 0,
    invalid_event: 0,
  });
  expect(stats.batchesFailed).toBeGreaterThanOrEqual(4);
}, 90_000);

const noLedger = {} as Ledger;

async function deadLetterCount(): Promise<number> {
  const report = await reconcile(
    { db: db.pool, ledger: noLedger, horizon: settledHorizon({}) },
    { skipAccounts: true, skipTransfers: true },
  );
  expect(report.mismatchCount).toBe(report.counts.dead_lettered_event);
  return report.counts.dead_lettered_event;
}

test('the reconciler and the gauge count the dead letters not replayed', async () => {
  expect(await deadLetterCount()).toBe(POISON.length);
  const pending = await countPendingDeadLetters(db.pool);
  expect(pending.map((p) => [p.reason, p.count])).toEqual([
    ['apply_failed', 3],
    ['malformed', 1],
    ['oversized', 1],
    ['unsupported_version', 1],
  ]);
});

test('replay-dlq: usage errors exit 2; a dry run lists what still fails and changes nothing', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    env: {
      ...process.env,
      PROJECTIONS_DATABASE_SCHEMA: db.name,
      KAFKA_OUTCOMES_TOPIC: topic,
      PROJECTIONS_GROUP_ID: group,
      // The worker's real journal store alone: U+0000 still fails there.
      PROJECTIONS_ONLY: 'journal',
    },
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
  };
  expect(await runReplayDlq(['--bogus'], io)).toBe(2);
  expect(await runReplayDlq(['--topic'], io)).toBe(2);
  expect(await runReplayDlq(['--topic', 'not.ours'], io)).toBe(2);
  expect(err.join('\n')).toMatch(/usage: ledger-bridge projections replay-dlq[\s\S]*unknown topic/);

  expect(await runReplayDlq(['--dry-run', '--topic', topic], io)).toBe(1);
  expect(out[0]).toBe('dry run: 6 pending, 3 would replay, 3 would still fail; nothing changed');
  expect(out.slice(1).join('\n')).toMatch(/offset \d+ \(apply_failed\): error 22021/);
  expect(out.slice(1).join('\n')).toMatch(/\(malformed\)[\s\S]*\(unsupported_version\)/);
  expect(await deadLetterCount()).toBe(POISON.length);
  const { rows } = await db.pool.query("SELECT 1 FROM journal_entry WHERE journal_id = 'dl-big'");
  expect(rows).toHaveLength(0);
});

test('replay-dlq applies them once fixed and marks them; the count goes to 0', async () => {
  // The code fix: a journal store that stores U+0000 as U+FFFD, rules that accept a late hold.
  const fixed = [new SanitizingJournalStore(), new LedgerRules(true)];
  const first = await replayDeadLetters({
    db: db.pool,
    targets: [feedTarget(group, topic, outcomeFeed, fixed)],
  });
  expect({ ...first, failed: first.failed.map((f) => [f.reason, f.error]) }).toMatchObject({
    pending: 6,
    replayed: 3,
    failed: [
      ['malformed', expect.stringMatching(/not UTF-8 JSON/)],
      ['unsupported_version', expect.stringMatching(/version 3/)],
      ['apply_failed', expect.stringMatching(/unknown account acc-unknown/)],
    ],
  });
  expect(await deadLetterCount()).toBe(3);
  const { rows: noted } = await db.pool.query<{ replay_attempts: number; error: string }>(
    `SELECT replay_attempts, last_replay_error AS error FROM projection_dead_letter
      WHERE replayed_at IS NULL ORDER BY partition, kafka_offset`,
  );
  expect(noted.map((n) => n.replay_attempts)).toEqual([1, 1, 1]);

  // The data fix: the account registered, the broken record repaired, version 3 read.
  await db.pool.query("INSERT INTO rules_known_account VALUES ('acc-unknown')");
  const repaired = recordOf(0, outcome('dl-json', sequence++)).value;
  await db.pool.query("UPDATE projection_dead_letter SET value = $1 WHERE key = 'dl-json'::bytea", [
    repaired,
  ]);
  const second = await replayDeadLetters({
    db: db.pool,
    targets: [feedTarget(group, topic, futureVersionFeed, fixed)],
  });
  expect(second).toMatchObject({ pending: 3, replayed: 3, failed: [] });
  expect(await deadLetterCount()).toBe(0);
  expect(await countPendingDeadLetters(db.pool)).toEqual([]);
  const again = await replayDeadLetters({
    db: db.pool,
    targets: [feedTarget(group, topic, futureVersionFeed, fixed)],
  });
  expect(again).toMatchObject({ pending: 0, replayed: 0, failed: [] });

  const { rows } = await db.pool.query<{ journal_id: string; description: string | null }>(
    "SELECT journal_id, description FROM journal_entry WHERE journal_id LIKE 'dl-%' ORDER BY 1",
  );
  expect(rows.map((r) => r.journal_id)).toEqual(POISON.map((p) => p.journal).sort());
  expect(rows.find((r) => r.journal_id === 'dl-nul')!.description).toBe(
    'refused \uFFFD by PostgreSQL',
  );
  const { rows: applied } = await db.pool.query('SELECT count(*) AS n FROM rules_applied');
  expect(applied[0].n).toBe(BigInt(healthy.length + POISON.length));
  const { rows: marks } = await db.pool.query(
    'SELECT count(*) AS n FROM projection_dead_letter WHERE replayed_at IS NOT NULL',
  );
  expect(marks[0].n).toBe(BigInt(POISON.length));
});

test('migration 0008 goes up, down and up again', async () => {
  const dir = deadLetterMigrationsDir();
  try {
    expect((await migrateDown(db.pool, 1, { dir })).map((m) => m.version)).toEqual([8]);
    const table = "SELECT to_regclass('projection_dead_letter') IS NOT NULL AS present";
    expect((await db.pool.query(table)).rows[0].present).toBe(false);
    expect(await countPendingDeadLetters(db.pool)).toEqual([]);
    expect((await migrateUp(db.pool, { dir })).map((m) => m.version)).toEqual([8]);
    expect((await db.pool.query(table)).rows[0].present).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
