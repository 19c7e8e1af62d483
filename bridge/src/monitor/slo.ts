/**
 * The SLO evaluator: observations in (HTTP answers, journals offered and completed, projection
 * lag samples, the reconciler's mismatch count), `evaluate(now)` out — each SLO's target, current
 * value, state and error-budget burn rate.
 *
 * Windows: `shortWindowMs` (1 min) gives `current` and reacts fast; `longWindowMs` (5 min) keeps
 * a brief spike from counting as a breach. For SLOs with an error budget (errors, availability,
 * latency percentiles, lag), the burn rate is the share of bad events over the budget: 1 spends
 * the budget exactly as fast as the target allows. Multi-window, as in Google's SRE workbook but
 * scaled to minutes: breached when both windows burn at ≥ 1 (the SLO is missed now and was over
 * the longer window) or the short one at ≥ `fastBurn` (14.4×: a cliff, no need to wait); at risk
 * when either burns at ≥ `atRiskBurn`. Production alerting over hours and days is Prometheus's
 * job (infra/prometheus/alerts.yml); this evaluator is the process's own live view.
 *
 * Throughput is measured only while it is offered: below the target's offered rate the SLO says
 * `no_data` rather than flag an idle system.
 */
import { CountWindow, LatencyWindow, type MonitorClock, systemMonitorClock } from './window';

export type SloState = 'ok' | 'at_risk' | 'breached' | 'no_data';

export type SloName =
  | 'throughput_sustained'
  | 'throughput_peak'
  | 'balance_read_p95'
  | 'api_latency_p99'
  | 'error_rate'
  | 'availability'
  | 'projection_lag_p99'
  | 'reconciliation_mismatches';

export interface SloTargets {
  /** Journals/s the write path sustains over the short window while at least this is offered. */
  throughputJournalsPerSec: number;
  /** Journals/s over `peakWindowMs` while at least this is offered. */
  peakJournalsPerSec: number;
  balanceReadP95Ms: number;
  apiP99Ms: number;
  /** Share of /api answers that are 5xx, at most. */
  errorRatioMax: number;
  /** Share of /api answers that are not 5xx, at least (over the long window). */
  availabilityMin: number;
  projectionLagP99Ms: number;
  reconciliationMismatchesMax: number;
}

export const SLO_TARGETS_DEFAULT: SloTargets = {
  throughputJournalsPerSec: 1_000,
  peakJournalsPerSec: 2_000,
  balanceReadP95Ms: 50,
  apiP99Ms: 500,
  errorRatioMax: 0.01,
  availabilityMin: 0.999,
  projectionLagP99Ms: 1_000,
  reconciliationMismatchesMax: 0,
};

export interface SloOptions {
  targets?: Partial<SloTargets>;
  shortWindowMs?: number;
  longWindowMs?: number;
  peakWindowMs?: number;
  /** Short-window burn rate that breaches at once. */
  fastBurn?: number;
  /** Burn rate (either window) from which an SLO is at risk. */
  atRiskBurn?: number;
  /** Requests in the short window below which request SLOs say no_data (one slow call is noise). */
  requestsMin?: number;
  /** Lag samples in the short window below which the lag SLO says no_data. */
  lagSamplesMin?: number;
  /** Completed/offered share at which throughput is still ok (answers still in flight). */
  throughputSlack?: number;
  clock?: MonitorClock;
}

export const SLO_OPTIONS_DEFAULT = {
  shortWindowMs: 60_000,
  longWindowMs: 300_000,
  peakWindowMs: 10_000,
  fastBurn: 14.4,
  atRiskBurn: 0.8,
  requestsMin: 20,
  lagSamplesMin: 10,
  throughputSlack: 0.99,
} as const;

export interface SloStatus {
  name: SloName;
  description: string;
  /** `<=`: current must stay at or below target; `>=`: at or above. */
  objective: '<=' | '>=';
  target: number;
  unit: string;
  current: number | null;
  state: SloState;
  /** Short-window burn rate; null for SLOs without an error budget, or no data. */
  burnRate: number | null;
  burnRateLong: number | null;
  /** Observations behind `current` (requests, journals offered, samples). */
  samples: number;
}

export interface SloReport {
  at: string;
  windowMs: { short: number; long: number; peak: number };
  slos: SloStatus[];
}

type RequestKey = 'total' | 'errors';
type JournalKey = 'offered' | 'completed';

export class SloEvaluator {
  readonly targets: SloTargets;
  private readonly o: Required<Omit<SloOptions, 'targets' | 'clock'>>;
  private readonly clock: MonitorClock;
  private readonly startedMs: number;
  private readonly requests: CountWindow<RequestKey>;
  private readonly journals: CountWindow<JournalKey>;
  private readonly apiLatency: LatencyWindow;
  private readonly balanceLatency: LatencyWindow;
  private readonly lag: LatencyWindow;
  private mismatches: number | null = null;

