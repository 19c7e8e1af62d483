/**
 * Proves issue 13's promise on the stack's real path — TigerBeetle cluster → `tigerbeetle amqp`
 * → RabbitMQ → relay → Kafka change topic → projection worker → PostgreSQL: the feed loses
 * nothing across a restart of each hop. A steady stream of raw transfers (~250/s straight to the
 * cluster; holds posted, voided, and left to expire after 1 s among them) runs while, one at a
 * time, each hop is restarted as it fails or is restarted in operation: the CDC job SIGKILLed
 * (the stack's supervisor starts another), the relay and the worker SIGKILLed mid-stream (a new
 * process of each takes over; the relay's unacknowledged window is redelivered), Kafka and
 * RabbitMQ stopped and started with the stack's own functions (infra/lib). After each, the time
 * until everything committed up to the restart's end is in PostgreSQL is measured. Then the
 * stream stops, and everything is counted against the ledger: every event once in
 * `ledger_change` by transfer id, type and timestamp, every expiry once, every statement row,
 * the daily summary's counts, each balance equal to lookup_accounts, the change chain verifying,
 * and `reconcile` reporting 0 mismatches with every transfer a raw movement. The relay and the
 * worker run as processes of their own (so they can be killed) on this run's queue and topic.
 * Whatever happens, the stack is left running: `stack.sh up` brings back what a failure left down.
 */
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import type { QueryResultRow } from 'pg';
import pino from 'pino';
import { createKafkaClient } from '../../../events/kafka';
import { closePools, createPools, type Pools } from '../../../core/postgres/pool';
import { verifyChains } from '../../../projections/src/hash-chain/verify';
import type { ReconcileReport } from '../../../projections/src/reconcile/report';
import { reconcileCaughtUp } from '../../support/changefeed/live-feed';
import { ChildService, childEnv } from '../../support/changefeed/child-service';
import {
  expectBalances,
  expectEveryEventOnce,
  expectStatements,
  expectSummaryCountsEachEventOnce,
  type CountedRun,
} from '../../support/changefeed/feed-counts';
import { AmqpHarness, deleteTopics } from '../../support/changefeed/harness';
import { TransferStream } from '../../support/changefeed/transfer-stream';
import { call, type Harness, startHarness } from '../../support/http/harness';
import {
  cdcJobPid,
  cdcPublishing,
  ensureStackUp,
  stackStep,
} from '../../support/infra/stack-services';

const RATE_PER_S = 250;
const TICK_MS = 40;
const ACCOUNTS = 12;
/** The raw transfers' code, as the raw-transfer tests use. */
const TRANSFER_CODE = 900;
/** The stream runs this long before the first restart, and between two. */
const STEADY_MS = 4_000;
/** The feed has projected everything committed before a restart's end within this. */
const CATCH_UP_TIMEOUT_MS = 60_000;
/** A relay or worker process is up (tsx compiles on start: seconds on a busy 2-core box). */
const PROCESS_START_TIMEOUT_MS = 60_000;
/** The supervisor's backoff reaches 30 s while RabbitMQ is away: the job is back within 60. */
const CDC_BACK_TIMEOUT_MS = 60_000;
/** stack.sh allows 60 s to stop each broker, 120 s (Kafka) and 90 s (RabbitMQ) to start it. */
const BROKER_STOP_TIMEOUT_MS = 70_000;
const BROKER_START_TIMEOUT_MS = 130_000;
/** A killed worker's partitions go to the new one after its session expires (default 30 s). */
const WORKER_SESSION_TIMEOUT_MS = 10_000;
/** TigerBeetle expires a 1 s hold within a few seconds. */
const EXPIRY_TIMEOUT_MS = 30_000;
const POLL_MS = 100;
/** Between unbinding the run's queue and deleting it (ms). */
const UNBIND_SETTLE_MS = 500;
/** The relay is killed while it holds deliveries; at this rate it mostly does, within this. */
const HOLDING_WAIT_MS = 5_000;
const HOLDING_POLL_MS = 10;
/** What the relay and the worker log when Kafka is away (changefeed/relay.ts, runner.ts). */
const SEND_FAILED = 'Kafka send failed; nothing acknowledged';
const CONSUMER_CRASHED = 'Kafka consumer crashed; restarting';
/** What the relay logs when RabbitMQ refuses it (changefeed/amqp-source.ts). */
const CONNECT_FAILED = 'RabbitMQ connection failed; retrying';
const SEED = Number(process.env.FEED_RESTARTS_SEED ?? Date.now() % 2 ** 32);

