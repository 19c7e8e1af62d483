/**
 * The worker's background loop that keeps `ledger_event`'s partitions created ahead. It never
 * dies on one error: a failure is logged with its context and retried after a backoff that
 * doubles up to a ceiling, instead of hot-looping against a database that is down.
 */
import type pg from 'pg';
import type { Logger } from '../../../core/logger';
import { ensurePartitions, MONTHS_AHEAD_DEFAULT } from './manager';

/** Months are created 3 ahead, so checking hourly leaves weeks of slack (ms). */
export const PARTITION_MAINTENANCE_INTERVAL_MS = 3_600_000;
/** First retry after a failure (ms); doubles per consecutive failure. */
export const PARTITION_RETRY_MIN_MS = 1_000;
/** Ceiling of the backoff (ms): a database down for hours is retried every 5 minutes. */
export const PARTITION_RETRY_MAX_MS = 300_000;

export interface MaintenanceOptions {
  intervalMs?: number;
  monthsAhead?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** The clock (tests pass a fixed one). */
  now?: () => Date;
}

export interface PartitionMaintenance {
  /** Resolves once the loop stopped (after a run in progress, if any). */
  stop(): Promise<void>;
  /** Runs completed, successful or not. */
  readonly runs: number;
  readonly consecutiveFailures: number;
}

export function startPartitionMaintenance(
  db: pg.Pool,
  log: Logger,
  options: MaintenanceOptions = {},
): PartitionMaintenance {
  const intervalMs = options.intervalMs ?? PARTITION_MAINTENANCE_INTERVAL_MS;
  const retryMinMs = options.retryMinMs ?? PARTITION_RETRY_MIN_MS;
  const retryMaxMs = Math.max(retryMinMs, options.retryMaxMs ?? PARTITION_RETRY_MAX_MS);
  const monthsAhead = options.monthsAhead ?? MONTHS_AHEAD_DEFAULT;
  const now = options.now ?? (() => new Date());
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const state = { runs: 0, consecutiveFailures: 0 };

  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce();
    }, delayMs);
    timer.unref();
  };

  const runOnce = async (): Promise<void> => {
    let delayMs = intervalMs;
    try {
      const result = await ensurePartitions(db, { monthsAhead, now: now() });
      state.consecutiveFailures = 0;
      if (result.created.length > 0) {
        log.info({ created: result.created }, 'ledger_event partitions created');
      }
    } catch (error) {
      state.consecutiveFailures += 1;
      delayMs = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(30, state.consecutiveFailures - 1));
      log.warn(
        { err: error, failures: state.consecutiveFailures, retryInMs: delayMs },
        'ledger_event partition maintenance failed; retrying',
      );
    } finally {
      state.runs += 1;
    }
    schedule(delayMs);
  };

  running = runOnce();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
    get runs() {
      return state.runs;
    },
    get consecutiveFailures() {
      return state.consecutiveFailures;
    },
  };
}
