/**
 * One bridge's monitor: the Prometheus registry, the SLO evaluator, the alerter and the dashboard's
 * time series, fed by small hooks the composition root wires (HTTP answers, journal outcomes,
 * Kafka sends, cache lookups) and by a 1 s tick that polls projection lag, evaluates the SLOs,
 * raises or clears alerts and appends a dashboard point. The tick is unref'd and never throws: a
 * failed poll is logged (at most once a minute) and the next tick tries again.
 */
import type { BatchReport } from '../../../events/publisher';
import type { Logger } from '../../../core/logger';
import type { Queryable } from '../../../core/postgres/pool';
import { SloAlerter } from './alerts';
import { dependencyHealth } from './health';
import type { JournalCounters } from './instrument';
import { ProjectionLagTracker } from './lag';
import {
  type BridgeMetrics,
  type CacheLevel,
  createBridgeMetrics,
  type MetricsOptions,
  observeHttp,
  publisherOnBatch,
} from './metrics';
import { type SloOptions, type SloReport, type SloState, SloEvaluator } from './slo';
import { CountWindow, LatencyWindow, type MonitorClock, systemMonitorClock } from './window';
import { readWorkerGauges } from './worker-gauges';

export interface MonitorOptions {
  log: Logger;
  slo?: SloOptions;
  /** Alert webhook (unset: alerts are logged only) and its timeout. */
  alertWebhookUrl?: string;
  alertWebhookTimeoutMs?: number;
  /** Names this instance in alerts. */
  source?: string;
  metrics?: MetricsOptions;
  /** Projection lag from the checkpoints; unset: no lag SLO data from this bridge. */
  lag?: { db: Queryable; topic: string; groupId: string };
  /** Pools whose health /metrics reports (`SELECT 1`), by dependency name. */
  pools?: Record<string, Queryable>;
  /** Projection workers' /metrics URLs: their reconciliation mismatch count feeds the SLO. */
  workerMetricsUrls?: string[];
  /** Dashboard history kept (s). */
  historySec?: number;
  clock?: MonitorClock;
}

/** What the monitor reads of each read replica (the replica router's `lag()`). */
export interface ReplicaHealth {
  name: string;
  up: boolean;
  lagMs: number | null;
}

export const MONITOR_TICK_MS = 1_000;
export const HISTORY_SEC_DEFAULT = 300;
/** Worker /metrics are read every this many ticks. */
const WORKER_POLL_TICKS = 5;
/** Latency percentiles on the dashboard are over this rolling span (ms): smoother than 1 s. */
const DASHBOARD_LATENCY_SPAN_MS = 5_000;
/** A failing background poll is logged at most this often (ms). */
const POLL_ERROR_LOG_EVERY_MS = 60_000;

export interface DashboardPoint {
  /** The second this point covers (ms since epoch, start of the second). */
  t: number;
  offeredPerSec: number;
  journalsPerSec: number;
  requestsPerSec: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  balanceP95Ms: number | null;
  errorRatio: number | null;
  lagMs: number | null;
  cacheHitRatio: number | null;
}

export interface DashboardData {
  now: number;
  intervalMs: number;
  points: DashboardPoint[];
  slo: SloReport;
  alerts: string[];
}

/** What the balance reader reports (bridge/src/balances/reader.ts, `stats()`). */
export interface BalanceCacheStats {
  served: { l1: number; l2: number; ledger: number };
  redisHealthy?: boolean;
}

const STATE_VALUE: Record<SloState, number> = { ok: 0, at_risk: 1, breached: 2, no_data: -1 };

export class Monitor {
  readonly metrics: BridgeMetrics;
  readonly slo: SloEvaluator;
  readonly alerter: SloAlerter;
  readonly lag: ProjectionLagTracker | null;
  private readonly clock: MonitorClock;
  private readonly counts: CountWindow<'offered' | 'journals' | 'requests' | 'errors' | 'hits'>;
  private readonly cacheLookups: CountWindow<'lookups'>;
  private readonly api: LatencyWindow;
  private readonly balance: LatencyWindow;
  private readonly history: DashboardPoint[] = [];
  private readonly historySec: number;
  private last: SloReport;
  private lagMs: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;
  private ticking: Promise<void> | null = null;
  private lastPollErrorMs = -Infinity;
  private cacheSource: (() => BalanceCacheStats) | null = null;
  private replicaSource: (() => readonly ReplicaHealth[]) | null = null;
  private cacheSeen: BalanceCacheStats['served'] = { l1: 0, l2: 0, ledger: 0 };