const silent = pino({ level: 'silent' });
const run = randomUUID().slice(0, 8);
const queue = `test.cdc.restarts.${run}`;
const topic = `test.changes.restarts.${run}`;

let h: Harness;
let pools: Pools;
let admin: Admin;
let relay: ChildService | null = null;
let worker: ChildService | null = null;
let stream: TransferStream | null = null;
let accountIds: bigint[] = [];

interface HopFigures {
  hop: string;
  restartMs: number;
  /** Events committed while the hop restarted. */
  committedDuring: number;
  /** From the restart's end until PostgreSQL holds everything committed up to it. */
  catchUpMs: number;
  detail: string;
}
const figures: HopFigures[] = [];
/** What the run measured besides the hops, printed after them. */
const notes: string[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;

/** PostgreSQL's undefined_table: the schema was dropped under the run. */
const UNDEFINED_TABLE = '42P01';
const EMPTIED =
  'ledger_test was emptied by another test run during this one (startHarness drops its schema): ' +
  'run the e2e tests one at a time, alone on the stack';

/** A query on the run's database, saying so plainly when another run emptied it meanwhile. */
async function query<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  try {
    return (await pools.primary.query<R>(sql, params)).rows;
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNDEFINED_TABLE) throw error;
    throw new Error(`${EMPTIED}: ${(error as Error).message}`);
  }
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    stream?.check();
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(POLL_MS);
  }
}

async function startRelay(): Promise<ChildService> {
  const started = ChildService.start(
    'relay',
    'test/support/changefeed/relay-process.ts',
    childEnv(h.env, {
      AMQP_CDC_QUEUE: queue,
      KAFKA_CHANGES_TOPIC: topic,
      RELAY_PREFETCH: '512',
      RELAY_METRICS_PORT: '0',
      RELAY_TEST_QUEUE_EXPIRES_MS: '120000',
      LOG_LEVEL: 'info',
    }),
  );
  await started.waitForLog('consuming', PROCESS_START_TIMEOUT_MS);
  return started;
}

async function startWorker(): Promise<ChildService> {
  const started = ChildService.start(
    'worker',
    'projections/src/main.ts',
    childEnv(h.env, {
      PROJECTIONS_MIGRATE: 'false',
      PROJECTIONS_METRICS_PORT: '0',
      PROJECTIONS_RECONCILE_INTERVAL_MS: '0',
      PROJECTIONS_SESSION_TIMEOUT_MS: String(WORKER_SESSION_TIMEOUT_MS),
      LOG_LEVEL: 'info',
    }),
  );
  await started.waitForLog('projection worker running', PROCESS_START_TIMEOUT_MS);
  return started;
}

async function openAccounts(): Promise<{ ids: bigint[]; ledger: number }> {
  const ids: bigint[] = [];
  let ledger = 0;
  for (let i = 0; i < ACCOUNTS; i++) {
    const res = await call(h.bridge.url, 'POST', '/api/accounts', {
      accountId: `${h.run}-restarts-${i}`,
      name: `restarts ${i}`,
      holderId: `${h.run}-holder`,
      accountType: 'asset',
      asset: 'USD',
    });
    if (res.status !== 201)
      throw new Error(`account ${i}: ${res.status} ${JSON.stringify(res.body)}`);
    ids.push(BigInt(res.body.ledgerId));
    ledger = res.body.ledger;
  }
  return { ids, ledger };
}

beforeAll(async () => {
  h = await startHarness({ KAFKA_CHANGES_TOPIC: topic, KAFKA_CHANGES_PARTITIONS: '3' });
  if (h.bridge.ledger.kind !== 'tigerbeetle') {
    throw new Error(
      "this test restarts the stack cluster's change feed: start the stack with TB_BIN",
    );
  }
  pools = createPools(h.config);
  admin = createKafkaClient(h.config.KAFKA_BROKERS, 'test-restarts', silent).admin();
  await admin.connect();
  // Bound before the first transfer: the run's queue receives every event from here on.
  relay = await startRelay();
  worker = await startWorker();
  const opened = await openAccounts();
  accountIds = opened.ids;
  stream = new TransferStream({
    ledger: h.bridge.ledger.ledger,
    accounts: accountIds,
    ledgerNumber: opened.ledger,
    code: TRANSFER_CODE,
    ratePerS: RATE_PER_S,
    tickMs: TICK_MS,
    seed: SEED,
  });
}, 180_000);

