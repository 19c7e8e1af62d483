/**
 * The projection worker: migrations up, then two ProjectionRunners — one over the bridge's outcome
 * topic (journal metadata), one over the ledger's change topic (balances, statements, every ledger
 * event) — until `stop()` (SIGTERM in ./main.ts) lets the batches in progress finish.
 */
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../../core/config';
import { createKafkaClient } from '../../events/kafka';
import { openLedger } from '../../ledger/open';
import type { Logger } from '../../core/logger';
import { migrateUp } from '../../core/postgres/migrate';
import { createDirectPool, createPools, type Pools } from '../../core/postgres/pool';
import type { ProjectionsConfig } from './config';
import type { Located, Projection } from './projection';
import { CHANGE_PROJECTIONS, OUTCOME_PROJECTIONS } from './all';
import { countPendingDeadLetters } from './dead-letter-table';
import { changeFeed, type ProjectedChange } from './changes/feed';
import { changeGroupOf, projectionFeeds } from './feed';
import { startPartitionMaintenance } from './partitions/maintenance';
import { feedsCaughtUpHorizon } from './reconcile/horizon';
import { type PeriodicReconcile, startPeriodicReconcile } from './reconcile/periodic';
import { combinedStats, type CommitReport, ProjectionRunner, type RunnerOptions } from './runner';
import { createWorkerMetrics, startMetricsServer, type WorkerMetrics } from './metrics';

export interface Worker {
  /** Over the outcome topic. */
  runner: ProjectionRunner;
  /** Over the change topic. */
  changeRunner: ProjectionRunner<ProjectedChange>;
  /** Null when no ledger the worker may open is configured (see startReconciler). */
  reconciler: PeriodicReconcile | null;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  config: Config;
  projectionsConfig: ProjectionsConfig;
  logger: Logger;
  projections?: readonly Projection[];
  changeProjections?: readonly Projection<ProjectedChange>[];
  /** Called after every committed transaction of either feed (benchmarks, tests). */
  onCommit?: (feed: 'outcomes' | 'changes', report: CommitReport) => void;
}

function poolsOf(config: Config, settings: ProjectionsConfig, logger: Logger): Pools {
  const schema = settings.PROJECTIONS_DATABASE_SCHEMA;
  if (schema === undefined) return createPools(config, logger);
  const direct = (max: number): pg.Pool =>
    createDirectPool({ url: config.DATABASE_DIRECT_URL, max, searchPath: [schema], logger });
  return { primary: direct(config.DATABASE_POOL_MAX), direct: direct(2) };
}

export function selectProjections<E extends Located>(
  all: readonly Projection<E>[],
  only: readonly string[] | undefined,
  others: readonly { name: string }[] = [],
): Projection<E>[] {
  if (only === undefined) return [...all];
  const known = [...all, ...others];
  const unknown = only.filter((name) => !known.some((p) => p.name === name));
  if (unknown.length > 0) throw new Error(`unknown projections: ${unknown.join(', ')}`);
  return all.filter((p) => only.includes(p.name));
}

