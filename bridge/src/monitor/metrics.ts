/**
 * The bridge's Prometheus metrics (prom-client), one registry per bridge process. The names are
 * what infra/prometheus/alerts.yml and infra/grafana/dashboards/ledger-bridge.json query: rename
 * one and both must follow.
 *
 * Route labels are route PATTERNS (`/api/balance/:accountId`), never raw paths: a path label
 * would make one series per account. Histograms are in seconds (Prometheus's base unit) with
 * buckets from 0.5 ms to 2.5 s, where this service's latencies live.
 */
import client from 'prom-client';
import type { BatchReport } from '../../../events/publisher';
import { type BatcherStats, type KindStats, SUBMISSION_KINDS } from '../../../ledger/batcher';

export const METRIC_PREFIX = 'ledger_bridge_';

/** 0.5 ms … 2.5 s. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
/** Events per ledger request / Kafka send: powers of two up to a full TigerBeetle batch. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8189];

/** Journal outcomes counted by `journals_total`. `failed`: no verdict (infrastructure error). */
export type JournalOutcomeLabel =
  'posted' | 'held' | 'hold_posted' | 'hold_voided' | 'rejected' | 'failed';
export const JOURNAL_OUTCOMES: readonly JournalOutcomeLabel[] = [
  'posted',
  'held',
  'hold_posted',
  'hold_voided',
  'rejected',
  'failed',
];

/** Balance cache levels (the cache itself lands with its own issue; until then these stay 0). */
export type CacheLevel = 'l1' | 'l2';

export interface BridgeMetrics {
  registry: client.Registry;
  httpRequests: client.Counter<'route' | 'method' | 'status'>;
  httpDuration: client.Histogram<'route' | 'method'>;
  ledgerBatchEvents: client.Histogram<string>;
  ledgerRequestDuration: client.Histogram<'operation'>;
  ledgerRequestFailures: client.Counter<'operation'>;
  kafkaBatchEvents: client.Histogram<string>;
  kafkaBatchBytes: client.Histogram<string>;
  kafkaProduceDuration: client.Histogram<string>;
  kafkaProduceFailures: client.Counter<string>;
  journalsOffered: client.Counter<string>;
  journals: client.Counter<'outcome'>;
  cacheHits: client.Counter<'cache' | 'level'>;
  cacheMisses: client.Counter<'cache'>;
  dependencyUp: client.Gauge<'dependency'>;
  replicaLagSeconds: client.Gauge<'replica'>;
  dependencyCheckDuration: client.Gauge<'dependency'>;
  reconcileMismatches: client.Gauge<string>;
  projectionLagSeconds: client.Gauge<string>;
  projectionLagEvents: client.Gauge<'partition'>;
  sloState: client.Gauge<'slo'>;
  sloBurnRate: client.Gauge<'slo' | 'window'>;
}

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop, GC); on by default. */
  defaultMetrics?: boolean;
  /** Constant labels on every series, e.g. {instance: 'bridge-1'} (Prometheus adds its own). */
  labels?: Record<string, string>;
}

