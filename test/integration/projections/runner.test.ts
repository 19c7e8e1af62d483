/**
 * Proves the projection runner against the real local Kafka broker and PostgreSQL (own schema,
 * own topics): outcomes flow into journal rows; a projection that is not idempotent at all sees
 * every offset exactly once through a failure mid-batch, a restart, and a rebalance between two
 * runners in one group; poison messages land in `<topic>.dlq` with their reason and original
 * coordinates while later events are still applied; and a stale worker's batch is rolled back by
 * the fenced checkpoint. Each check compares row counts with per-partition checkpoints and high
 * watermarks, so a gap or a duplicate fails it.
 */
import type pg from 'pg';
import { DLQ_HEADERS } from '../../../projections/src/dead-letter';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import type { ProjectedEvent, Projection } from '../../../projections/src/projection';
import { ProjectionRunner, type RunnerLimits } from '../../../projections/src/runner';
import type { Queryable } from '../../../core/postgres/pool';
import type { TestSchema } from '../../support/store/schema';
import {
  kafkaFixture,
  type KafkaFixture,
  migratedSchema,
  outcome,
  silent,
  waitFor,
} from '../../support/projections/runner.harness';

let db: TestSchema;
let k: KafkaFixture;
const runners: ProjectionRunner[] = [];

const FAST: Partial<RunnerLimits> = {
  fetchWaitMs: 50,
  lagPollMs: 200,
  backoffInitialMs: 20,
  backoffMaxMs: 200,
  kafkaCommitIntervalMs: 0,
};

/** Records every event it is given, with no deduplication: doubles and gaps show. */
class AppliedLog implements Projection {
  readonly name = 'applied-log';
  readonly tables = ['applied_log'];
  calls = 0;
  constructor(private readonly hook?: (events: readonly ProjectedEvent[]) => Promise<void>) {}
  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    this.calls += 1;
    await tx.query(
      `INSERT INTO applied_log (event_id, topic, partition, kafka_offset)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[])`,
      [
        events.map((e) => e.event.eventId),
        events.map((e) => e.topic),
        events.map((e) => e.partition),
        events.map((e) => e.offset),
      ],
    );
    await this.hook?.(events);
  }
}

beforeAll(async () => {
  db = await migratedSchema('runner');
  await db.pool.query(
    'CREATE TABLE applied_log (event_id text, topic text, partition int, kafka_offset bigint)',
  );
  k = await kafkaFixture();
}, 30_000);

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await k?.close();
  await db?.drop();
}, 30_000);

function runner(
  topic: string,
  groupId: string,
  projections: Projection[],
  limits: Partial<RunnerLimits> = {},
  pool: pg.Pool = db.pool,
): ProjectionRunner {
  const r = new ProjectionRunner({
    kafka: k.kafka,
    pool,
    topic,
    groupId,
    projections,
    logger: silent,
    limits: { ...FAST, ...limits },
  });
  runners.push(r);
  return r;
}

async function checkpoints(group: string, topic: string): Promise<Map<number, bigint>> {
  const { rows } = await db.pool.query<{ partition: number; next_offset: bigint }>(
    'SELECT partition, next_offset FROM projection_checkpoint WHERE consumer_group=$1 AND topic=$2',
    [group, topic],
  );
  return new Map(rows.map((r) => [r.partition, r.next_offset]));
}

async function caughtUp(group: string, topic: string): Promise<boolean> {
  const [done, high] = await Promise.all([checkpoints(group, topic), k.highWatermarks(topic)]);
  return [...high].every(([p, h]) => h === 0n || done.get(p) === h);
}

/** Per partition: rows of applied_log, distinct offsets, and min/max offset. */
async function logOf(topic: string) {
  const { rows } = await db.pool.query<{
    partition: number;
    n: bigint;
    distinct: bigint;
    max: bigint;
  }>(
    `SELECT partition, count(*) AS n, count(DISTINCT kafka_offset) AS distinct,
            max(kafka_offset) AS max
       FROM applied_log WHERE topic = $1 GROUP BY partition`,
    [topic],
  );
  return new Map(rows.map((r) => [r.partition, r]));
}

