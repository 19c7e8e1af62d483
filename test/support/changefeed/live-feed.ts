/**
 * A test file's own change feed from the stack's live CDC exchange (`ledger.cdc`, fed by the
 * stack's `tigerbeetle amqp`): a relay in this process, on a queue of the run bound to the
 * exchange, into a change topic of the run. The file's bridge (its expiry follower) and worker
 * read that topic, so they see only the events from the moment the queue is bound — not every
 * earlier run's history on the shared topic — and nothing the file does reaches another run.
 *
 *   const feed = liveFeed('books');
 *   h = await startHarness(feed.env);      // KAFKA_CHANGES_TOPIC of the run
 *   await feed.start(h.config);             // bound before the file's first transfer
 *   ...
 *   await feed.stop();                      // the relay, its queue and topic
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { type RelayService, startRelayService } from '../../../changefeed/service';
import type { Config } from '../../../core/config';
import { createKafkaClient } from '../../../events/kafka';
import { closePools, createPools, type Pools, type Queryable } from '../../../core/postgres/pool';
import { Kafka, logLevel } from 'kafkajs';
import { type Harness, startHarness } from '../http/harness';
import type { Ledger } from '../../../ledger/port';
import { loadProjectionsConfig } from '../../../projections/src/config';
import { projectionFeeds } from '../../../projections/src/feed';
import {
  feedsCaughtUpHorizon,
  type TopicOffsets,
} from '../../../projections/src/reconcile/horizon';
import { reconcile } from '../../../projections/src/reconcile/reconcile';
import type { ReconcileReport } from '../../../projections/src/reconcile/report';
import { startWorker, type Worker } from '../../../projections/src/worker';
import { AmqpHarness, deleteTopics } from './harness';

/** RabbitMQ drops the queue this long after a crashed run stopped reading it (ms). */
const QUEUE_EXPIRES_MS = 120_000;
const silent = pino({ level: 'silent' });

export interface LiveFeed {
  /** Harness environment: the run's change topic. */
  env: Record<string, string>;
  queue: string;
  topic: string;
  start(config: Config): Promise<void>;
  stop(): Promise<void>;
}

export function liveFeed(what: string): LiveFeed {
  const run = randomUUID().slice(0, 8);
  const queue = `test.cdc.${what}.${run}`;
  const topic = `test.changes.${what}.${run}`;
  let relay: RelayService | null = null;
  let config: Config | null = null;
  return {
    env: { KAFKA_CHANGES_TOPIC: topic, KAFKA_CHANGES_PARTITIONS: '3' },
    queue,
    topic,
    async start(given) {
      config = given;
      relay = await startRelayService({
        config: { ...given, AMQP_CDC_QUEUE: queue, RELAY_PREFETCH: 256, RELAY_METRICS_PORT: 0 },
        logger: silent,
        defaultMetrics: false,
        queueExpiresMs: QUEUE_EXPIRES_MS,
      });
      await relay.consuming;
    },
    async stop() {
      await relay?.stop();
      relay = null;
      const amqp = await AmqpHarness.open();
      if (config !== null) await amqp.unbind(queue, config.AMQP_CDC_EXCHANGE);
      await amqp.remove([queue, `${queue}.dead`], []);
      await amqp.close();
      if (config === null) return;
      const admin = createKafkaClient(config.KAFKA_BROKERS, `test-${what}-cleanup`, silent).admin();
      await admin.connect();
      await deleteTopics(admin, [topic, `${topic}.dlq`]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/**
 * The projection worker as e2e files run it beside their bridge: both feeds, migrations left to
 * the bridge, metrics on any port, no periodic reconcile (the files reconcile when they mean to).
 */
export function startFileWorker(config: Config): Promise<Worker> {
  return startWorker({
    config,
    projectionsConfig: loadProjectionsConfig({
      PROJECTIONS_MIGRATE: 'false',
      PROJECTIONS_METRICS_PORT: '0',
      PROJECTIONS_RECONCILE_INTERVAL_MS: '0',
    }),
    logger: silent,
  });
}

/**
 * Reconciles from `timestampMin` once both feeds have applied everything published so far (the
 * horizon proven from Kafka with no settle delay: a file's own writes are all committed).
 */
export async function reconcileCaughtUp(
  deps: { config: Config; db: Queryable; ledger: Ledger; admin: TopicOffsets },
  timestampMin: bigint,
): Promise<ReconcileReport> {
  const horizon = feedsCaughtUpHorizon({
    admin: deps.admin,
    db: deps.db,
    feeds: projectionFeeds(deps.config),
    settleDelayMs: 0,
  });
  return reconcile({ db: deps.db, ledger: deps.ledger, horizon }, { timestampMin });
}

/** What a books test stands on: a bridge on its own change feed, the worker, pools, Kafka. */
export interface LiveBooks {
  h: Harness;
  worker: Worker;
  pools: Pools;
  kafka: Kafka;
}

/**
 * Registers the set-up and tear-down of a books test: a harness bridge, `feed` bound before the
 * first transfer (the run's queue receives every event from then on), a worker following it from
 * files, PostgreSQL pools and a Kafka client. The getter answers once `beforeAll` ran.
 */
export function useLiveBooks(feed: LiveFeed, clientId: string): () => LiveBooks {
  let books: LiveBooks | undefined;
  let h: Harness | undefined;
  let worker: Worker | undefined;
  let pools: Pools | undefined;
  beforeAll(async () => {
    h = await startHarness(feed.env);
    await feed.start(h.config);
    worker = await startFileWorker(h.config);
    pools = createPools(h.config);
    const kafka = new Kafka({
      clientId,
      brokers: h.config.KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
    });
    books = { h, worker, pools, kafka };
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await feed.stop();
    if (pools !== undefined) await closePools(pools);
    await h?.dispose();
  }, 60_000);
  return () => {
    if (books === undefined) throw new Error('useLiveBooks: read before its beforeAll ran');
    return books;
  };
}