  constructor(options: SloOptions = {}) {
    this.targets = { ...SLO_TARGETS_DEFAULT, ...options.targets };
    const { targets: _t, clock: _c, ...rest } = options;
    this.o = { ...SLO_OPTIONS_DEFAULT, ...rest };
    this.clock = options.clock ?? systemMonitorClock;
    const { shortWindowMs, longWindowMs, peakWindowMs } = this.o;
    if (!(shortWindowMs >= 1_000 && longWindowMs >= shortWindowMs && peakWindowMs >= 1_000)) {
      throw new RangeError('windows: 1 s ≤ short ≤ long, peak ≥ 1 s');
    }
    const spanSec = Math.ceil(Math.max(longWindowMs, peakWindowMs) / 1_000) + 1;
    this.startedMs = this.clock.nowMs();
    this.requests = new CountWindow(['total', 'errors'], spanSec);
    this.journals = new CountWindow(['offered', 'completed'], spanSec);
    this.apiLatency = new LatencyWindow(this.targets.apiP99Ms, spanSec);
    this.balanceLatency = new LatencyWindow(this.targets.balanceReadP95Ms, spanSec);
    this.lag = new LatencyWindow(this.targets.projectionLagP99Ms, spanSec);
  }

  /** One /api answer. `route` is the route pattern; balance reads feed their own SLO too. */
  observeRequest(route: string, status: number, ms: number, atMs = this.clock.nowMs()): void {
    this.requests.add('total', 1, atMs);
    if (status >= 500) this.requests.add('errors', 1, atMs);
    this.apiLatency.record(ms, atMs);
    if (route === BALANCE_ROUTE) this.balanceLatency.record(ms, atMs);
  }

  journalOffered(count = 1, atMs = this.clock.nowMs()): void {
    this.journals.add('offered', count, atMs);
  }

  /** A journal answered with a verdict (posted, held or rejected by the ledger or validation). */
  journalCompleted(count = 1, atMs = this.clock.nowMs()): void {
    this.journals.add('completed', count, atMs);
  }

  observeLagMs(lagMs: number, atMs = this.clock.nowMs()): void {
    this.lag.record(lagMs, atMs);
  }

  /** The reconciler's last count; null: unknown (no run yet, or no reconciler reachable). */
  setMismatches(count: number | null): void {
    this.mismatches = count;
  }

  evaluate(nowMs = this.clock.nowMs()): SloReport {
    return {
      at: new Date(nowMs).toISOString(),
      windowMs: {
        short: this.o.shortWindowMs,
        long: this.o.longWindowMs,
        peak: this.o.peakWindowMs,
      },
      slos: [
        this.throughput(nowMs, 'throughput_sustained'),
        this.throughput(nowMs, 'throughput_peak'),
        this.latency(nowMs, 'balance_read_p95'),
        this.latency(nowMs, 'api_latency_p99'),
        this.errors(nowMs, 'error_rate'),
        this.errors(nowMs, 'availability'),
        this.latency(nowMs, 'projection_lag_p99'),
        this.reconciliation(),
      ],
    };
  }

  /** Journals/s over the last `windowMs` (only the time since start counts at first). */
  rates(nowMs: number, windowMs: number): { offered: number; completed: number } {
    const sums = this.journals.sum(nowMs, windowMs);
    const seconds = this.coveredMs(nowMs, windowMs) / 1_000;
    return { offered: sums.offered / seconds, completed: sums.completed / seconds };
  }

  private coveredMs(nowMs: number, windowMs: number): number {
    // The window's slots end with the current, partial second.
    const span = Math.ceil(windowMs / 1_000) * 1_000 - 1_000 + (nowMs % 1_000);
    return Math.max(1, Math.min(span, nowMs - this.startedMs));
  }

  private throughput(nowMs: number, name: SloName): SloStatus {
    const peak = name === 'throughput_peak';
    const target = peak ? this.targets.peakJournalsPerSec : this.targets.throughputJournalsPerSec;
    const windowMs = peak ? this.o.peakWindowMs : this.o.shortWindowMs;
    const { offered, completed } = this.rates(nowMs, windowMs);
    const base = {
      name,
      description: peak
        ? `≥ ${target} journals/s over ${windowMs / 1_000} s when offered (peak)`
        : `≥ ${target} journals/s sustained over ${windowMs / 1_000} s when offered`,
      objective: '>=' as const,
      target,
      unit: 'journals/s',
      current: round(completed),
      burnRate: null,
      burnRateLong: null,
      samples: Math.round(offered * (this.coveredMs(nowMs, windowMs) / 1_000)),
    };
    // Not offered: an idle or lightly loaded system is not failing its throughput SLO.
    if (offered < target) return { ...base, state: 'no_data' };
    const state: SloState =
      completed >= target * this.o.throughputSlack
        ? 'ok'
        : completed >= target * THROUGHPUT_BREACH_SHARE
          ? 'at_risk'
          : 'breached';
    return { ...base, state };
  }