  constructor(private readonly options: MonitorOptions) {
    this.clock = options.clock ?? systemMonitorClock;
    this.metrics = createBridgeMetrics(options.metrics);
    this.slo = new SloEvaluator({ ...options.slo, clock: this.clock });
    this.alerter = new SloAlerter({
      log: options.log,
      webhookUrl: options.alertWebhookUrl,
      webhookTimeoutMs: options.alertWebhookTimeoutMs,
      source: options.source,
    });
    this.lag = options.lag === undefined ? null : new ProjectionLagTracker(options.lag);
    if (options.pools !== undefined) dependencyHealth(this.metrics, options.pools);
    this.historySec = options.historySec ?? HISTORY_SEC_DEFAULT;
    const span = 8;
    this.counts = new CountWindow(['offered', 'journals', 'requests', 'errors', 'hits'], span);
    this.cacheLookups = new CountWindow(['lookups'], span);
    this.api = new LatencyWindow(Infinity, span);
    this.balance = new LatencyWindow(Infinity, span);
    this.last = this.slo.evaluate();
  }

  /** Every HTTP answer; `route` is the route pattern ('unmatched' when none). */
  observeHttp(route: string, method: string, status: number, ms: number): void {
    observeHttp(this.metrics, route, method, status, ms);
    if (!route.startsWith('/api/')) return;
    const at = this.clock.nowMs();
    this.slo.observeRequest(route, status, ms, at);
    this.counts.add('requests', 1, at);
    if (status >= 500) this.counts.add('errors', 1, at);
    this.api.record(ms, at);
    if (route === '/api/balance/:accountId') this.balance.record(ms, at);
  }

  /** The journal service's observer counts through these: journalObserver(monitor.journals). */
  readonly journals: JournalCounters = {
    offered: () => {
      this.metrics.journalsOffered.inc();
      this.slo.journalOffered();
      this.counts.add('offered', 1, this.clock.nowMs());
    },
    settled: (outcome, posted) => {
      this.metrics.journals.inc({ outcome });
      if (outcome === 'failed') return;
      this.slo.journalCompleted();
      this.counts.add('journals', 1, this.clock.nowMs());
      if (posted !== null) this.lag?.published(posted.position);
    },
  };

  /** The outcome publisher's onBatch option. */
  readonly onPublisherBatch = (report: BatchReport): void => publisherOnBatch(this.metrics, report);

  /** A balance cache lookup: answered by a level, or missed every level. */
  cacheLookup(result: CacheLevel | 'miss'): void {
    if (result === 'miss') this.metrics.cacheMisses.inc({ cache: 'balance' });
    else this.metrics.cacheHits.inc({ cache: 'balance', level: result });
    const at = this.clock.nowMs();
    this.cacheLookups.add('lookups', 1, at);
    if (result !== 'miss') this.counts.add('hits', 1, at);
  }

  /**
   * Follows a balance reader's own counters (served per level; `ledger` = missed both caches)
   * instead of a call per read: each tick adds the difference since the last one. `redisHealthy`,
   * when given, is reported as dependency `redis`.
   */
  followBalanceCache(source: () => BalanceCacheStats): void {
    this.cacheSource = source;
    this.cacheSeen = { ...source().served };
  }

  /** Follows the read replicas: `dependency_up{dependency=<name>}` and their replay lag. */
  followReplicas(source: () => readonly ReplicaHealth[]): void {
    this.replicaSource = source;
  }

  setReconcileMismatches(count: number | null): void {
    this.slo.setMismatches(count);
    this.metrics.reconcileMismatches.set(count ?? Number.NaN);
  }

  start(): this {
    if (this.timer === null) {
      this.timer = setInterval(() => void this.tick(), MONITOR_TICK_MS);
      this.timer.unref();
    }
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.alerter.flush();
  }

