/**
 * The reconciler as a background loop of the projection worker: a run every `intervalMs`, the
 * last mismatch count kept for the metric (which must read 0), and never a crash: a failed run is
 * logged with its context and the next one waits longer (doubling, up to `backoffMaxMs`), as
 * pg-boss's workers do, instead of hot-looping against a database or ledger that is down.
 *
 * Each run compares every account (O(accounts): one page of lookups per 8189) and the transfers
 * of a rolling window: the last `lookbackMs` up to the horizon. Older history is the CLI's job
 * (`ledger-bridge reconcile --since …`), which has no such bound. A window that held a transfer
 * mismatch pins its start: later runs begin there until a run finds it clean, so a mismatch keeps
 * the metric non-zero until the data is repaired (a client's retry completing a transfer without
 * metadata, say) rather than until it ages out of the window. A deferred run (projection behind)
 * leaves the count as it was: nothing new is known.
 */
import type { Logger } from '../../../core/logger';
import { reconcile, type ReconcileDeps } from './reconcile';
import type { ReconcileReport } from './report';

/**
 * How far back each run's transfer window reaches (ms): 15 minutes is about a million transfers
 * at the write path's 1,000 journals/s floor, a few seconds of work per run.
 */
export const LOOKBACK_MS_DEFAULT = 900_000;
/** Longest wait after repeated failures (ms). */
export const BACKOFF_MAX_MS_DEFAULT = 300_000;

export interface PeriodicOptions {
  intervalMs: number;
  lookbackMs?: number;
  backoffMaxMs?: number;
  /** Examples kept per kind in each report. */
  examplesPerKind?: number;
}

export interface PeriodicReconcile {
  /** Mismatches found by the last completed run; null before the first. For the gauge. */
  lastMismatchCount(): number | null;
  lastReport(): ReconcileReport | null;
  /** Runs consecutive failures so far (0 after a success). */
  failures(): number;
  /** Stops the loop; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

const NS_PER_MS = 1_000_000n;

export function startPeriodicReconcile(
  deps: ReconcileDeps,
  log: Logger,
  options: PeriodicOptions,
): PeriodicReconcile {
  const clockMs = deps.clockMs ?? Date.now;
  const backoffMaxMs = options.backoffMaxMs ?? BACKOFF_MAX_MS_DEFAULT;
  const lookbackMs = options.lookbackMs ?? LOOKBACK_MS_DEFAULT;
  /** Start of the earliest window still holding a transfer mismatch, if any. */
  let dirtyFrom: bigint | null = null;
  let last: ReconcileReport | null = null;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  const runOnce = async (): Promise<void> => {
    try {
      const recent = BigInt(Math.max(1, clockMs() - lookbackMs)) * NS_PER_MS;
      const timestampMin = dirtyFrom !== null && dirtyFrom < recent ? dirtyFrom : recent;
      const report = await reconcile(deps, {
        timestampMin,
        examplesPerKind: options.examplesPerKind,
      });
      failures = 0;
      if (report.deferred !== null) {
        log.warn({ reason: report.deferred }, 'reconcile deferred: projection behind');
        return;
      }
      last = report;
      // Dead letters are not bound to a window: they do not pin one either.
      const transferMismatches =
        report.mismatchCount - accountMismatches(report) - report.counts.dead_lettered_event;
      dirtyFrom = transferMismatches === 0 ? null : timestampMin;
      const summary = {
        mismatches: report.mismatchCount,
        counts: report.counts,
        window: report.window,
        accounts: report.accounts,
        transfers: report.transfers,
        durationMs: report.durationMs,
      };
      if (report.mismatchCount === 0) log.info(summary, 'reconcile clean');
      else
        log.error(
          { ...summary, examples: report.examples.slice(0, 10) },
          'reconcile found mismatches',
        );
    } catch (error) {
      failures++;
      log.error({ err: error, failures }, 'reconcile run failed; backing off');
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    const delayMs = Math.min(options.intervalMs * 2 ** Math.min(failures, 20), backoffMaxMs);
    timer = setTimeout(
      () => {
        timer = null;
        running = runOnce().finally(() => {
          running = null;
          schedule();
        });
      },
      Math.max(options.intervalMs, delayMs),
    );
    timer.unref();
  };
  schedule();

  return {
    lastMismatchCount: () => last?.mismatchCount ?? null,
    lastReport: () => last,
    failures: () => failures,
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}

function accountMismatches(report: ReconcileReport): number {
  const c = report.counts;
  return c.account_missing_in_ledger + c.account_balance_mismatch + c.account_attribute_mismatch;
}
