/**
 * A runner's lag, per partition: the topic's high watermark minus the partition's checkpoint in
 * PostgreSQL, polled every `lagPollMs` (and on demand). A failed poll is logged and the next one
 * waits longer (the runner's backoff), never a crash.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from '../../core/logger';
import type { Queryable } from '../../core/postgres/pool';
import { readCheckpoints } from './checkpoints';
import { backoffMs, type BackoffLimits } from './pauses';
import type { PartitionStats } from './runner-types';

export interface LagSource {
  admin: Admin;
  db: Queryable;
  group: string;
  topic: string;
}

export class LagPoll {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failuresInARow = 0;
  private latest = new Map<number, PartitionStats>();

  constructor(
    private readonly source: LagSource,
    private readonly limits: BackoffLimits & { lagPollMs: number },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** Consecutive failed polls (0 after a success). */
  failures(): number {
    return this.failuresInARow;
  }

  /** Every partition at the last poll, in partition order. */
  partitions(): PartitionStats[] {
    return [...this.latest.values()].sort((a, b) => a.partition - b.partition);
  }

  /** Polls now. */
  async poll(): Promise<void> {
    const { admin, db, group, topic } = this.source;
    const [offsets, checkpoints] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      readCheckpoints(db, group, topic),
    ]);
    const stats = new Map<number, PartitionStats>();
    for (const { partition, high, low } of offsets) {
      const next = checkpoints.get(partition) ?? BigInt(low);
      stats.set(partition, {
        topic,
        partition,
        nextOffset: checkpoints.get(partition)?.toString() ?? null,
        highWatermark: high,
        lag: Number(BigInt(high) - next),
      });
    }
    this.latest = stats;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.poll().then(
        () => {
          this.failuresInARow = 0;
          this.schedule(this.limits.lagPollMs);
        },
        (error: unknown) => {
          this.failuresInARow += 1;
          const failures = this.failuresInARow;
          this.log.warn({ err: error, failures }, 'lag poll failed');
          this.schedule(Math.max(this.limits.lagPollMs, backoffMs(failures, this.limits)));
        },
      );
    }, delayMs);
    this.timer.unref();
  }
}