  /** One evaluation (the timer calls it every second; tests call it with a fake clock). */
  tick(): Promise<void> {
    this.ticking ??= this.tickOnce().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  report(): SloReport {
    return this.last;
  }

  dashboard(sinceMs = 0): DashboardData {
    return {
      now: this.clock.nowMs(),
      intervalMs: MONITOR_TICK_MS,
      points: this.history.filter((point) => point.t > sinceMs),
      slo: this.last,
      alerts: this.alerter.active(),
    };
  }

  private async tickOnce(): Promise<void> {
    this.ticks++;
    this.pollCache();
    this.pollReplicas();
    await Promise.all([this.pollLag(), this.pollWorkers()]);
    const now = this.clock.nowMs();
    if (this.lagMs !== null) this.slo.observeLagMs(this.lagMs, now);
    this.last = this.slo.evaluate(now);
    for (const slo of this.last.slos) {
      this.metrics.sloState.set({ slo: slo.name }, STATE_VALUE[slo.state]);
      this.metrics.sloBurnRate.set({ slo: slo.name, window: 'short' }, slo.burnRate ?? Number.NaN);
      this.metrics.sloBurnRate.set(
        { slo: slo.name, window: 'long' },
        slo.burnRateLong ?? Number.NaN,
      );
    }
    this.alerter.update(this.last);
    this.appendPoint(now);
  }

  private appendPoint(now: number): void {
    // The last whole second: the current one is still filling.
    const t = (Math.floor(now / 1_000) - 1) * 1_000;
    const newest = this.history[this.history.length - 1];
    if (newest !== undefined && newest.t >= t) return;
    const second = this.counts.sum(t + 999, 1_000);
    const lookups = this.cacheLookups.sum(t + 999, 1_000).lookups;
    const api = this.api.summary(t + 999, DASHBOARD_LATENCY_SPAN_MS);
    const recent = this.counts.sum(t + 999, DASHBOARD_LATENCY_SPAN_MS);
    this.history.push({
      t,
      offeredPerSec: second.offered,
      journalsPerSec: second.journals,
      requestsPerSec: second.requests,
      p50Ms: api.quantile(0.5),
      p95Ms: api.quantile(0.95),
      p99Ms: api.quantile(0.99),
      balanceP95Ms: this.balance.summary(t + 999, DASHBOARD_LATENCY_SPAN_MS).quantile(0.95),
      errorRatio: recent.requests === 0 ? null : recent.errors / recent.requests,
      lagMs: this.lagMs,
      cacheHitRatio: lookups === 0 ? null : second.hits / lookups,
    });
    if (this.history.length > this.historySec) this.history.shift();
  }

  private pollReplicas(): void {
    for (const replica of this.replicaSource?.() ?? []) {
      this.metrics.dependencyUp.set({ dependency: replica.name }, replica.up ? 1 : 0);
      const seconds = replica.lagMs === null ? Number.NaN : replica.lagMs / 1_000;
      this.metrics.replicaLagSeconds.set({ replica: replica.name }, seconds);
    }
  }

  private pollCache(): void {
    if (this.cacheSource === null) return;
    const stats = this.cacheSource();
    const at = this.clock.nowMs();
    let lookups = 0;
    for (const level of ['l1', 'l2', 'ledger'] as const) {
      const delta = stats.served[level] - this.cacheSeen[level];
      if (delta <= 0) continue;
      lookups += delta;
      if (level === 'ledger') this.metrics.cacheMisses.inc({ cache: 'balance' }, delta);
      else {
        this.metrics.cacheHits.inc({ cache: 'balance', level }, delta);
        this.counts.add('hits', delta, at);
      }
    }
    if (lookups > 0) this.cacheLookups.add('lookups', lookups, at);
    this.cacheSeen = { ...stats.served };
    if (stats.redisHealthy !== undefined) {
      this.metrics.dependencyUp.set({ dependency: 'redis' }, stats.redisHealthy ? 1 : 0);
    }
  }

  private async pollLag(): Promise<void> {
    if (this.lag === null) return;
    try {
      const reading = await this.lag.poll(this.clock.nowMs());
      this.lagMs = reading.lagMs;
      if (reading.lagMs !== null) this.metrics.projectionLagSeconds.set(reading.lagMs / 1_000);
      for (const [partition, events] of reading.events) {
        this.metrics.projectionLagEvents.set({ partition: String(partition) }, events);
      }
    } catch (error) {
      this.pollFailed(error, 'projection lag poll failed');
    }
  }

  private async pollWorkers(): Promise<void> {
    const urls = this.options.workerMetricsUrls ?? [];
    if (urls.length === 0 || (this.ticks - 1) % WORKER_POLL_TICKS !== 0) return;
    const gauges = await readWorkerGauges(urls);
    for (const failure of gauges.failures) this.pollFailed(failure, 'worker metrics poll failed');
    this.setReconcileMismatches(gauges.mismatches);
  }

  private pollFailed(error: unknown, message: string): void {
    const now = this.clock.nowMs();
    if (now - this.lastPollErrorMs < POLL_ERROR_LOG_EVERY_MS) return;
    this.lastPollErrorMs = now;
    this.options.log.warn({ err: error }, message);
  }
}
