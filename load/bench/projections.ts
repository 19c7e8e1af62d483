/**
 * Projection benchmark: `npx tsx load/bench/projections.ts [--backlog 50000] [--partitions 6]
 * [--workers 1,2] [--concurrency 2] [--batch 5000] [--accounts 1000] [--credit-accounts 1]
 * [--no-floor] [--statements] [--cpu-prof DIR] [--rate 5000 --seconds 0]` (npm run bench:projections).
 *
 * What the worker drains, both feeds at once, with every projection of each
 * (projections/src/all.ts): `--backlog` journal outcome events (events/synthetic.ts) on a fresh
 * outcome topic, written as the bridge writes them (KAFKA_OUTCOMES_FORMAT: batch envelopes), and
 * the ledger change event of each same transfer (events/synthetic-change.ts), relayed as the
 * change relay does (two records, keyed by each account) on a fresh change topic.
 *
 * Passes, in this one run (the same backlog, each pass a fresh schema and consumer group):
 * - floor: one worker with no projection at all (Kafka, decoding, a transaction per batch and its
 *   checkpoint): the baseline every projection adds to (`--no-floor` skips it);
 * - one pass per `--workers` count: that many worker processes (`startWorker`, each a member of
 *   the feeds' consumer groups owning its partitions), forked from here.
 *
 * Each pass prints events/s per feed and combined (from the first commit to the feed's last; with
 * several workers, from when both groups are stable with all of them, counting what is left),
 * CPU per event of each process (workers; PostgreSQL primary and replica with their backends,
 * WAL sender and replay; Kafka; this process) and of the machine, and where the workers' time
 * goes: each projection's summed `apply` time. `--seconds N` then offers `--rate` ledger events/s
 * (an outcome and a change event each) open-loop to the last pass's workers: lag p50/p99/max.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type Admin, Partitioners, type Producer } from 'kafkajs';
import type pg from 'pg';
import pino from 'pino';
import { changeRecords } from '../../changefeed/records';
import { loadConfig } from '../../core/config';
import { migrateUp } from '../../core/postgres/migrate';
import { createDirectPool } from '../../core/postgres/pool';
import { encodeChange } from '../../events/change';
import { createKafkaClient, ensureTopic } from '../../events/kafka';
import { OutcomePartitioner, planSend } from '../../events/records';
import { encodeOutcome } from '../../events/schema';
import { syntheticOutcome } from '../../events/synthetic';
import { syntheticChange } from '../../events/synthetic-change';
import { printPass, type PassResult, percentile } from './projections-report';
import { machineMs, pidFrom, pidsMs, treesMs } from './proc-cpu';
import type { ApplyTime, WorkerMessage } from './projections-worker';

const { values: args } = parseArgs({
  options: {
    backlog: { type: 'string', default: '50000' },
    partitions: { type: 'string', default: '6' },
    workers: { type: 'string', default: '1,2' },
    concurrency: { type: 'string', default: '2' },
    batch: { type: 'string', default: '5000' },
    accounts: { type: 'string', default: '1000' },
    'credit-accounts': { type: 'string', default: '1' },
    'no-floor': { type: 'boolean', default: false },
    /** Also time each projection's statements (adds a little overhead per statement). */
    statements: { type: 'boolean', default: false },
    /** Write a V8 CPU profile of each worker of each pass into this folder. */
    'cpu-prof': { type: 'string' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '0' },
  },
});
const BACKLOG = Number(args.backlog);
const FORMAT = loadConfig().KAFKA_OUTCOMES_FORMAT;
const PARTITIONS = Number(args.partitions);
const WORKERS = args.workers.split(',').map(Number);
const SYNTHETIC = {
  accounts: Number(args.accounts),
  creditAccounts: Number(args['credit-accounts']),
};
/** A pass that has not drained by then is reported as stuck (ms). */
const PASS_TIMEOUT_MS = 150_000;
const TICK_MS = 10;
const RUN = randomBytes(4).toString('hex');
const ROOT = path.resolve(__dirname, '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type FeedName = 'outcomes' | 'changes';
interface Topics {
  outcomes: string;
  changes: string;
}

/** Publishes ledger events `from` … `from + count − 1` to both topics. */
async function publish(producer: Producer, topics: Topics, from: number, count: number) {
  const outcomes = [];
  const changes = [];
  for (let sequence = from; sequence < from + count; sequence++) {
    outcomes.push(
      encodeOutcome(syntheticOutcome(sequence, { run: `bench-${RUN}`, accounts: 1_000 })),
    );
    const change = syntheticChange(sequence, SYNTHETIC);
    changes.push(...changeRecords(change, encodeChange(change)));
  }
  // As the bridge writes them: batch envelopes by default (events/records.ts).
  const { records } = planSend(
    outcomes,
    new OutcomePartitioner(topics.outcomes, PARTITIONS),
    FORMAT,
  );
  await producer.sendBatch({
    acks: -1,
    topicMessages: [
      { topic: topics.outcomes, messages: records.map((record) => ({ ...record })) },
      { topic: topics.changes, messages: changes },
    ],
  });
}

/** The processes whose CPU a pass accounts for, besides its workers. */
function servicePids(): { name: string; pid: number }[] {
  const run = path.join(ROOT, '.run');
  const found = [
    { name: 'postgres primary', pid: pidFrom(path.join(run, 'postgres/primary/postmaster.pid')) },
    { name: 'postgres replica', pid: pidFrom(path.join(run, 'postgres/replica1/postmaster.pid')) },
    { name: 'kafka', pid: pidFrom(path.join(run, 'kafka/kafka.pid')) },
  ];
  return found.flatMap((f) => (f.pid === null ? [] : [{ name: f.name, pid: f.pid }]));
}

interface Sample {
  atMs: number;
  backends: Map<number, number>;
  trees: number[];
  self: number;
  machine: { busy: number; total: number };
}

/**
 * The PostgreSQL backends serving this pass's workers: connections to the bench's database opened
 * since the pass started (the bench's own excepted), refreshed while the pass runs. Their CPU is
 * the database's work for these projections alone, whatever else the shared server does.
 */
const backends = { pids: [] as number[] };

async function pollBackends(admin: pg.Pool, sinceMs: number, until: () => boolean): Promise<void> {
  while (!until()) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend'
          AND backend_start >= to_timestamp($1 / 1000.0) AND pid <> pg_backend_pid()`,
      [sinceMs],
    );
    backends.pids = rows.map((row) => row.pid);
    await sleep(200);
  }
}

function sample(pids: readonly number[]): Sample {
  const self = process.cpuUsage();
  return {
    atMs: Date.now(),
    backends: pidsMs(backends.pids),
    trees: treesMs(pids),
    self: (self.user + self.system) / 1000,
    machine: machineMs(),
  };
}

interface PassOptions {
  label: string;
  workers: number;
  none: boolean;
  topics: Topics;
  /** Ledger events published when the pass starts: each an outcome and two change records. */
  events: number;
  kafkaAdmin: Admin;
  /** After draining: offer `rate` events/s for `seconds` and measure the lag. */
  steady?: { producer: Producer; rate: number; seconds: number };
}

function workerEnv(pass: PassOptions, schema: string, group: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_OUTCOMES_TOPIC: pass.topics.outcomes,
    KAFKA_CHANGES_TOPIC: pass.topics.changes,
    KAFKA_OUTCOMES_PARTITIONS: String(PARTITIONS),
    KAFKA_CHANGES_PARTITIONS: String(PARTITIONS),
    PROJECTIONS_GROUP_ID: group,
    PROJECTIONS_DATABASE_SCHEMA: schema,
    PROJECTIONS_MIGRATE: 'false',
    PROJECTIONS_RECONCILE_INTERVAL_MS: '0',
    PROJECTIONS_METRICS_PORT: '0',
    PROJECTIONS_BATCH_EVENTS_MAX: args.batch,
    PROJECTIONS_PARTITIONS_CONCURRENCY: args.concurrency,
    BENCH_PROJECTIONS: pass.none ? 'none' : 'all',
    BENCH_STATEMENTS: args.statements ? '1' : '0',
    // Each commit's record lags; the parent keeps them only during the steady phase.
    BENCH_LAGS: '1',
    LOG_LEVEL: 'warn',
  };
}

/** Progress of a pass, fed by its workers' messages. */
class Progress {
  readonly applied = { outcomes: 0, changes: 0 };
  readonly lastMs = { outcomes: 0, changes: 0 };
  firstMs = 0;
  first: Sample | null = null;
  /** Applied per feed when the window opened (`settle`): the rates count what came after. */
  base = { outcomes: 0, changes: 0 };
  lags: number[] | null = null;
  readonly applies: ApplyTime[] = [];
  done = 0;
  loaded = 0;

  constructor(private readonly pids: () => number[]) {}

  on(message: WorkerMessage): void {
    if (message.type === 'commit') {
      if (this.firstMs === 0) {
        this.firstMs = message.atMs;
        this.first = sample(this.pids());
      }
      this.applied[message.feed] += message.events;
      this.lastMs[message.feed] = Math.max(this.lastMs[message.feed], message.atMs);
      if (this.lags !== null && message.lagsMs !== undefined) this.lags.push(...message.lagsMs);
    } else if (message.type === 'loaded') {
      this.loaded += 1;
    } else if (message.type === 'done') {
      this.applies.push(...message.applies);
      this.done += 1;
    }
  }

  /** Opens the measured window now (every worker in both groups): what ran before is left out. */
  settle(): void {
    if (this.firstMs === 0) return;
    this.firstMs = Date.now();
    this.first = sample(this.pids());
    this.base = { ...this.applied };
  }

  reached(events: number): boolean {
    return this.applied.outcomes >= events && this.applied.changes >= 2 * events;
  }
}

/** Until each consumer group is Stable with `members` members. */
async function waitForGroups(admin: Admin, groups: string[], members: number): Promise<void> {
  const deadline = Date.now() + PASS_TIMEOUT_MS;
  for (;;) {
    const { groups: described } = await admin.describeGroups(groups);
    if (described.every((g) => g.state === 'Stable' && g.members.length === members)) return;
    if (Date.now() > deadline) throw new Error(`timed out: groups ${groups} to stabilize`);
    await sleep(100);
  }
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PASS_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

async function steadyLag(pass: PassOptions, progress: Progress): Promise<string> {
  const { producer, rate, seconds } = pass.steady!;
  progress.lags = [];
  const target = rate * seconds;
  const start = performance.now();
  let sent = 0;
  while (sent < target) {
    const due = Math.min(target, Math.floor(((performance.now() - start) / 1000) * rate)) - sent;
    // At most 1,000 a send, as the backlog: a stall must not make one record above the limit.
    for (let done = 0; done < due; done += 1_000) {
      await publish(producer, pass.topics, pass.events + sent + done, Math.min(1_000, due - done));
    }
    sent += Math.max(0, due);
    await sleep(TICK_MS);
  }
  await waitFor(() => progress.reached(pass.events + target), 'the steady phase to drain');
  const sorted = progress.lags.sort((a, b) => a - b);
  return (
    `steady: offered ${rate} ledger events/s for ${seconds} s (an outcome + 2 change records ` +
    `each); lag p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, ` +
    `max ${sorted.at(-1)} ms`
  );
}

/**
 * The control plane's accounts the synthetic journals name (1,000 debit accounts of 100 holders,
 * the house account), so the holder dashboard has its real work.
 */
async function createAccounts(pool: pg.Pool): Promise<void> {
  await pool.query(
    `INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags)
     SELECT 'acc-' || i, 10000 + i, 'bench ' || i, 'holder-' || (i % 100), 'liability', 'USD', 0
       FROM generate_series(0, 999) AS i
     UNION ALL SELECT 'acc-house', 1, 'house', 'house', 'house', 'USD', 0`,
  );
}

/** A worker's log lines, less kafkajs's expected ones while the group rebalances. */
function forwardLogs(child: ChildProcess): void {
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.includes('rebalancing')) console.log(line);
  });
}

async function runPass(pass: PassOptions, index: number): Promise<PassResult> {
  const config = loadConfig();
  const schema = `bench_projections_${RUN}_${index}`;
  const group = `bench-${RUN}-${index}`;
  const admin = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1, searchPath: [schema] });
  await migrateUp(pool);
  await createAccounts(pool);
  await pool.end();
  const services = servicePids();
  const children = Array.from({ length: pass.workers }, () =>
    fork(path.join(__dirname, 'projections-worker.ts'), [], {
      execArgv: [
        '--import',
        'tsx',
        ...(args['cpu-prof'] === undefined
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`]),
      ],
      env: workerEnv(pass, schema, group),
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    }),
  );
  for (const child of children) forwardLogs(child);
  const pids = () => [...children.map((c) => c.pid!), ...services.map((s) => s.pid)];
  const progress = new Progress(pids);
  for (const child of children) child.on('message', (m: WorkerMessage) => progress.on(m));
  let startMs = Date.now();
  let steady: string | null = null;
  let end: Sample | undefined;
  let stopped = false;
  try {
    await waitFor(() => progress.loaded === children.length, 'the workers to load');
    startMs = Date.now();
    void pollBackends(admin, startMs - 1_000, () => end !== undefined || stopped).catch(
      () => undefined,
    );
    for (const child of children) child.send({ type: 'go' });
    if (pass.workers > 1) {
      // The first worker to join takes every partition until the others join: the window opens
      // once both groups are stable with all N members.
      await waitFor(() => progress.firstMs > 0, 'a first commit');
      await waitForGroups(pass.kafkaAdmin, [group, `${group}.changes`], pass.workers);
      progress.settle();
    }
    await waitFor(() => progress.reached(pass.events), `pass ${pass.label} to drain`);
    end = sample(pids());
    if (pass.steady !== undefined) steady = await steadyLag(pass, progress);
  } finally {
    stopped = true;
    for (const child of children) child.send({ type: 'stop' });
    await waitFor(() => progress.done === children.length, 'the workers to stop').catch(() =>
      children.forEach((child) => child.kill('SIGKILL')),
    );
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
  const names = [...children.map((_, i) => `worker ${i + 1}`), ...services.map((s) => s.name)];
  return { ...pass, startMs, progress, first: progress.first!, end: end!, names, steady };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: 'warn' });
  const kafka = createKafkaClient(config.KAFKA_BROKERS, 'projections-bench', logger);
  const admin = kafka.admin();
  await admin.connect();
  const topics = {
    outcomes: `bench.projections.${RUN}.outcomes`,
    changes: `bench.projections.${RUN}.changes`,
  };
  await ensureTopic(admin, topics.outcomes, PARTITIONS, 1);
  await ensureTopic(admin, topics.changes, PARTITIONS, 1);
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const common = { topics, kafkaAdmin: admin };
  const passes: Omit<PassOptions, 'events'>[] = [
    ...(args['no-floor'] ? [] : [{ ...common, label: 'floor', workers: 1, none: true }]),
    ...WORKERS.map((n) => ({ ...common, label: `${n} worker(s)`, workers: n, none: false })),
  ];
  const groups = passes.map((_, i) => `bench-${RUN}-${i}`);
  try {
    await producer.connect();
    const published = performance.now();
    for (let i = 0; i < BACKLOG; i += 1_000) {
      await publish(producer, topics, i, Math.min(1_000, BACKLOG - i));
    }
    console.log(
      `published ${BACKLOG} ledger events (${BACKLOG} outcomes + ${2 * BACKLOG} change records) ` +
        `in ${((performance.now() - published) / 1000).toFixed(1)} s; ${PARTITIONS} partitions ` +
        `per topic, batch ${args.batch}, partitions concurrency ${args.concurrency}`,
    );
    for (const [index, pass] of passes.entries()) {
      const last = index === passes.length - 1;
      const seconds = Number(args.seconds);
      const steady =
        last && seconds > 0 ? { producer, rate: Number(args.rate), seconds } : undefined;
      const result = await runPass({ ...pass, events: BACKLOG, steady }, index);
      printPass(result, { feeds: ['outcomes', 'changes'] as FeedName[] });
    }
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [...Object.values(topics)] }).catch(() => undefined);
    await admin
      .deleteTopics({ topics: Object.values(topics).map((t) => `${t}.dlq`) })
      .catch(() => undefined);
    for (const group of groups) {
      await admin.deleteGroups([group, `${group}.changes`]).catch(() => undefined);
    }
    await admin.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
