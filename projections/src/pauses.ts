/**
 * Partitions paused after a transient failure. The runner pauses the partition in the consumer
 * and returns from its batch at once, so a partition waiting on a database that is down holds no
 * consumer slot; the timer here resumes it after an exponential backoff (the consecutive failures
 * of that partition are the exponent, reset by its next commit).
 */

export interface BackoffLimits {
  /** The first delay (ms); each consecutive failure doubles it... */
  backoffInitialMs: number;
  /** ...up to this (ms). */
  backoffMaxMs: number;
}

/** The delay after the `failures`-th consecutive failure (1: the initial delay). */
export function backoffMs(failures: number, limits: BackoffLimits): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(limits.backoffMaxMs, limits.backoffInitialMs * 2 ** exponent);
}

export interface PauseActions {
  /** Stops fetching the partition. */
  pause(partition: number): void;
  /** Before resuming: seeks to the checkpoint. A rejection keeps it paused, for longer. */
  prepare(partition: number): Promise<void>;
  /** Fetches the partition again. */
  resume(partition: number): void;
  /** A `prepare` that failed, with the next delay. */
  onResumeFailed(partition: number, error: unknown, delayMs: number): void;
}

export class PartitionPauses {
  /** Consecutive failures per partition: the backoff's exponent. */
  private readonly failures = new Map<number, number>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly limits: BackoffLimits,
    private readonly actions: PauseActions,
  ) {}

  isPaused(partition: number): boolean {
    return this.timers.has(partition);
  }

  /** Counts one more consecutive failure; returns the delay it earns. */
  failed(partition: number): { failures: number; delayMs: number } {
    const failures = (this.failures.get(partition) ?? 0) + 1;
    this.failures.set(partition, failures);
    return { failures, delayMs: backoffMs(failures, this.limits) };
  }

  /** A commit: the next failure starts from the initial delay again. */
  succeeded(partition: number): void {
    this.failures.delete(partition);
  }

  /** Pauses the partition now and resumes it after `delayMs`. */
  pause(partition: number, delayMs: number): void {
    if (this.closed) return;
    this.actions.pause(partition);
    clearTimeout(this.timers.get(partition));
    this.timers.set(
      partition,
      setTimeout(() => void this.resume(partition), delayMs),
    );
  }

  /** Cancels every pending resume (the consumer is leaving). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async resume(partition: number): Promise<void> {
    if (this.closed) return;
    try {
      await this.actions.prepare(partition);
    } catch (error) {
      const { delayMs } = this.failed(partition);
      this.actions.onResumeFailed(partition, error, delayMs);
      this.pause(partition, delayMs);
      return;
    }
    if (this.closed) return;
    this.timers.delete(partition);
    this.actions.resume(partition);
  }
}
