/**
 * The change feed's end-to-end lag: `npx tsx load/bench/change-feed.ts [--rate 2000]
 * [--seconds 30] [--accounts 1000] [--batch 20] [--concurrency 2]` (npm run bench:changefeed).
 *
 * Transfers are committed to the stack's TigerBeetle cluster open-loop at `--rate` per second (one
 * transfer per journal, as a two-line journal is), in requests of `--batch`, and travel the whole
 * path the projections read: TigerBeetle → `tigerbeetle amqp` → RabbitMQ → relay → Kafka change
 * topic → a projection runner with the worker's change projections, in a fresh PostgreSQL schema
 * that starts at the topic's current end. Each event's lag is measured in three segments:
 *
 * - feed:    Kafka record timestamp (the relay's send) − TigerBeetle timestamp (the commit);
 * - project: PostgreSQL commit of its batch − Kafka record timestamp;
 * - total:   PostgreSQL commit − TigerBeetle timestamp.
 *
 * TigerBeetle timestamps are the cluster's wall clock on this same machine, so the segments are
 * comparable. Everything shares the 2 cores: the cluster, RabbitMQ, the CDC job, the relay, Kafka,
 * PostgreSQL and this process (load and runner).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../../core/config';
import { createKafkaClient } from '../../events/kafka';
import { migrateUp } from '../../core/postgres/migrate';
import { createDirectPool } from '../../core/postgres/pool';
import { openLedger } from '../../ledger/open';
import { CreateAccountStatus, CreateTransferStatus, type Transfer } from '../../ledger/port';
import { newAccount, newTransfer } from '../../ledger/records';
import { ledgerEnv } from '../../infra/tigerbeetle/local';
import { CHANGE_PROJECTIONS } from '../../projections/src/all';
import { changeFeed, type ProjectedChange } from '../../projections/src/changes/feed';
import type { Projection } from '../../projections/src/projection';
import { type CommitReport, ProjectionRunner } from '../../projections/src/runner';
import { runCommand } from '../runner/settings';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '30' },
    accounts: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '2' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const ACCOUNTS = Number(args.accounts);
const BATCH = Number(args.batch);
const RUN = randomBytes(4).toString('hex');
const LEDGER = 77;
const NS_PER_MS = 1_000_000n;

function percentiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return `p50 ${at(0.5).toFixed(0)} ms, p99 ${at(0.99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const config = loadConfig(ledgerEnv(process.env));
  if (config.TB_ADDRESSES === undefined) throw new Error('no TigerBeetle cluster: stack up first');
  const logger = pino({ level: 'warn' });
  const { ledger } = await openLedger(config);
  const kafka = createKafkaClient(config.KAFKA_BROKERS, 'change-feed-bench', logger);
  const admin = kafka.admin();
  await admin.connect();
  const schema = `bench_changes_${RUN}`;
  const adminPool = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1 });
  await adminPool.query(`CREATE SCHEMA ${schema}`);
  const pool = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 8, searchPath: [schema] });
  let runner: ProjectionRunner<ProjectedChange> | null = null;
  try {
    await migrateUp(pool);
    // Start at the topic's end: the history before this run is not this run's lag.
    const group = `bench-changes-${RUN}`;
    const topic = config.KAFKA_CHANGES_TOPIC;
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
      await pool.query(
        `INSERT INTO projection_checkpoint (consumer_group, topic, partition, next_offset)
         VALUES ($1, $2, $3, $4)`,
        [group, topic, partition, high],
      );
    }

    // Accounts of this run only: their events are the ones measured.
    const base = BigInt(`0x${RUN}`) << 64n;
    const ids = Array.from({ length: ACCOUNTS }, (_, i) => base + BigInt(i + 1));
    const ours = new Set(ids.map(String));
    for (let i = 0; i < ids.length; i += 8_000) {
      const results = await ledger.createAccounts(
        ids.slice(i, i + 8_000).map((id) => newAccount({ id, ledger: LEDGER, code: 1 })),
      );
      if (results.some((r) => r.status !== CreateAccountStatus.created)) {
        throw new Error('account creation failed');
      }
    }

    // The runner: the worker's change projections, plus a probe that keeps each applied event's
    // TigerBeetle and Kafka timestamps until its transaction commits.
    const applying = new Map<number, { tbMs: number; kafkaMs: number }[]>();
    const lags = { feed: [] as number[], project: [] as number[], total: [] as number[] };
    const probe: Projection<ProjectedChange> = {
      name: 'bench-probe',
      tables: [],
      apply: async (_tx, records) => {
        const list: { tbMs: number; kafkaMs: number }[] = [];
        for (const r of records) {
          if (r.side !== 'debit' || !ours.has(r.change.debitAccount.id.toString())) continue;
          list.push({
            tbMs: Number(r.change.timestamp / NS_PER_MS),
            kafkaMs: Number(r.timestamp),
          });
        }
        applying.set(records[0]!.partition, list);
      },
    };
    // Where the projection time goes: each projection's share of the runner's transactions.
    const spentMs = new Map<string, number>();
    const timed = (p: Projection<ProjectedChange>): Projection<ProjectedChange> => ({
      ...p,
      apply: async (tx, records) => {
        const t0 = performance.now();
        await p.apply(tx, records);
        spentMs.set(p.name, (spentMs.get(p.name) ?? 0) + performance.now() - t0);
      },
    });
    const onCommit = (report: CommitReport) => {
      for (const { tbMs, kafkaMs } of applying.get(report.partition) ?? []) {
        lags.feed.push(kafkaMs - tbMs);
        lags.project.push(report.committedAtMs - kafkaMs);
        lags.total.push(report.committedAtMs - tbMs);
      }
      applying.delete(report.partition);
    };
    runner = new ProjectionRunner<ProjectedChange>({
      kafka,
      pool,
      topic,
      groupId: group,
      feed: changeFeed,
      projections: [...CHANGE_PROJECTIONS.map(timed), probe],
      logger,
      // The worker's limits but for the partitions applied at once (PROJECTIONS_PARTITIONS_CONCURRENCY).
      limits: { partitionsConcurrency: Number(args.concurrency) },
      onCommit,
    });
    await runner.start();
    // Warm up: one transfer through the whole path, so the runner's group join (seconds) is not
    // counted as the first events' lag.
    const warmup = await ledger.createTransfers([
      newTransfer({
        id: base + (1n << 32n),
        debit_account_id: ids[0]!,
        credit_account_id: ids[1]!,
        amount: 1n,
        ledger: LEDGER,
        code: 1,
      }),
    ]);
    if (warmup[0]?.status !== CreateTransferStatus.created) throw new Error('warm-up failed');
    const warmupDeadline = Date.now() + 60_000;
    while (lags.total.length === 0) {
      if (Date.now() > warmupDeadline) throw new Error('the warm-up transfer was not projected');
      await sleep(20);
    }
    for (const list of Object.values(lags)) list.length = 0;
    spentMs.clear();

    const total = RATE * SECONDS;
    let sent = 0;
    let next = 1n;
    const started = performance.now();
    const inflight: Promise<unknown>[] = [];
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
      while (sent < due) {
        const count = Math.min(BATCH, due - sent);
        const transfers: Transfer[] = [];
        for (let i = 0; i < count; i++) {
          const debit = ids[(sent + i) % ACCOUNTS]!;
          const credit = ids[(sent + i + 1) % ACCOUNTS]!;
          transfers.push(
            newTransfer({
              id: base + (1n << 32n) + next++,
              debit_account_id: debit,
              credit_account_id: credit,
              amount: 1n,
              ledger: LEDGER,
              code: 1,
            }),
          );
        }
        inflight.push(
          ledger.createTransfers(transfers).then((results) => {
            const failed = results.find((r) => r.status !== CreateTransferStatus.created);
            if (failed !== undefined) throw new Error(`transfer failed: ${failed.status}`);
          }),
        );
        sent += count;
      }
      await sleep(5);
    }
    await Promise.all(inflight);
    const sendS = (performance.now() - started) / 1000;
    const deadline = Date.now() + 120_000;
    while (lags.total.length < total && Date.now() < deadline) await sleep(50);
    console.log(
      `committed ${total} transfers in ${sendS.toFixed(1)} s (${Math.round(total / sendS)}/s, ` +
        `target ${RATE}/s); ${lags.total.length} projected`,
    );
    if (lags.total.length < total) {
      throw new Error(`only ${lags.total.length} of ${total} events projected within 120 s`);
    }
    console.log(
      `feed    (TigerBeetle → CDC → RabbitMQ → relay → Kafka): ${percentiles(lags.feed)}`,
    );
    console.log(
      `project (Kafka → runner → PostgreSQL commit):           ${percentiles(lags.project)}`,
    );
    console.log(
      `total   (TigerBeetle commit → PostgreSQL commit):       ${percentiles(lags.total)}`,
    );
    const spent = [...spentMs].map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`);
    console.log(`projection time (summed over partitions): ${spent.join(', ')}`);
  } finally {
    await runner?.stop();
    await pool.end();
    await adminPool.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await adminPool.end();
    await admin.disconnect();
    await ledger.close();
  }
}

runCommand(main);