  private latency(
    nowMs: number,
    name: 'balance_read_p95' | 'api_latency_p99' | 'projection_lag_p99',
  ): SloStatus {
    const spec = {
      balance_read_p95: {
        window: this.balanceLatency,
        q: 0.95,
        target: this.targets.balanceReadP95Ms,
        min: this.o.requestsMin,
        what: 'balance reads',
      },
      api_latency_p99: {
        window: this.apiLatency,
        q: 0.99,
        target: this.targets.apiP99Ms,
        min: this.o.requestsMin,
        what: '/api requests',
      },
      projection_lag_p99: {
        window: this.lag,
        q: 0.99,
        target: this.targets.projectionLagP99Ms,
        min: this.o.lagSamplesMin,
        what: 'projection lag',
      },
    }[name];
    const short = spec.window.summary(nowMs, this.o.shortWindowMs);
    const long = spec.window.summary(nowMs, this.o.longWindowMs);
    const budget = 1 - spec.q;
    const burnShort = short.count === 0 ? null : short.over / short.count / budget;
    const burnLong = long.count === 0 ? null : long.over / long.count / budget;
    return {
      name,
      description: `p${Math.round(spec.q * 100)} of ${spec.what} < ${spec.target} ms`,
      objective: '<=',
      target: spec.target,
      unit: 'ms',
      current: short.quantile(spec.q),
      state: short.count < spec.min ? 'no_data' : this.burnState(burnShort, burnLong),
      burnRate: round(burnShort),
      burnRateLong: round(burnLong),
      samples: short.count,
    };
  }

  private errors(nowMs: number, name: 'error_rate' | 'availability'): SloStatus {
    const availability = name === 'availability';
    const short = this.requests.sum(nowMs, this.o.shortWindowMs);
    const long = this.requests.sum(nowMs, this.o.longWindowMs);
    const budget = availability ? 1 - this.targets.availabilityMin : this.targets.errorRatioMax;
    const burn = (s: Record<RequestKey, number>) =>
      s.total === 0 ? null : s.errors / s.total / budget;
    const shown = availability ? long : short;
    const ratio = shown.total === 0 ? null : shown.errors / shown.total;
    return {
      name,
      description: availability
        ? `≥ ${this.targets.availabilityMin * 100}% of /api answers not 5xx ` +
          `(over ${this.o.longWindowMs / 1_000} s)`
        : `< ${this.targets.errorRatioMax * 100}% of /api answers 5xx`,
      objective: availability ? '>=' : '<=',
      target: availability ? this.targets.availabilityMin : this.targets.errorRatioMax,
      unit: 'ratio',
      current: ratio === null ? null : round(availability ? 1 - ratio : ratio, 6),
      state: short.total < this.o.requestsMin ? 'no_data' : this.burnState(burn(short), burn(long)),
      burnRate: round(burn(short)),
      burnRateLong: round(burn(long)),
      samples: shown.total,
    };
  }

  private reconciliation(): SloStatus {
    const target = this.targets.reconciliationMismatchesMax;
    const current = this.mismatches;
    return {
      name: 'reconciliation_mismatches',
      description: `reconciliation finds ≤ ${target} mismatches`,
      objective: '<=',
      target,
      unit: 'mismatches',
      current,
      state: current === null ? 'no_data' : current > target ? 'breached' : 'ok',
      burnRate: null,
      burnRateLong: null,
      samples: current === null ? 0 : 1,
    };
  }

  private burnState(short: number | null, long: number | null): SloState {
    const s = short ?? 0;
    const l = long ?? 0;
    if ((s >= 1 && l >= 1) || s >= this.o.fastBurn) return 'breached';
    if (s >= this.o.atRiskBurn || l >= this.o.atRiskBurn) return 'at_risk';
    return 'ok';
  }
}

/** Below this share of the target while offered, throughput is breached (between: at risk). */
const THROUGHPUT_BREACH_SHARE = 0.9;

/** The balance read route's pattern (bridge/src/balances/routes.ts). */
export const BALANCE_ROUTE = '/api/balance/:accountId';

function round(value: number | null, digits = 3): number | null {
  if (value === null || !Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
