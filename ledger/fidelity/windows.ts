/**
 * Keeps the fuzzer's calls clear of pending-transfer deadlines, so expiry is deterministic.
 *
 * A pending transfer with a short timeout expires on each ledger by that ledger's clock: its
 * deadline is its own timestamp + timeout, and the ledger then releases it (a pulse) a few
 * milliseconds later. Both clocks follow this machine's wall clock (the cluster's timestamps
 * track it within ~1 ms; measured), so on both ledgers the deadline falls within
 * [w0 + timeout, w1 + timeout], where [w0, w1] is the wall-clock span of the create calls. Around
 * that span is the transfer's window: a call made inside it could find the transfer expired on
 * one ledger and not yet on the other. The runner waits until no window is open before each
 * call; outside every window, expired-or-not is the same on both ledgers, and every status,
 * balance and query is compared exactly. A transfer posted or voided on both ledgers before its
 * window closes its window: it can no longer expire.
 */

/** The cluster's clock may run this far ahead of the wall clock (measured: ~1 ms). */
const CLOCK_SKEW_MS_MAX = 50;
/** From deadline to release on the cluster (measured: ~10 ms); generous for a loaded cluster. */
const RELEASE_LATENCY_MS_MAX = 250;
/** A call pair (engine, then cluster) expected to finish within this; slower ones are flagged. */
const CALL_SPAN_MS_MAX = 100;

const sleepMs = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

interface Window {
  key: string;
  startMs: number;
  endMs: number;
}

export class ExpiryWindows {
  private windows: Window[] = [];
  /** Waits made, and their total, for the summary. */
  waits = 0;
  waitedMs = 0;

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** A pending transfer created during [w0Ms, w1Ms] with `timeoutS`. */
  add(key: string, w0Ms: number, w1Ms: number, timeoutS: number): void {
    this.windows.push({
      key,
      startMs: w0Ms + timeoutS * 1000 - CLOCK_SKEW_MS_MAX,
      endMs: w1Ms + timeoutS * 1000 + CLOCK_SKEW_MS_MAX + RELEASE_LATENCY_MS_MAX,
    });
  }

  /** The transfer was posted or voided: it will not expire. */
  remove(key: string): void {
    this.windows = this.windows.filter((w) => w.key !== key);
  }

  /** Resolves once a call pair starting now would end before every open window. */
  async waitClear(): Promise<void> {
    for (;;) {
      const now = this.nowMs();
      this.windows = this.windows.filter((w) => w.endMs >= now);
      const blocking = this.windows.filter((w) => w.startMs <= now + CALL_SPAN_MS_MAX);
      if (blocking.length === 0) return;
      const until = Math.max(...blocking.map((w) => w.endMs)) + 1;
      this.waits += 1;
      this.waitedMs += until - now;
      await sleepMs(until - now);
    }
  }

  /** Whether calls made during [startMs, endMs] may have met a window (they ran too long). */
  overlaps(startMs: number, endMs: number): boolean {
    return this.windows.some((w) => w.startMs <= endMs && startMs <= w.endMs);
  }
}
