/**
 * Proves that the projections read both record formats of the outcome topic (events/envelope.ts)
 * against the real local Kafka broker and PostgreSQL (own schema, own topic): version-2 batch
 * envelopes and version-1 records, mixed in one partition, are applied once per event, a
 * republished envelope changes nothing, and an envelope with one event a projection refuses does
 * not hold its neighbours back: they are applied, the record is dead-lettered saying which event
 * failed, and replay-dlq applies the rest once the data is fixed, without doubling the others.
 */
import { encodeOutcomeBatch, OUTCOME_HEADERS_V2 } from '../../../events/envelope';
import type { JournalOutcome } from '../../../events/journal-model';
import { encodeOutcome } from '../../../events/schema';
import { outcomeFeed } from '../../../projections/src/feed';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import { ProjectionRunner } from '../../../projections/src/runner';
import { feedTarget, replayDeadLetters } from '../../../projections/src/replay/replay';
import type { TestSchema } from '../../support/store/schema';
import {
  deadLetterSchema,
  LedgerRules,
  recordOf,
} from '../../support/projections/dead-letter-fixtures';
import {
  kafkaFixture,
  type KafkaFixture,
  outcome,
  silent,
  waitFor,
} from '../../support/projections/runner.harness';

let db: TestSchema;
let k: KafkaFixture;
let topic: string;
let group: string;
let sequence = 90_000;

beforeAll(async () => {
  db = await deadLetterSchema('envelopes');
  k = await kafkaFixture();
  topic = await k.topic('envelopes', 2);
  group = k.group('envelopes');
}, 30_000);

afterAll(async () => {
  await k?.close();
  await db?.drop();
}, 30_000);

function envelopeOf(partition: number, outcomes: JournalOutcome[]) {
  const value = encodeOutcomeBatch(outcomes.map((o) => encodeOutcome(o).value));
  return { partition, key: null, value, headers: { ...OUTCOME_HEADERS_V2 } };
}

const posted = (name: string) => outcome(name, sequence++);

async function caughtUp(): Promise<boolean> {
  const { rows } = await db.pool.query<{ partition: number; next_offset: bigint }>(
    'SELECT partition, next_offset FROM projection_checkpoint WHERE consumer_group=$1 AND topic=$2',
    [group, topic],
  );
  const done = new Map(rows.map((r) => [r.partition, r.next_offset]));
  const high = await k.highWatermarks(topic);
  return [...high].every(([p, h]) => h === 0n || done.get(p) === h);
}

async function journals(): Promise<string[]> {
  const { rows } = await db.pool.query<{ journal_id: string }>(
    "SELECT journal_id FROM journal_entry WHERE journal_id LIKE 'env-%' ORDER BY 1",
  );
  return rows.map((r) => r.journal_id);
}

test('envelopes and single records apply once per event; a bad event holds no neighbour back', async () => {
  const bad = posted('env-bad');
  bad.journal!.lines[1]!.accountId = 'acc-unknown';
  const twins = [posted('env-d'), posted('env-e')];
  await k.producer.send({
    topic,
    acks: -1,
    messages: [
      envelopeOf(0, [posted('env-a'), bad, posted('env-b')]),
      recordOf(0, posted('env-c')),
      envelopeOf(1, twins),
      envelopeOf(1, [twins[1]!, posted('env-f')]), // env-e republished beside a new one
    ],
  });
  const runner = new ProjectionRunner({
    kafka: k.kafka,
    pool: db.pool,
    topic,
    groupId: group,
    projections: [new JournalStoreProjection(), new LedgerRules()],
    logger: silent,
    limits: { fetchWaitMs: 50, lagPollMs: 200, kafkaCommitIntervalMs: 0 },
  });
  await runner.start();
  try {
    await waitFor('both partitions at their high watermark', caughtUp, 30_000);
  } finally {
    await runner.stop();
  }
  expect(await journals()).toEqual(['env-a', 'env-b', 'env-c', 'env-d', 'env-e', 'env-f']);
  const { rows: letters } = await db.pool.query<{
    partition: number;
    kafka_offset: bigint;
    reason: string;
    message: string;
  }>('SELECT partition, kafka_offset, reason, message FROM projection_dead_letter');
  expect(letters).toEqual([
    {
      partition: 0,
      kafka_offset: 0n,
      reason: 'apply_failed',
      message: expect.stringMatching(
        /^1 of 3 events failed, 2 applied; event 1: .*unknown account acc-unknown/,
      ),
    },
  ]);

  await db.pool.query("INSERT INTO rules_known_account VALUES ('acc-unknown')");
  const replay = await replayDeadLetters({
    db: db.pool,
    targets: [
      feedTarget(group, topic, outcomeFeed, [new JournalStoreProjection(), new LedgerRules()]),
    ],
  });
  expect(replay).toMatchObject({ pending: 1, replayed: 1, failed: [] });
  expect(await journals()).toEqual([
    'env-a',
    'env-b',
    'env-bad',
    'env-c',
    'env-d',
    'env-e',
    'env-f',
  ]);
  const { rows: applied } = await db.pool.query<{ n: bigint }>(
    'SELECT count(*) AS n FROM rules_applied',
  );
  expect(applied[0]!.n).toBe(7n);
  const { rows: events } = await db.pool.query<{ n: bigint }>(
    "SELECT count(*) AS n FROM journal_event WHERE journal_id LIKE 'env-%'",
  );
  expect(events[0]!.n).toBe(7n);
}, 60_000);
