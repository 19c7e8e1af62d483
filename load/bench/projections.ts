/**
 * Projection benchmark: `npx tsx load/bench/projections.ts [--rate 5000] [--seconds 20]
 * [--backlog 50000] [--partitions 6] [--concurrency 2] [--batch 5000]`.
 *
 * 1. Drain: `--backlog` outcome events are published first, then a runner applies them with the
 *    worker's projections (journal store, hash chain, holder dashboard — OUTCOME_PROJECTIONS): sustained
 *    projection throughput (events/s into PostgreSQL).
 * 2. Steady: events are published open-loop at `--rate` for `--seconds` while the runner keeps up:
 *    lag per event = PostgreSQL commit time − Kafka record timestamp (p50/p99/max).
 *
 * Everything runs in this one process (publisher and runner share the CPU, as they would share
 * the machine), against a fresh topic and a fresh PostgreSQL schema that are dropped at the end.
 * The schema needs `search_path`, so the runner uses a direct connection, not PgBouncer.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Partitioners } from 'kafkajs';
import pino from 'pino';
import { loadConfig } from '../../core/config';
import { createKafkaClient, ensureTopic } from '../../events/kafka';
import { encodeOutcome } from '../../events/schema';
import { migrateUp } from '../../core/postgres/migrate';
import { createDirectPool } from '../../core/postgres/pool';
import { OUTCOME_PROJECTIONS } from '../../projections/src/all';
import { type CommitReport, ProjectionRunner } from '../../projections/src/runner';
import { syntheticOutcome } from '../../events/synthetic';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '20' },
    backlog: { type: 'string', default: '50000' },
    partitions: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '2' },
    batch: { type: 'string', default: '5000' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const BACKLOG = Number(args.backlog);
const PARTITIONS = Number(args.partitions);
/** Open-loop sends happen on this tick (ms); each carries rate × tick events. */
const TICK_MS = 10;

const RUN = randomBytes(4).toString('hex');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: 'warn' });
  const kafka = createKafkaClient(config.KAFKA_BROKERS, 'projections-bench', logger);
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench.projections.${RUN}`;
  await ensureTopic(admin, topic, PARTITIONS, 1);
  const schema = `bench_projections_${RUN}`;
  const adminPool = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1 });
  await adminPool.query(`CREATE SCHEMA ${schema}`);
  const pool = createDirectPool({
    url: config.DATABASE_DIRECT_URL,
    max: 8,
    searchPath: [schema],
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  let sequence = 0;
  const send = async (count: number) => {
    const messages = [];
    for (let i = 0; i < count; i++) {
      const m = encodeOutcome(
        syntheticOutcome(sequence++, { run: `bench-${RUN}`, accounts: 1_000 }),
      );
      messages.push({ key: m.key, value: m.value, headers: { ...m.headers } });
    }
    await producer.send({ topic, acks: -1, messages });
  };
  let runner: ProjectionRunner | null = null;
  try {
    await migrateUp(pool);
    await producer.connect();
    for (let i = 0; i < BACKLOG; i += 2_000) await send(Math.min(2_000, BACKLOG - i));
    let applied = 0;
    let lagsMs: number[] | null = null;
    let firstCommitMs = 0;
    const onCommit = (report: CommitReport) => {
      if (applied === 0) firstCommitMs = performance.now();
      applied += report.events;
      if (lagsMs !== null) {
        for (const at of report.recordTimestampsMs) lagsMs.push(report.committedAtMs - at);
      }
    };
    runner = new ProjectionRunner({
      kafka,
      pool,
      topic,
      groupId: `bench-${RUN}`,
      projections: OUTCOME_PROJECTIONS,
      logger,
      limits: {
        partitionsConcurrency: Number(args.concurrency),
        batchEventsMax: Number(args.batch),
        fetchWaitMs: 20,
      },
      onCommit,
    });
    const drainStart = performance.now();
    await runner.start();
    while (applied < BACKLOG) await new Promise((resolve) => setTimeout(resolve, 20));
    const drainS = (performance.now() - firstCommitMs) / 1000;
    const joinS = (firstCommitMs - drainStart) / 1000;
    console.log(
      `drain: ${BACKLOG} events in ${drainS.toFixed(2)} s after the first commit = ` +
        `${Math.round(BACKLOG / drainS)} events/s (start + group join ${joinS.toFixed(2)} s)`,
    );

    lagsMs = [];
    const perTick = (RATE * TICK_MS) / 1000;
    const steadyStart = performance.now();
    let owed = 0;
    let sent = 0;
    const target = RATE * SECONDS;
    while (sent < target) {
      const due = ((performance.now() - steadyStart) / 1000) * RATE;
      owed = Math.min(target, Math.floor(due)) - sent;
      if (owed > 0) {
        await send(owed);
        sent += owed;
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    const sendS = (performance.now() - steadyStart) / 1000;
    while (applied < BACKLOG + target) await new Promise((resolve) => setTimeout(resolve, 20));
    const steadyS = (performance.now() - steadyStart) / 1000;
    const sorted = lagsMs.sort((a, b) => a - b);
    console.log(
      `steady: offered ${RATE}/s (${perTick} per ${TICK_MS} ms tick), published ` +
        `${Math.round(target / sendS)}/s, applied ${target} in ${steadyS.toFixed(2)} s; ` +
        `lag p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, ` +
        `max ${sorted.at(-1)} ms`,
    );
    const stats = runner.stats();
    console.log(
      `runner: ${stats.batchesCommitted} transactions, ` +
        `${Math.round(stats.eventsApplied / stats.batchesCommitted)} events/transaction, ` +
        `${stats.batchesFailed} failed, ${stats.batchesFenced} fenced`,
    );
  } finally {
    await runner?.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.deleteGroups([`bench-${RUN}`]).catch(() => undefined);
    await admin.disconnect();
    await pool.end();
    await adminPool.query(`DROP SCHEMA ${schema} CASCADE`);
    await adminPool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