afterAll(async () => {
  await stream?.stop().catch((error: unknown) => console.error(error));
  // What a failed restart left down comes back first: the clean-up needs both brokers.
  let unhealthy: unknown = null;
  const status = await ensureStackUp().catch((error: unknown) => {
    unhealthy = error;
    return `NOT HEALTHY: ${error}`;
  });
  await worker?.kill('SIGTERM');
  await relay?.kill('SIGTERM');
  await removeRunQueue().catch((error: unknown) => console.error(error));
  if (admin) {
    await deleteTopics(admin, [topic, `${topic}.dlq`]).catch(() => undefined);
    await admin.disconnect();
  }
  if (pools) await closePools(pools);
  await h?.dispose();
  console.log(`feed restarts (seed ${SEED}):\n${figuresTable()}\nstack after the run:\n${status}`);
  // The next test file needs the stack: leaving it down is this file's failure.
  if (unhealthy !== null) throw unhealthy;
}, 400_000);

/**
 * Unbinds the run's queue from the live exchange, then deletes it: RabbitMQ 3.10 can fail the
 * channel of a publisher whose message routes to a quorum queue being deleted (seen here: the
 * CDC job's, `case_clause {shutdown,delete}` in rabbit_channel:deliver_to_queues; cf.
 * rabbitmq-server#3627, #15333), which stops the shared feed until the supervisor restarts it.
 */
async function removeRunQueue(): Promise<void> {
  const unbinding = await AmqpHarness.open();
  await unbinding.channel.unbindQueue(queue, h.config.AMQP_CDC_EXCHANGE, '').catch(() => null);
  await unbinding.close();
  // Publishes routed before the unbind settle first.
  await sleep(UNBIND_SETTLE_MS);
  const amqp = await AmqpHarness.open();
  await amqp.remove([queue, `${queue}.dead`], []);
  await amqp.close();
}

function figuresTable(): string {
  const rows = figures.map(
    (f) =>
      `  ${f.hop.padEnd(9)} restart ${seconds(f.restartMs).padStart(7)}, ` +
      `${String(f.committedDuring).padStart(5)} events committed meanwhile, ` +
      `caught up ${seconds(f.catchUpMs).padStart(7)} after; ${f.detail}`,
  );
  return [...rows, ...notes.map((note) => `  ${note}`)].join('\n');
}