/** The two runners: the outcome feed's and the change feed's, sharing pool, Kafka and limits. */
function createRunners(
  options: WorkerOptions,
  pools: Pools,
  kafka: Kafka,
  onCommit: (feed: 'outcomes' | 'changes', report: CommitReport) => void,
): { runner: ProjectionRunner; changeRunner: ProjectionRunner<ProjectedChange> } {
  const { config, projectionsConfig: settings, logger } = options;
  const outcomeAll = options.projections ?? OUTCOME_PROJECTIONS;
  const changeAll = options.changeProjections ?? CHANGE_PROJECTIONS;
  const common = {
    kafka,
    pool: pools.primary,
    logger,
    limits: {
      batchEventsMax: settings.PROJECTIONS_BATCH_EVENTS_MAX,
      partitionsConcurrency: settings.PROJECTIONS_PARTITIONS_CONCURRENCY,
      lagPollMs: settings.PROJECTIONS_LAG_POLL_MS,
      sessionTimeoutMs: settings.PROJECTIONS_SESSION_TIMEOUT_MS,
      heartbeatMs: Math.floor(settings.PROJECTIONS_SESSION_TIMEOUT_MS / 10),
      eventBytesMax: settings.PROJECTIONS_EVENT_BYTES_MAX,
    },
  } satisfies Partial<RunnerOptions>;
  const runner = new ProjectionRunner({
    ...common,
    onCommit: (report) => onCommit('outcomes', report),
    topic: config.KAFKA_OUTCOMES_TOPIC,
    topicPartitions: config.KAFKA_OUTCOMES_PARTITIONS,
    groupId: config.PROJECTIONS_GROUP_ID,
    projections: selectProjections(outcomeAll, settings.PROJECTIONS_ONLY, changeAll),
  });
  const changeRunner = new ProjectionRunner<ProjectedChange>({
    ...common,
    feed: changeFeed,
    onCommit: (report) => onCommit('changes', report),
    topic: config.KAFKA_CHANGES_TOPIC,
    topicPartitions: config.KAFKA_CHANGES_PARTITIONS,
    groupId: changeGroupOf(config.PROJECTIONS_GROUP_ID),
    projections: selectProjections(changeAll, settings.PROJECTIONS_ONLY, outcomeAll),
  });
  return { runner, changeRunner };
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { config, projectionsConfig: settings, logger } = options;
  const pools = poolsOf(config, settings, logger);
  try {
    if (settings.PROJECTIONS_MIGRATE) await migrateUp(pools.direct, { logger });
  } catch (error) {
    await Promise.all([pools.primary.end(), pools.direct.end()]);
    throw error;
  }
  const kafka = createKafkaClient(
    config.KAFKA_BROKERS,
    `${config.KAFKA_CLIENT_ID}-projections`,
    logger,
  );
  let metrics: WorkerMetrics | null = null;
  const { runner, changeRunner } = createRunners(options, pools, kafka, (feed, report) => {
    metrics?.onCommit(report);
    options.onCommit?.(feed, report);
  });
  try {
    await runner.start();
    await changeRunner.start();
  } catch (error) {
    await Promise.all([runner.stop(), changeRunner.stop()]);
    await Promise.all([pools.primary.end(), pools.direct.end()]);
    throw error;
  }
  const partitions = startPartitionMaintenance(pools.direct, logger);
  const reconciliation = await startReconciler(config, settings, pools, kafka, logger);
  const runners = { stats: () => combinedStats([runner, changeRunner]) };
  metrics = createWorkerMetrics({
    runner: runners,
    reconciler: reconciliation?.periodic ?? null,
    deadLetters: { pending: () => countPendingDeadLetters(pools.primary) },
  });
  const metricsServer = await startMetricsServer(
    metrics.registry,
    settings.PROJECTIONS_METRICS_HOST,
    settings.PROJECTIONS_METRICS_PORT,
  );
  logger.info({ url: metricsServer.url }, 'worker metrics listening');
  let stopping: Promise<void> | null = null;
  return {
    runner,
    changeRunner,
    reconciler: reconciliation?.periodic ?? null,
    stop() {
      stopping ??= (async () => {
        await metricsServer.close();
        await reconciliation?.stop();
        await partitions.stop();
        await Promise.all([runner.stop(), changeRunner.stop()]);
        await Promise.all([pools.primary.end(), pools.direct.end()]);
      })();
      return stopping;
    },
  };
}

/**
 * The periodic reconciliation needs the ledger. A TigerBeetle cluster and a shared engine server
 * (ENGINE_ADDRESS) take any number of clients; an engine opened in-process belongs to the one
 * process that opened it (the bridge), so then the worker does not reconcile.
 */
async function startReconciler(
  config: Config,
  settings: ProjectionsConfig,
  pools: Pools,
  kafka: Kafka,
  logger: Logger,
): Promise<{ periodic: PeriodicReconcile; stop(): Promise<void> } | null> {
  if (settings.PROJECTIONS_RECONCILE_INTERVAL_MS === 0) {
    logger.info('PROJECTIONS_RECONCILE_INTERVAL_MS is 0: periodic reconciliation is off');
    return null;
  }
  if (config.TB_ADDRESSES === undefined && config.ENGINE_ADDRESS === undefined) {
    logger.info(
      'neither a TigerBeetle cluster nor a shared engine server is configured: ' +
        'periodic reconciliation is off in the worker',
    );
    return null;
  }
  const { ledger } = await openLedger(config);
  const admin = kafka.admin();
  await admin.connect();
  const horizon = feedsCaughtUpHorizon({
    admin,
    db: pools.primary,
    feeds: projectionFeeds(config),
  });
  const periodic = startPeriodicReconcile({ db: pools.primary, ledger, horizon }, logger, {
    intervalMs: settings.PROJECTIONS_RECONCILE_INTERVAL_MS,
  });
  return {
    periodic,
    stop: async () => {
      await periodic.stop();
      await admin.disconnect();
      await ledger.close();
    },
  };
}
