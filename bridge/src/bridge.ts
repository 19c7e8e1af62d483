/**
 * The composition root: builds one bridge process from its configuration — ledger, PostgreSQL
 * pools and migrations, the account registry, the micro-batcher, the Kafka outcome publisher, the
 * journal service and the HTTP listener — and takes it apart in the reverse order.
 *
 * Shutdown order matters for "nothing acknowledged is lost": stop accepting requests, let those in
 * flight finish (their chains drain through the batcher and their outcomes through Kafka), then
 * close the publisher, the ledger and the pools.
 */
import { AssetRegistry } from './accounts/registry';
import { AccountService } from './accounts/service';
import type { Config } from '../../core/config';
import { OutcomePublisher, publisherOptionsFromConfig } from '../../events/publisher';
import { createApi } from './api';
import { connectionLimitsOf } from './http/connection';
import { listen } from './http/server';
import { JournalService } from './journal/service';
import { RawTransferService } from './transfers/service';
import { openTopicPartitions } from './journal/topic-partitions';
import { TransferBatcher } from '../../ledger/batcher';
import { openLedger, probeLedger, type OpenedLedger } from '../../ledger/open';
import type { Logger } from '../../core/logger';
import { migrateUp } from '../../core/postgres/migrate';
import { instrumentLedger, journalObserver } from './monitor/instrument';
import { batcherMetrics } from './monitor/metrics';
import { Monitor } from './monitor/monitor';
import { closePools, createPools } from '../../core/postgres/pool';
import { accessCheck, limitedBy } from './access/authorize';
import { rateLimiterFromConfig } from './access/rate-limit';
import { KeyCache } from './access/key-cache';
import { BalanceReader } from './balances/reader';
import { ExpiryFollower } from './balances/expiry-follower';
import { createKafkaClient } from '../../events/kafka';
import { ReplicaRouter } from '../../core/postgres/replicas';

export interface RunningBridge {
  url: string;
  ledger: OpenedLedger;
  batcher: TransferBatcher;
  publisher: OutcomePublisher;
  monitor: Monitor;
  stop(): Promise<void>;
}

