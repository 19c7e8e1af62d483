/**
 * Proves that SIGKILL of the real projection worker process (projections/src/main.ts under
 * `node --import tsx`) mid-stream loses and doubles nothing: 10,000 outcomes are published, the
 * worker is killed while it is applying them in 25-event transactions, and at that moment every
 * partition's journal_event rows already equal its checkpoint (batch and checkpoint committed
 * together); a restarted worker then finishes with exactly one row per event and checkpoints at
 * the high watermarks. Own schema, topic and consumer group.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { TestSchema } from '../../support/store/schema';
import {
  kafkaFixture,
  type KafkaFixture,
  migratedSchema,
  outcome,
  waitFor,
} from '../../support/projections/runner.harness';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EVENTS = 10_000;

let db: TestSchema;
let k: KafkaFixture;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await migratedSchema('kill');
  k = await kafkaFixture();
}, 30_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await k?.close();
  await db?.drop();
}, 30_000);

function startWorker(topic: string, group: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'projections/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      KAFKA_OUTCOMES_TOPIC: topic,
      KAFKA_OUTCOMES_PARTITIONS: '3',
      PROJECTIONS_GROUP_ID: group,
      PROJECTIONS_METRICS_PORT: '0',
      PROJECTIONS_DATABASE_SCHEMA: db.name,
      PROJECTIONS_MIGRATE: 'false',
      PROJECTIONS_ONLY: 'journal',
      PROJECTIONS_BATCH_EVENTS_MAX: '25',
      PROJECTIONS_PARTITIONS_CONCURRENCY: '1',
      // The killed worker's membership expires after this: the restart gets its partitions.
      PROJECTIONS_SESSION_TIMEOUT_MS: '6000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  children.push(child);
  return child;
}

async function perPartition(group: string, topic: string) {
  const { rows } = await db.pool.query<{ partition: number; checkpoint: bigint; rows: bigint }>(
    `SELECT c.partition, c.next_offset AS checkpoint,
            (SELECT count(*) FROM journal_event e
              WHERE e.topic = c.topic AND e.partition = c.partition) AS rows
       FROM projection_checkpoint c WHERE c.consumer_group = $1 AND c.topic = $2
      ORDER BY 1`,
    [group, topic],
  );
  return rows;
}

async function applied(): Promise<number> {
  const { rows } = await db.pool.query<{ n: bigint }>('SELECT count(*) AS n FROM journal_event');
  return Number(rows[0]!.n);
}

test('SIGKILL mid-stream, restart: no gap, no duplicate', async () => {
  const topic = await k.topic('kill', 3);
  const group = k.group('kill');
  await k.publish(
    topic,
    Array.from({ length: EVENTS }, (_, i) => outcome(`kill-${i}`, 50_000 + i)),
  );
  const first = startWorker(topic, group);
  await waitFor('the worker applying events', async () => (await applied()) >= 300, 30_000);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const atKill = await applied();
  process.stdout.write(`killed at ${atKill} of ${EVENTS} events\n`);
  expect(atKill).toBeLessThan(EVENTS); // killed mid-way, or the test proves nothing
  for (const row of await perPartition(group, topic)) {
    expect(row.rows).toBe(row.checkpoint);
  }

  const second = startWorker(topic, group);
  try {
    await waitFor('all events applied', async () => (await applied()) >= EVENTS, 40_000);
    const high = await k.highWatermarks(topic);
    await waitFor('checkpoints at the high watermarks', async () =>
      (await perPartition(group, topic)).every((row) => row.checkpoint === high.get(row.partition)),
    );
  } finally {
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
  }
  expect(second.exitCode).toBe(0);
  const rows = await perPartition(group, topic);
  expect(rows.reduce((sum, row) => sum + row.rows, 0n)).toBe(BigInt(EVENTS));
  for (const row of rows) expect(row.rows).toBe(row.checkpoint);
  const { rows: counts } = await db.pool.query(
    `SELECT (SELECT count(*) FROM journal_entry) AS entries,
            (SELECT count(*) FROM journal_line) AS lines,
            (SELECT count(*) FROM journal_transfer) AS transfers`,
  );
  expect(counts[0]).toEqual({
    entries: BigInt(EVENTS),
    lines: BigInt(2 * EVENTS),
    transfers: BigInt(EVENTS),
  });
  expect(atKill).toBeGreaterThanOrEqual(300);
}, 90_000);