export function createBridgeMetrics(options: MetricsOptions = {}): BridgeMetrics {
  const registry = new client.Registry();
  if (options.labels !== undefined) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics ?? true) client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const p = METRIC_PREFIX;
  const m: BridgeMetrics = {
    registry,
    httpRequests: new client.Counter({
      name: `${p}http_requests_total`,
      help: 'HTTP answers by route pattern, method and status code',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    httpDuration: new client.Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'HTTP request latency, from the request to the last byte of the answer',
      labelNames: ['route', 'method'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    ledgerBatchEvents: new client.Histogram({
      name: `${p}ledger_batch_events`,
      help: 'Transfers per createTransfers request sent to the ledger',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }),
    ledgerRequestDuration: new client.Histogram({
      name: `${p}ledger_request_duration_seconds`,
      help: 'Ledger request latency by operation',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    ledgerRequestFailures: new client.Counter({
      name: `${p}ledger_request_failures_total`,
      help: 'Ledger requests that failed whole (unavailable, closed, ...)',
      labelNames: ['operation'],
      registers,
    }),
    kafkaBatchEvents: new client.Histogram({
      name: `${p}kafka_batch_events`,
      help: 'Outcome events per Kafka send',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }),
    kafkaBatchBytes: new client.Histogram({
      name: `${p}kafka_batch_bytes`,
      help: 'Bytes per Kafka send',
      buckets: [1_024, 8_192, 65_536, 262_144, 1_048_576, 4_194_304, 8_388_608],
      registers,
    }),
    kafkaProduceDuration: new client.Histogram({
      name: `${p}kafka_produce_duration_seconds`,
      help: 'Kafka send latency until acks=all',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    kafkaProduceFailures: new client.Counter({
      name: `${p}kafka_produce_failures_total`,
      help: 'Kafka sends that failed',
      registers,
    }),
    journalsOffered: new client.Counter({
      name: `${p}journals_offered_total`,
      help: 'Journals (and hold steps) handed to the journal service',
      registers,
    }),
    journals: new client.Counter({
      name: `${p}journals_total`,
      help: 'Journals by outcome: a ledger verdict, or failed (no verdict: infrastructure)',
      labelNames: ['outcome'],
      registers,
    }),
    cacheHits: new client.Counter({
      name: `${p}cache_hits_total`,
      help: 'Cache hits by cache and level',
      labelNames: ['cache', 'level'],
      registers,
    }),
    cacheMisses: new client.Counter({
      name: `${p}cache_misses_total`,
      help: 'Lookups that missed every cache level (answered by the source)',
      labelNames: ['cache'],
      registers,
    }),
    dependencyUp: new client.Gauge({
      name: `${p}dependency_up`,
      help: '1 when the dependency answered SELECT 1 within its timeout at the last scrape',
      labelNames: ['dependency'],
      registers,
    }),
    replicaLagSeconds: new client.Gauge({
      name: `${p}replica_lag_seconds`,
      help: 'How far each PostgreSQL read replica is behind the primary (NaN: not measured)',
      labelNames: ['replica'],
      registers,
    }),
    dependencyCheckDuration: new client.Gauge({
      name: `${p}dependency_check_duration_seconds`,
      help: 'How long the last health check took (the timeout when it timed out)',
      labelNames: ['dependency'],
      registers,
    }),
    reconcileMismatches: new client.Gauge({
      name: `${p}reconcile_mismatches`,
      help: 'Mismatches found by the last reconciliation the bridge knows of (NaN: unknown)',
      registers,
    }),
    projectionLagSeconds: new client.Gauge({
      name: `${p}projection_lag_seconds`,
      help: 'Age of the oldest outcome this bridge published that the projections have not applied',
      registers,
    }),
    projectionLagEvents: new client.Gauge({
      name: `${p}projection_lag_events`,
      help: "Events between this bridge's last published offset and the projections' checkpoint",
      labelNames: ['partition'],
      registers,
    }),
    sloState: new client.Gauge({
      name: `${p}slo_state`,
      help: 'SLO state: 0 ok, 1 at risk, 2 breached, -1 no data',
      labelNames: ['slo'],
      registers,
    }),
    sloBurnRate: new client.Gauge({
      name: `${p}slo_burn_rate`,
      help: 'Error-budget burn rate per SLO and window (1: spending exactly the budget)',
      labelNames: ['slo', 'window'],
      registers,
    }),
  };
  // Series that must exist from the start, at 0, so rate() and ratios work before the first event.
  for (const outcome of JOURNAL_OUTCOMES) m.journals.inc({ outcome }, 0);
  for (const level of ['l1', 'l2'] as const) m.cacheHits.inc({ cache: 'balance', level }, 0);
  m.cacheMisses.inc({ cache: 'balance' }, 0);
  m.reconcileMismatches.set(Number.NaN);
  return m;
}

/** One HTTP answer. `route` must be the pattern (or 'unmatched'), never the raw path. */
export function observeHttp(
  m: BridgeMetrics,
  route: string,
  method: string,
  status: number,
  ms: number,
): void {
  let series = httpSeries.get(m);
  if (series === undefined) {
    series = new Map();
    httpSeries.set(m, series);
  }
  // Routes are patterns, methods those Node's parser knows, statuses a few: a bounded map.
  const name = `${method} ${status} ${route}`;
  let one = series.get(name);
  if (one === undefined) {
    one = {
      requests: m.httpRequests.labels({ route, method, status: String(status) }),
      duration: m.httpDuration.labels({ route, method }),
    };
    series.set(name, one);
  }
  one.requests.inc();
  one.duration.observe(ms / 1_000);
}

/**
 * Each answer's two series, found once per (method, status, route): prom-client hashes a label
 * set on every inc and observe, which costs more per request than the rest of the monitor.
 */
const httpSeries = new WeakMap<
  BridgeMetrics,
  Map<string, { requests: client.Counter.Internal; duration: client.Histogram.Internal<string> }>
>();

/** The outcome publisher's `onBatch` hook. */
export function publisherOnBatch(m: BridgeMetrics, report: BatchReport): void {
  m.kafkaBatchEvents.observe(report.events);
  m.kafkaBatchBytes.observe(report.bytes);
  m.kafkaProduceDuration.observe(report.latencyMs / 1_000);
  if (!report.ok) m.kafkaProduceFailures.inc();
}

/**
 * The micro-batcher's counters and gauges, read from `stats` at each scrape (no hook on the hot
 * path). Counters advance by the difference since the previous scrape. Journals' chains and raw
 * transfer requests (POST /api/transfers/batch) share the batcher and its requests; the counters
 * of what it took or refused carry `kind` (`journal` | `raw`) so the two can be told apart.
 */
export function batcherMetrics(m: BridgeMetrics, batcher: { stats: Readonly<BatcherStats> }): void {
  const p = METRIC_PREFIX;
  const registers = [m.registry];
  type Read = (stats: Readonly<BatcherStats>) => number;
  const counters: Array<[Read, client.Counter<string>, Record<string, string>]> = [];
  let seen: number[] = [];
  // Each counter brings itself up to date when collected (advancing is idempotent).
  const counter = (name: string, help: string, labelNames: string[]) =>
    new client.Counter({
      name: `${p}${name}`,
      help,
      labelNames,
      registers,
      collect: () => advance(),
    });
  const chains = counter(
    'batcher_chains_total',
    'Submissions sent to the ledger: journal chains and raw transfer requests, by kind',
    ['kind'],
  );
  const events = counter('batcher_events_total', 'Transfers sent to the ledger, by kind', ['kind']);
  const rejected = counter(
    'batcher_rejected_total',
    'Chains the batcher refused without sending them, by reason and kind',
    ['reason', 'kind'],
  );
  const timedOut = counter(
    'batcher_chains_timed_out_total',
    'Chains answered unavailable at their deadline (LEDGER_REQUEST_TIMEOUT_MS), queued or sent',
    ['kind'],
  );
  const failed = counter(
    'batcher_requests_failed_total',
    'Ledger requests that failed whole (all their chains rejected)',
    [],
  );
  for (const kind of SUBMISSION_KINDS) {
    const of =
      (key: keyof KindStats): Read =>
      (stats) =>
        stats.byKind[kind][key];
    counters.push(
      [of('chains'), chains, { kind }],
      [of('events'), events, { kind }],
      [of('chainsTimedOut'), timedOut, { kind }],
      [of('rejectedOverloaded'), rejected, { reason: 'overloaded', kind }],
      [of('rejectedDraining'), rejected, { reason: 'draining', kind }],
      [of('rejectedInvalid'), rejected, { reason: 'invalid', kind }],
    );
  }
  counters.push([(stats) => stats.requestsFailed, failed, {}]);
  // Every series from the start, at 0, so rate() works before the first raw request.
  for (const [, each, labels] of counters) each.inc(labels, 0);
  const advance = (): void => {
    const stats = batcher.stats;
    const now = counters.map(([read]) => read(stats));
    counters.forEach(([, each, labels], i) => {
      const delta = now[i]! - (seen[i] ?? 0);
      if (delta > 0) each.inc(labels, delta);
    });
    seen = now;
  };
  batcherGauges(m, batcher);
}

function batcherGauges(m: BridgeMetrics, batcher: { stats: Readonly<BatcherStats> }): void {
  const p = METRIC_PREFIX;
  const registers = [m.registry];
  new client.Gauge({
    name: `${p}batcher_queued_events`,
    help: 'Transfers queued in the batcher, not yet sent',
    registers,
    collect() {
      this.set(batcher.stats.queuedEvents);
    },
  });
  new client.Gauge({
    name: `${p}batcher_inflight_requests`,
    help: 'Ledger requests in flight from the batcher',
    registers,
    collect() {
      this.set(batcher.stats.inflight);
    },
  });
}