/** Our events (expiries aside) with timestamps in [first, upTo] that PostgreSQL holds. */
async function projectedUpTo(upTo: bigint): Promise<number> {
  const first = stream!.events[0]!.timestamp;
  const rows = await query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ledger_change
      WHERE event_timestamp >= $1::numeric AND event_timestamp <= $2::numeric
        AND type <> 'two_phase_expired' AND debit_ledger_id = ANY($3::numeric[])`,
    [first.toString(), upTo.toString(), accountIds.map(String)],
  );
  return rows[0]!.n;
}

/** Waits until PostgreSQL holds every event committed so far; returns the wait (ms). */
async function catchUp(what: string): Promise<number> {
  const started = performance.now();
  const watermark = stream!.lastTimestamp();
  const expected = stream!.countUpTo(watermark);
  await until(
    `the feed to project the ${expected} events committed up to ${watermark} (${what})`,
    CATCH_UP_TIMEOUT_MS,
    async () => ((await projectedUpTo(watermark)) >= expected ? true : null),
  );
  return performance.now() - started;
}

/**
 * Restarts one hop mid-stream and records how long it took and how long the feed took after;
 * `restart` returns what to say about it, asked once the feed has caught up.
 */
async function hop(name: string, restart: () => Promise<() => string>): Promise<void> {
  await sleep(STEADY_MS);
  const before = stream!.events.length;
  const started = performance.now();
  const describe = await restart();
  const restartMs = performance.now() - started;
  const committedDuring = stream!.events.length - before;
  const catchUpMs = await catchUp(`after the ${name} restart`);
  figures.push({ hop: name, restartMs, committedDuring, catchUpMs, detail: describe() });
}

async function restartCdcJob(): Promise<() => string> {
  const killed = cdcJobPid();
  if (killed === null) throw new Error('no CDC job runs (.run/tigerbeetle/cdc.pid): stack.sh up');
  process.kill(killed, 'SIGKILL');
  const started = performance.now();
  const next = await until('the supervisor to start a new CDC job', CDC_BACK_TIMEOUT_MS, () => {
    const pid = cdcJobPid();
    return Promise.resolve(pid !== null && pid !== killed ? pid : null);
  });
  const relaunchMs = performance.now() - started;
  await until('the new CDC job to hold its lock queue', CDC_BACK_TIMEOUT_MS, async () =>
    (await cdcPublishing()) ? true : null,
  );
  return () => `job ${killed} SIGKILLed; job ${next} started ${seconds(relaunchMs)} later`;
}

/** Deliveries the relay holds unacknowledged now (its `ledger_relay_held_messages` gauge). */
async function relayHeld(service: ChildService): Promise<number | null> {
  const url = service.lastEntry('change relay started')?.metrics;
  if (typeof url !== 'string') return null;
  const text = await (await fetch(url)).text();
  const held = /^ledger_relay_held_messages (\d+)/m.exec(text)?.[1];
  return held === undefined ? null : Number(held);
}

/** Polls the relay until it holds deliveries unacknowledged (bounded); returns how many. */
async function relayHolding(service: ChildService): Promise<number | null> {
  const deadline = Date.now() + HOLDING_WAIT_MS;
  for (;;) {
    const held = await relayHeld(service);
    if (held === null || held > 0 || Date.now() > deadline) return held;
    await sleep(HOLDING_POLL_MS);
  }
}

async function restartRelay(): Promise<() => string> {
  const held = await relayHolding(relay!);
  await relay!.kill('SIGKILL');
  relay = await startRelay();
  return () => `SIGKILLed holding ${held ?? '?'} deliveries unacknowledged; a new relay`;
}

async function restartWorker(): Promise<() => string> {
  await worker!.kill('SIGKILL');
  worker = await startWorker();
  return () =>
    `SIGKILLed mid-stream; a new worker, running once the group dropped the dead member ` +
    `(PROJECTIONS_SESSION_TIMEOUT_MS ${WORKER_SESSION_TIMEOUT_MS})`;
}

/** What the relay and the worker logged about Kafka since `before` (counts of each message). */
function kafkaTrouble(before: { sends: number; crashes: number }): string {
  const sends = relay!.logged(SEND_FAILED) - before.sends;
  const retry = relay!.lastEntry(SEND_FAILED)?.retryInMs;
  const crashes = worker!.logged(CONSUMER_CRASHED) - before.crashes;
  return (
    `relay: ${sends} failed sends (last retry after ${retry ?? '-'} ms); ` +
    `worker: ${crashes} consumer restarts`
  );
}

/** Records in the run's change topic (every partition's high watermark, summed). */
async function topicRecords(): Promise<bigint> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + BigInt(o.high) - BigInt(o.low), 0n);
}

async function restartKafka(): Promise<() => string> {
  const before = {
    sends: relay!.logged(SEND_FAILED),
    crashes: worker!.logged(CONSUMER_CRASHED),
  };
  const down = await stackStep('kafka_down', BROKER_STOP_TIMEOUT_MS);
  const up = await stackStep('kafka_launch; kafka_wait', BROKER_START_TIMEOUT_MS);
  // Which hop the feed waits for after Kafka: the relay writing again, or the worker reading.
  const upAt = performance.now();
  const records = await until('the topic to answer after Kafka', CATCH_UP_TIMEOUT_MS, () =>
    topicRecords().catch(() => null),
  );
  const relayMs = await until(
    'the relay to write again after Kafka',
    CATCH_UP_TIMEOUT_MS,
    async () => ((await topicRecords()) > records ? performance.now() - upAt : null),
  );
  return () =>
    `kafka_down ${seconds(down.ms)}, kafka_launch + kafka_wait ${seconds(up.ms)}; ` +
    `the relay writing again ${seconds(relayMs)} after; ${kafkaTrouble(before)}`;
}

async function restartRabbitmq(): Promise<() => string> {
  const connections = relay!.logged('consuming');
  const attempts = relay!.logged(CONNECT_FAILED);
  const down = await stackStep('rabbitmq_down', BROKER_STOP_TIMEOUT_MS);
  const up = await stackStep('rabbitmq_up', BROKER_START_TIMEOUT_MS);
  const upAt = performance.now();
  const [jobMs, relayMs] = await Promise.all([
    until('the CDC job to publish again after RabbitMQ', CDC_BACK_TIMEOUT_MS, async () =>
      (await cdcPublishing()) ? performance.now() - upAt : null,
    ),
    relay!
      .waitForLog('consuming', CDC_BACK_TIMEOUT_MS, connections)
      .then(() => performance.now() - upAt),
  ]);
  const failed = relay!.logged(CONNECT_FAILED) - attempts;
  const retry = relay!.lastEntry(CONNECT_FAILED)?.retryInMs ?? '-';
  return () =>
    `rabbitmq_down ${seconds(down.ms)}, rabbitmq_up ${seconds(up.ms)}; then the CDC job ` +
    `publishing after ${seconds(jobMs)}, the relay consuming after ${seconds(relayMs)} ` +
    `(${failed} failed connection attempts, the last retried after ${retry} ms)`;
}

it('loses nothing across a restart of each hop, counted against the ledger', async () => {
  stream!.start();
  await sleep(STEADY_MS);
  figures.push({
    hop: 'none',
    restartMs: 0,
    committedDuring: 0,
    catchUpMs: await catchUp('steady state'),
    detail: 'the steady feed, for comparison',
  });
  // RabbitMQ last: the supervisor's backoff resets only after a job ran 60 s (infra/tigerbeetle/
  // cdc-supervise.sh), so by then the job killed first has run long enough to start from 1 s.
  await hop('cdc job', restartCdcJob);
  await hop('relay', restartRelay);
  await hop('worker', restartWorker);
  await hop('kafka', restartKafka);
  await hop('rabbitmq', restartRabbitmq);
  await sleep(STEADY_MS);
  await stream!.stop();

  await expectAllExpired();
  const total = stream!.events.length + stream!.expiring.length;
  const started = performance.now();
  await until(`all ${total} events of the run in ledger_change`, CATCH_UP_TIMEOUT_MS, async () =>
    (await countOurs()) >= total ? true : null,
  );
  notes.push(
    `after the stream stopped: all ${stream!.events.length} transfers and ` +
      `${stream!.expiring.length} expiries in ledger_change ` +
      `${seconds(performance.now() - started)} later (${stream!.retries} requests retried)`,
  );

  await expectDatabaseStillOurs();
  const counted: CountedRun = { accountIds, ledger: h.bridge.ledger.ledger, query };
  await expectEveryEventOnce(counted, stream!.events, stream!.expiring);
  await expectStatements(counted, stream!.events);
  await expectBalances(counted);
  await expectSummaryCountsEachEventOnce(counted);
  const verified = await verifyChains(pools.direct, { full: true });
  expect(verified.chains.filter((c) => !c.ok)).toEqual([]);
  const report = await reconcileRun(stream!.events[0]!.timestamp);
  expect(report.deferred).toBeNull();
  expect({ mismatches: report.mismatchCount, examples: report.examples }).toEqual({
    mismatches: 0,
    examples: [],
  });
  expect(report.transfers.raw).toBe(stream!.events.length);
  await reportKafkaDuplicates();
}, 240_000);

async function expectAllExpired(): Promise<void> {
  await until('TigerBeetle to expire every 1 s hold', EXPIRY_TIMEOUT_MS, async () => {
    const accounts = await h.bridge.ledger.ledger.lookupAccounts(accountIds);
    const pending = accounts.some((a) => a.debits_pending !== 0n || a.credits_pending !== 0n);
    return accounts.length === accountIds.length && !pending ? true : null;
  });
}

/**
 * ledger_test is shared by every test file: one started elsewhere meanwhile empties it (and the
 * worker then rebuilds the change-fed tables from the topic, but the accounts are gone). Say so
 * plainly instead of failing on reconcile's counts.
 */
async function expectDatabaseStillOurs(): Promise<void> {
  const rows = await query<{ accounts: number; migrated: string }>(
    `SELECT (SELECT count(*)::int FROM account WHERE account_id LIKE $1) AS accounts,
            (SELECT min(applied_at)::text FROM schema_migrations) AS migrated`,
    [`${h.run}-restarts-%`],
  );
  if (rows[0]!.accounts !== ACCOUNTS) {
    const left = `${rows[0]!.accounts} of ${ACCOUNTS} accounts left`;
    throw new Error(`${EMPTIED} (migrated again at ${rows[0]!.migrated}; ${left})`);
  }
}

async function countOurs(): Promise<number> {
  const rows = await query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ledger_change WHERE debit_ledger_id = ANY($1::numeric[])`,
    [accountIds.map(String)],
  );
  return rows[0]!.n;
}

async function reconcileRun(timestampMin: bigint): Promise<ReconcileReport> {
  const deps = { config: h.config, db: pools.primary, ledger: h.bridge.ledger.ledger, admin };
  return reconcileCaughtUp(deps, timestampMin);
}

/** Records beyond two per event: what the restarts made the path repeat (the projections drop). */
async function reportKafkaDuplicates(): Promise<void> {
  const records = await topicRecords();
  const rows = await query<{ n: string }>('SELECT count(*)::text AS n FROM ledger_change');
  const events = BigInt(rows[0]!.n);
  notes.push(
    `${records} records in the run's topic for ${events} events: ` +
      `${records - 2n * events} repeated (dropped by the projections)`,
  );
}