export async function startBridge(config: Config, log: Logger): Promise<RunningBridge> {
  const cleanup: Array<() => Promise<void>> = [];
  const unwind = async (): Promise<void> => {
    for (const step of cleanup.reverse()) {
      await step().catch((error: unknown) => log.error({ err: error }, 'shutdown step failed'));
    }
  };
  try {
    const opened = await openLedger(config);
    cleanup.push(() => opened.ledger.close());
    log.info({ ledger: opened.kind, at: opened.where }, 'ledger open');
    void probeLedger(opened, config, log);

    const pools = createPools(config, log);
    cleanup.push(() => closePools(pools));
    const applied = await migrateUp(pools.direct);
    if (applied.length > 0) log.info({ applied: applied.length }, 'migrations applied');
    const registry = await AssetRegistry.load(pools.primary);
    const accounts = new AccountService({
      db: pools.primary,
      ledger: opened.ledger,
      registry,
      logger: log,
    });
    const balances = new BalanceReader({
      ledger: opened.ledger,
      accounts,
      redisUrl: config.BALANCE_CACHE_REDIS ? config.REDIS_URL : null,
      settings: {
        l1EntriesMax: config.BALANCE_L1_ENTRIES_MAX,
        l1TtlMs: config.BALANCE_L1_TTL_MS,
        l2TtlMs: config.BALANCE_L2_TTL_MS,
        redisCommandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
        redisConnectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
        pendingInvalidationsMax: config.BALANCE_PENDING_INVALIDATIONS_MAX,
      },
      keyPrefix: config.BALANCE_CACHE_KEY_PREFIX,
      channel: config.BALANCE_INVALIDATION_CHANNEL,
      logger: log,
    });
    // Without Redis the reader still serves (L1 and the ledger); /ready reports the degradation.
    await balances.start();
    cleanup.push(() => balances.close());
    if (config.BALANCE_FOLLOW_EXPIRIES) {
      const expiries = new ExpiryFollower({
        kafka: createKafkaClient(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-expiries`, log),
        topic: config.KAFKA_CHANGES_TOPIC,
        // The instances that share an invalidation channel share this work; one deployment's
        // group never waits on another's members.
        groupId: `${config.KAFKA_CLIENT_ID}.balance-expiries.${config.BALANCE_INVALIDATION_CHANNEL}`,
        // The longest a cached balance lives (L2's TTL, L1's is shorter), with a margin.
        relevantMs: config.BALANCE_L2_TTL_MS + 10_000,
        onExpired: (ledgerIds, ledgerTimestampNs) =>
          balances.onPosted(ledgerIds, ledgerTimestampNs),
        logger: log,
      });
      expiries.startInBackground();
      cleanup.push(() => expiries.stop());
    }
    const replicas = new ReplicaRouter({
      primary: pools.primary,
      replicas: config.DATABASE_REPLICA_URLS.map((url, i) => ({ name: `replica${i + 1}`, url })),
      poolMax: config.DATABASE_REPLICA_POOL_MAX,
      pollMs: config.REPLICA_LAG_POLL_MS,
      lagMsMax: config.REPLICA_LAG_MS_MAX,
      lagBytesMax: config.REPLICA_LAG_BYTES_MAX,
      logger: log,
    });
    await replicas.start();
    cleanup.push(() => replicas.close());

    const monitor = new Monitor({
      log: log.child({ component: 'monitor' }),
      lag: {
        db: pools.primary,
        topic: config.KAFKA_OUTCOMES_TOPIC,
        groupId: config.PROJECTIONS_GROUP_ID,
      },
      pools: { pgbouncer: pools.primary },
      alertWebhookUrl: config.MONITOR_ALERT_WEBHOOK_URL,
      alertWebhookTimeoutMs: config.MONITOR_ALERT_WEBHOOK_TIMEOUT_MS,
      workerMetricsUrls: config.MONITOR_WORKER_METRICS_URLS,
      slo: {
        targets: {
          throughputJournalsPerSec: config.SLO_THROUGHPUT_JOURNALS_PER_SEC,
          peakJournalsPerSec: config.SLO_PEAK_JOURNALS_PER_SEC,
          balanceReadP95Ms: config.SLO_BALANCE_READ_P95_MS,
          apiP99Ms: config.SLO_API_P99_MS,
          errorRatioMax: config.SLO_ERROR_RATIO_MAX,
          availabilityMin: config.SLO_AVAILABILITY_MIN,
          projectionLagP99Ms: config.SLO_PROJECTION_LAG_P99_MS,
        },
        shortWindowMs: config.SLO_SHORT_WINDOW_MS,
        longWindowMs: config.SLO_LONG_WINDOW_MS,
      },
    }).start();
    cleanup.push(() => monitor.stop());
    monitor.followBalanceCache(() => balances.stats());
    monitor.followReplicas(() => replicas.lag());
    const publisher = await OutcomePublisher.connect({
      ...publisherOptionsFromConfig(config, log),
      onBatch: monitor.onPublisherBatch,
    });
    cleanup.push(() => publisher.close());
    const topic = await openTopicPartitions(config, log);
    cleanup.push(topic.close);
    // A TigerBeetle client session keeps one request on the wire, so a second would only queue
    // in the client; the engine executes the next batch while the previous one's fsync runs.
    const batcher = new TransferBatcher(instrumentLedger(opened.ledger, monitor.metrics), {
      flushDelayMs: config.BATCH_FLUSH_DELAY_MS,
      inflightMax: opened.kind === 'tigerbeetle' ? 1 : 2,
      chainTimeoutMs: config.LEDGER_REQUEST_TIMEOUT_MS,
    });
    cleanup.push(() => batcher.drain());
    batcherMetrics(monitor.metrics, batcher);
    const journals = new JournalService({
      accounts,
      batcher,
      ledger: opened.ledger,
      outcomes: publisher,
      balances,
      observer: journalObserver(monitor.journals),
    });
    const transfers = new RawTransferService({ batcher, ledger: opened.ledger, balances });

    const keys = new KeyCache({
      db: pools.primary,
      ttlMs: config.ACCESS_KEY_CACHE_TTL_MS,
      staleMaxMs: config.ACCESS_KEY_STALE_MAX_MS,
      entriesMax: config.ACCESS_KEY_CACHE_ENTRIES_MAX,
    });
    const limiter = rateLimiterFromConfig(config, {
      registry: monitor.metrics.registry,
      logger: log.child({ component: 'rate-limit' }),
    });
    cleanup.push(() => limiter.close());
    const handler = createApi({
      authorize: accessCheck({ keys, limiter: limitedBy(limiter) }),
      journals,
      transfers,
      accounts,
      ledger: opened.ledger,
      balances,
      reads: {
        pick: () => replicas.pick().db,
        topic: config.KAFKA_OUTCOMES_TOPIC,
        groupId: config.PROJECTIONS_GROUP_ID,
        consistencyWaitMs: config.CONSISTENCY_WAIT_MS,
        partitions: topic.partitions,
      },
      ledgerInfo: { kind: opened.kind, at: opened.where },
      ready: async () => {
        await opened.ledger.lookupAccounts([1n]);
        await pools.primary.query('SELECT 1');
        // Redis down is a degradation, not unreadiness: balances are still served (L1, ledger).
        return balances.redisConfigured && !balances.redisHealthy() ? ['redis'] : [];
      },
      log,
      monitor,
    });
    const server = await listen(handler, config.HOST, config.PORT, connectionLimitsOf(config));
    cleanup.push(() => server.close());
    log.info({ url: server.url }, 'listening');

    return { url: server.url, ledger: opened, batcher, publisher, monitor, stop: unwind };
  } catch (error) {
    await unwind();
    throw error;
  }
}