/** Every offset below each checkpoint applied exactly once, none above. */
async function expectExactlyOnce(group: string, topic: string): Promise<void> {
  const [done, log] = await Promise.all([checkpoints(group, topic), logOf(topic)]);
  for (const [partition, next] of done) {
    const row = log.get(partition);
    expect({ partition, n: row?.n ?? 0n, distinct: row?.distinct ?? 0n }).toEqual({
      partition,
      n: next,
      distinct: next,
    });
  }
  expect([...log.keys()].every((p) => done.has(p))).toBe(true);
}

test('outcomes become journal rows; duplicates are no-ops; lag reaches 0', async () => {
  const topic = await k.topic('e2e');
  const group = k.group('e2e');
  const outcomes = [
    outcome('j-posted', 1),
    outcome('j-held-post', 2, 'held'),
    outcome('j-held-post', 3, 'hold_posted', { pendingOf: 2 }),
    outcome('j-held-void', 4, 'held'),
    outcome('j-held-void', 5, 'hold_voided', { pendingOf: 4 }),
    outcome('j-rejected', 6, 'rejected'),
    outcome('j-held-refused', 7, 'held'),
    outcome('j-held-refused', 8, 'rejected', { pendingOf: 7, rejectedStep: 'post' }),
  ];
  await k.publish(topic, outcomes);
  await k.publish(topic, outcomes.slice(0, 5)); // the client's retries: same event ids
  const r = runner(topic, group, [new JournalStoreProjection()]);
  await r.start();
  await waitFor('checkpoints at the high watermarks', () => caughtUp(group, topic));
  const { rows: entries } = await db.pool.query(
    'SELECT journal_id, status, rejected_step FROM journal_entry ORDER BY journal_id',
  );
  expect(entries).toEqual([
    { journal_id: 'j-held-post', status: 'hold_posted', rejected_step: null },
    { journal_id: 'j-held-refused', status: 'held', rejected_step: 'post' },
    { journal_id: 'j-held-void', status: 'hold_voided', rejected_step: null },
    { journal_id: 'j-posted', status: 'posted', rejected_step: null },
    { journal_id: 'j-rejected', status: 'rejected', rejected_step: 'create' },
  ]);
  const counts = await db.pool.query(
    `SELECT (SELECT count(*) FROM journal_event) AS events,
            (SELECT count(*) FROM journal_line) AS lines,
            (SELECT count(*) FROM journal_transfer) AS transfers`,
  );
  expect(counts.rows[0]).toEqual({ events: 8n, lines: 10n, transfers: 6n });
  await r.pollLag();
  expect(r.stats().lagTotal).toBe(0);
  expect(r.stats().eventsApplied).toBe(13);
});

test('a poison message goes to the DLQ with its reason; later events are applied', async () => {
  const topic = await k.topic('poison', 1);
  const group = k.group('poison');
  await k.publish(topic, [outcome('p-1', 1)]);
  await k.publishRaw(topic, [
    { key: 'bad-json', value: '{not json' },
    { key: 'other-schema', value: JSON.stringify({ schema: 'someone.else', version: 1 }) },
    { key: 'no-value', value: null },
  ]);
  await k.publish(topic, [outcome('p-2', 2)]);
  const r = runner(topic, group, [new JournalStoreProjection(), new AppliedLog()]);
  await r.start();
  await waitFor('caught up', () => caughtUp(group, topic));
  const { rows } = await db.pool.query(
    "SELECT journal_id FROM journal_entry WHERE journal_id LIKE 'p-%' ORDER BY 1",
  );
  expect(rows.map((row) => row.journal_id)).toEqual(['p-1', 'p-2']);
  expect(r.stats().eventsDeadLettered).toBe(3);

  const consumer = k.kafka.consumer({ groupId: k.group('dlq-reader'), maxWaitTimeInMs: 50 });
  const letters: Record<string, string>[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [`${topic}.dlq`], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = { key: String(message.key) };
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        headers[name] = String(value);
      }
      letters.push(headers);
    },
  });
  try {
    await waitFor('3 dead letters', async () => letters.length >= 3);
  } finally {
    await consumer.disconnect();
  }
  expect(
    letters.map((h) => [h.key, h[DLQ_HEADERS.reason], h[DLQ_HEADERS.offset], h[DLQ_HEADERS.topic]]),
  ).toEqual([
    ['bad-json', 'malformed', '1', topic],
    ['other-schema', 'unknown_schema', '2', topic],
    ['no-value', 'malformed', '3', topic],
  ]);
  expect(letters[0]![DLQ_HEADERS.partition]).toBe('0');
  expect(letters[0]![DLQ_HEADERS.message]).toMatch(/JSON/);
});

