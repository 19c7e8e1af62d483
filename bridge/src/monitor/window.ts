/**
 * Sliding windows over per-second slots, for the SLO evaluator and the dashboard. A ring of
 * `spanSec` slots holds counts (and latency histograms) per wall-clock second; a slot is reset the
 * first time it is touched in a new second, so memory is fixed and nothing needs a timer. A window
 * query sums the slots of the last N seconds, skipping slots left over from earlier laps.
 *
 * Latencies go into log-scale buckets (ratio LATENCY_BUCKET_RATIO, 0.05 ms to 10 min), so a
 * quantile is exact to within one bucket (≤ 12%) and read as the bucket's upper bound, which errs
 * on the safe side for an SLO. Counts above an SLO threshold are kept exactly (`over`), so burn
 * rates do not depend on the bucket edges.
 */

/** The clock the monitor runs on: wall-clock milliseconds (Date.now), injectable in tests. */
export interface MonitorClock {
  nowMs(): number;
}

export const systemMonitorClock: MonitorClock = { nowMs: () => Date.now() };

const MS_PER_SEC = 1_000;
/** Smallest bucket bound (ms): below this a latency is not worth telling apart. */
const LATENCY_BUCKET_MIN_MS = 0.05;
/** Each bucket's upper bound is this times the previous one's. */
const LATENCY_BUCKET_RATIO = 1.12;
/** 10 minutes: anything slower lands in the last bucket. */
const LATENCY_BUCKET_MAX_MS = 600_000;
const LATENCY_BUCKETS = Math.ceil(
  Math.log(LATENCY_BUCKET_MAX_MS / LATENCY_BUCKET_MIN_MS) / Math.log(LATENCY_BUCKET_RATIO),
);

export function latencyBucketOf(ms: number): number {
  if (!(ms > LATENCY_BUCKET_MIN_MS)) return 0;
  const index = Math.ceil(Math.log(ms / LATENCY_BUCKET_MIN_MS) / Math.log(LATENCY_BUCKET_RATIO));
  return Math.min(index, LATENCY_BUCKETS - 1);
}

export function latencyBucketUpperMs(index: number): number {
  return LATENCY_BUCKET_MIN_MS * LATENCY_BUCKET_RATIO ** index;
}

/** Named counters per second, e.g. {total, errors}. */
export class CountWindow<K extends string> {
  private readonly secs: Float64Array;
  private readonly values: Float64Array;
  private readonly index: Record<K, number>;

  constructor(
    readonly keys: readonly K[],
    private readonly spanSec: number,
  ) {
    assertSpan(spanSec);
    this.secs = new Float64Array(spanSec).fill(-1);
    this.values = new Float64Array(spanSec * keys.length);
    this.index = Object.fromEntries(keys.map((key, i) => [key, i])) as Record<K, number>;
  }

  add(key: K, amount: number, atMs: number): void {
    const slot = this.slot(Math.floor(atMs / MS_PER_SEC));
    this.values[slot * this.keys.length + this.index[key]]! += amount;
  }

  /** Sums over the seconds in (nowMs − windowMs, nowMs]. */
  sum(nowMs: number, windowMs: number): Record<K, number> {
    const out = Object.fromEntries(this.keys.map((key) => [key, 0])) as Record<K, number>;
    forSeconds(nowMs, windowMs, this.spanSec, (sec) => {
      const slot = sec % this.spanSec;
      if (this.secs[slot] !== sec) return;
      for (let i = 0; i < this.keys.length; i++) {
        out[this.keys[i]!] += this.values[slot * this.keys.length + i]!;
      }
    });
    return out;
  }

  private slot(sec: number): number {
    const slot = sec % this.spanSec;
    if (this.secs[slot] !== sec) {
      this.secs[slot] = sec;
      this.values.fill(0, slot * this.keys.length, (slot + 1) * this.keys.length);
    }
    return slot;
  }
}

export interface LatencySummary {
  count: number;
  /** Observations above the window's threshold. */
  over: number;
  /** The q-quantile's bucket upper bound (ms); null when empty. */
  quantile(q: number): number | null;
}

/** Latencies per second: a log-bucket histogram plus an exact count above `overMs`. */
export class LatencyWindow {
  private readonly secs: Float64Array;
  private readonly counts: Uint32Array;
  private readonly overs: Uint32Array;
  private readonly buckets: Uint32Array;

  constructor(
    readonly overMs: number,
    private readonly spanSec: number,
  ) {
    assertSpan(spanSec);
    this.secs = new Float64Array(spanSec).fill(-1);
    this.counts = new Uint32Array(spanSec);
    this.overs = new Uint32Array(spanSec);
    this.buckets = new Uint32Array(spanSec * LATENCY_BUCKETS);
  }

  record(ms: number, atMs: number): void {
    const sec = Math.floor(atMs / MS_PER_SEC);
    const slot = sec % this.spanSec;
    if (this.secs[slot] !== sec) {
      this.secs[slot] = sec;
      this.counts[slot] = 0;
      this.overs[slot] = 0;
      this.buckets.fill(0, slot * LATENCY_BUCKETS, (slot + 1) * LATENCY_BUCKETS);
    }
    this.counts[slot]! += 1;
    if (ms > this.overMs) this.overs[slot]! += 1;
    this.buckets[slot * LATENCY_BUCKETS + latencyBucketOf(ms)]! += 1;
  }

  summary(nowMs: number, windowMs: number): LatencySummary {
    const merged = new Float64Array(LATENCY_BUCKETS);
    let count = 0;
    let over = 0;
    forSeconds(nowMs, windowMs, this.spanSec, (sec) => {
      const slot = sec % this.spanSec;
      if (this.secs[slot] !== sec || this.counts[slot] === 0) return;
      count += this.counts[slot]!;
      over += this.overs[slot]!;
      const base = slot * LATENCY_BUCKETS;
      for (let i = 0; i < LATENCY_BUCKETS; i++) merged[i]! += this.buckets[base + i]!;
    });
    return {
      count,
      over,
      quantile: (q) => {
        if (count === 0) return null;
        const rank = Math.max(1, Math.ceil(q * count));
        let seen = 0;
        for (let i = 0; i < LATENCY_BUCKETS; i++) {
          seen += merged[i]!;
          if (seen >= rank) return latencyBucketUpperMs(i);
        }
        return latencyBucketUpperMs(LATENCY_BUCKETS - 1);
      },
    };
  }
}

/** Calls `visit` for each whole second in (nowMs − windowMs, nowMs], newest first. */
function forSeconds(
  nowMs: number,
  windowMs: number,
  spanSec: number,
  visit: (sec: number) => void,
): void {
  const newest = Math.floor(nowMs / MS_PER_SEC);
  const seconds = Math.min(spanSec, Math.max(1, Math.ceil(windowMs / MS_PER_SEC)));
  for (let sec = newest; sec > newest - seconds; sec--) visit(sec);
}

function assertSpan(spanSec: number): void {
  if (!Number.isInteger(spanSec) || spanSec < 1 || spanSec > 86_400) {
    throw new RangeError(`a window spans 1 to 86,400 seconds, got ${spanSec}`);
  }
}
