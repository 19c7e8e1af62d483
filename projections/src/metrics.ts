/**
 * The projection worker's Prometheus metrics and its own small /metrics listener (the worker has
 * no HTTP API). Counters and lag are read from the runner's stats at each scrape; the apply lag
 * (now − each applied record's Kafka timestamp) and transaction latency come from the runner's
 * `onCommit` hook; the reconciliation gauge from the periodic reconciler. Names are what
 * infra/prometheus/alerts.yml and the Grafana dashboard query.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import { DEAD_LETTER_REASONS } from './dead-letter';
import type { PendingCount } from './dead-letter-table';
import type { PeriodicReconcile } from './reconcile/periodic';
import type { CommitReport, RunnerStats } from './runner';

export const WORKER_METRIC_PREFIX = 'ledger_projections_';
/** Apply lag and transaction buckets (s): 1 ms … 60 s. */
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_BUCKETS = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export interface WorkerMetricsSources {
  runner: { stats(): RunnerStats };
  /** The dead letters not replayed yet (projection_dead_letter); absent: the gauge stays empty. */
  deadLetters?: { pending(): Promise<readonly PendingCount[]> } | null;
  /** Null when the worker does not reconcile (embedded engine). */
  reconciler?: Pick<PeriodicReconcile, 'lastMismatchCount' | 'failures'> | null;
}

export interface WorkerMetrics {
  registry: client.Registry;
  /** The runner's `onCommit` option. `durationMs`, when the runner reports it, feeds latency. */
  onCommit(report: CommitReport & { durationMs?: number }): void;
  /** A projection transaction's latency, for a runner that times its own transactions. */
  observeTransaction(ms: number): void;
}

export function createWorkerMetrics(
  sources: WorkerMetricsSources,
  options: { defaultMetrics?: boolean; nowMs?: () => number } = {},
): WorkerMetrics {
  const registry = new client.Registry();
  if (options.defaultMetrics ?? true) client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const p = WORKER_METRIC_PREFIX;
  const nowMs = options.nowMs ?? Date.now;
  let seen: RunnerStats | null = null;
  const stats = (): RunnerStats => (seen = sources.runner.stats());
  // Counters follow the runner's own totals: each collect adds the difference since the last.
  const follow = (name: string, help: string, pick: (s: RunnerStats) => number) => {
    let last = 0;
    return new client.Counter({
      name: `${p}${name}`,
      help,
      registers,
      collect() {
        const now = pick(seen ?? stats());
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  };
  new client.Gauge({
    name: `${p}lag_events`,
    help: 'Events between the topic high watermark and the checkpoint, per partition',
    labelNames: ['topic', 'partition'],
    registers,
    collect() {
      // The first metric collected: reads the runner's stats once for this scrape.
      const s = stats();
      this.reset();
      for (const part of s.partitions) {
        if (part.lag === null) continue;
        this.set({ topic: part.topic, partition: String(part.partition) }, part.lag);
      }
    },
  });
  new client.Gauge({
    name: `${p}lag_events_total`,
    help: 'Sum of every partition lag at the last poll (NaN before the first)',
    registers,
    collect() {
      this.set((seen ?? stats()).lagTotal ?? Number.NaN);
    },
  });
  follow('events_applied_total', 'Events applied by the projections', (s) => s.eventsApplied);
  follow('batches_committed_total', 'Projection transactions committed', (s) => s.batchesCommitted);
  follow('batches_failed_total', 'Projection transactions that failed', (s) => s.batchesFailed);
  follow('batches_fenced_total', 'Batches refused by a fenced checkpoint', (s) => s.batchesFenced);
  deadLetterMetrics(registers, () => seen ?? stats(), sources.deadLetters ?? null);
  new client.Gauge({
    name: `${p}lag_poll_failures`,
    help: 'Consecutive failed lag polls (0 after a success)',
    registers,
    collect() {
      this.set((seen ?? stats()).lagPollFailures);
    },
  });
  new client.Gauge({
    name: `${p}reconcile_mismatches`,
    help: 'Mismatches found by the last reconciliation run (NaN: none yet, or not reconciling)',
    registers,
    collect() {
      this.set(sources.reconciler?.lastMismatchCount() ?? Number.NaN);
    },
  });
  new client.Gauge({
    name: `${p}reconcile_failures`,
    help: 'Consecutive failed reconciliation runs',
    registers,
    collect() {
      this.set(sources.reconciler?.failures() ?? 0);
    },
  });
  const applyLag = new client.Histogram({
    name: `${p}apply_lag_seconds`,
    help: "From an event's Kafka timestamp to its projection transaction's commit",
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const batchEvents = new client.Histogram({
    name: `${p}batch_events`,
    help: 'Events per projection transaction',
    buckets: BATCH_BUCKETS,
    registers,
  });
  const transaction = new client.Histogram({
    name: `${p}transaction_duration_seconds`,
    help: 'Projection transaction latency (when the runner reports it)',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  return {
    registry,
    onCommit(report) {
      batchEvents.observe(report.events);
      const committed = report.committedAtMs ?? nowMs();
      for (const ts of report.recordTimestampsMs) {
        applyLag.observe(Math.max(0, committed - ts) / 1_000);
      }
      if (report.durationMs !== undefined) transaction.observe(report.durationMs / 1_000);
    },
    observeTransaction(ms) {
      transaction.observe(ms / 1_000);
    },
  };
}

/**
 * Dead letters: a counter per reason, following the runners' totals (the name predates the
 * label: `sum` of it is the old series), and a gauge of the rows not replayed, per topic and
 * reason, read from PostgreSQL at each scrape (it stays up until replay-dlq has run, whatever
 * worker restarted meanwhile). A failed read keeps the last values.
 */
function deadLetterMetrics(
  registers: client.Registry[],
  stats: () => RunnerStats,
  source: WorkerMetricsSources['deadLetters'],
): void {
  const last = new Map<string, number>();
  new client.Counter({
    name: `${WORKER_METRIC_PREFIX}events_dead_lettered_total`,
    help: 'Events the projections skipped (sent to the DLQ and projection_dead_letter), by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      const byReason = stats().eventsDeadLetteredByReason;
      for (const reason of DEAD_LETTER_REASONS) {
        const now = byReason[reason];
        const before = last.get(reason) ?? 0;
        // Every reason is exported from the start, at 0, so increase() sees the first one.
        this.inc({ reason }, Math.max(0, now - before));
        last.set(reason, Math.max(now, before));
      }
    },
  });
  new client.Gauge({
    name: `${WORKER_METRIC_PREFIX}dead_letters_pending`,
    help: 'Dead letters not replayed yet (projection_dead_letter), by topic and reason',
    labelNames: ['topic', 'reason'],
    registers,
    async collect() {
      if (source === null || source === undefined) return;
      const rows = await source.pending().catch(() => null);
      if (rows === null) return;
      this.reset();
      for (const row of rows) this.inc({ topic: row.topic, reason: row.reason }, row.count);
    },
  });
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** A node:http listener answering GET /metrics (and 404 otherwise). Port 0 picks a free one. */
export function startMetricsServer(
  registry: client.Registry,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/metrics`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