test('a failure mid-batch rolls the batch back; retry and restart leave no gap, no double', async () => {
  const topic = await k.topic('crash');
  const group = k.group('crash');
  await k.publish(
    topic,
    Array.from({ length: 600 }, (_, i) => outcome(`crash-${i}`, 10_000 + i)),
  );
  let seen = 0;
  let failures = 0;
  const faulty = new AppliedLog(async (events) => {
    seen += events.length;
    // Throws on the batch that crosses the 250th event, three times in a row: a lost connection
    // (transient), so the partition pauses and retries from its checkpoint.
    if (seen >= 250 && failures < 3) {
      failures += 1;
      throw new Error('Connection terminated unexpectedly (injected after the batch wrote)');
    }
  });
  const first = runner(topic, group, [faulty], { batchEventsMax: 50 });
  await first.start();
  await waitFor('three failures', async () => failures >= 3);
  await first.stop();
  await expectExactlyOnce(group, topic);
  expect(first.stats().batchesFailed).toBeGreaterThanOrEqual(3);

  const second = runner(topic, group, [new AppliedLog()], { batchEventsMax: 50 });
  await second.start();
  await waitFor('caught up after restart', () => caughtUp(group, topic));
  await expectExactlyOnce(group, topic);
  const log = await logOf(topic);
  expect([...log.values()].reduce((sum, row) => sum + row.n, 0n)).toBe(600n);
});

test('two runners in one group, joining and leaving mid-stream: exactly once', async () => {
  const topic = await k.topic('rebalance', 6);
  const group = k.group('rebalance');
  const total = 3_000;
  const publishing = (async () => {
    // About 4 s of publishing: b joins at 0.5 s, a leaves at 2 s, b finishes alone.
    for (let i = 0; i < total; i += 150) {
      const chunk = Array.from({ length: 150 }, (_, j) => outcome(`rb-${i + j}`, 20_000 + i + j));
      await k.publish(topic, chunk);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const a = runner(topic, group, [new AppliedLog()], { batchEventsMax: 100 });
  const b = runner(topic, group, [new AppliedLog()], { batchEventsMax: 100 });
  await a.start();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await b.start();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await a.stop();
  await publishing;
  await waitFor('caught up by b', () => caughtUp(group, topic), 40_000);
  await expectExactlyOnce(group, topic);
  const log = await logOf(topic);
  expect([...log.values()].reduce((sum, row) => sum + row.n, 0n)).toBe(BigInt(total));
  expect(a.stats().batchesCommitted).toBeGreaterThan(0);
  expect(b.stats().batchesCommitted).toBeGreaterThan(0);
}, 60_000);

test("a stale worker's batch is rolled back by the fenced checkpoint", async () => {
  const topic = await k.topic('fence', 1);
  const group = k.group('fence');
  await k.publish(topic, [outcome('f-0', 30_000), outcome('f-1', 30_001)]);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered: () => void = () => undefined;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  let blockOnce = true;
  const slow = new AppliedLog(async () => {
    if (!blockOnce) return;
    blockOnce = false;
    entered();
    await gate;
  });
  const r = runner(topic, group, [slow]);
  await r.start();
  await inside;
  // Meanwhile "another worker" owns the partition and has applied up to offset 5.
  await db.pool.query(
    `INSERT INTO projection_checkpoint (consumer_group, topic, partition, next_offset)
     VALUES ($1, $2, 0, 5)`,
    [group, topic],
  );
  release();
  await waitFor('fenced', async () => r.stats().batchesFenced === 1);
  expect((await logOf(topic)).size).toBe(0); // the stale batch left nothing
  await k.publish(
    topic,
    Array.from({ length: 5 }, (_, i) => outcome(`f-${i + 2}`, 30_002 + i)),
  );
  await waitFor('caught up', () => caughtUp(group, topic));
  const { rows } = await db.pool.query<{ kafka_offset: bigint }>(
    'SELECT kafka_offset FROM applied_log WHERE topic = $1 ORDER BY 1',
    [topic],
  );
  // Offsets 0–4 belong to the other worker; this one resumed at its checkpoint, 5.
  expect(rows.map((row) => row.kafka_offset)).toEqual([5n, 6n]);
});
