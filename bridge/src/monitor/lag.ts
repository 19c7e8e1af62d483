/**
 * Projection lag as this bridge sees it: how long ago it published the oldest outcome that the
 * projections have not applied yet. The bridge remembers (offset, time) of what it publishes, per
 * partition, sampled at most once per `sampleEveryMs` so memory stays bounded under any load;
 * a poll reads the projections' checkpoints (the same row consistency tokens wait on) and forgets
 * what they have passed. Caught up: 0. With nothing published by this bridge, lag is unknown
 * (null) rather than 0: another instance may be the one waiting.
 */
import type { EventPosition } from '../../../events/publisher';
import type { Queryable } from '../../../core/postgres/pool';

/** At most one remembered publication per partition per this many ms. */
export const LAG_SAMPLE_EVERY_MS = 10;
/** Remembered publications per partition (at one per 10 ms: 200 s of lag). */
export const LAG_ENTRIES_MAX = 20_000;

interface Published {
  offsets: bigint[];
  atMs: number[];
  /** Index of the oldest entry still unapplied (entries before it are dropped lazily). */
  head: number;
  lastOffset: bigint;
}

export interface LagReading {
  /** Age of the oldest unapplied publication (ms), 0 when caught up; null when unknown. */
  lagMs: number | null;
  /** Per partition: this bridge's last published offset + 1 − the checkpoint. */
  events: Map<number, number>;
}

export class ProjectionLagTracker {
  private readonly partitions = new Map<number, Published>();

  constructor(
    private readonly deps: {
      db: Queryable;
      topic: string;
      groupId: string;
      nowMs?: () => number;
    },
  ) {}

  published(position: EventPosition, atMs = this.now()): void {
    const offset = BigInt(position.offset);
    let p = this.partitions.get(position.partition);
    if (p === undefined) {
      p = { offsets: [], atMs: [], head: 0, lastOffset: offset };
      this.partitions.set(position.partition, p);
    }
    if (offset > p.lastOffset) p.lastOffset = offset;
    const live = p.offsets.length - p.head;
    const newest = p.atMs[p.atMs.length - 1];
    if (live >= LAG_ENTRIES_MAX) return;
    if (live > 0 && newest !== undefined && atMs - newest < LAG_SAMPLE_EVERY_MS) return;
    p.offsets.push(offset);
    p.atMs.push(atMs);
  }

  /** Reads the checkpoints and measures. */
  async poll(nowMs = this.now()): Promise<LagReading> {
    if (this.partitions.size === 0) return { lagMs: null, events: new Map() };
    const { rows } = await this.deps.db.query<{ partition: number; next_offset: string }>(
      `SELECT partition, next_offset::text AS next_offset FROM projection_checkpoint
        WHERE consumer_group = $1 AND topic = $2`,
      [this.deps.groupId, this.deps.topic],
    );
    const next = new Map(rows.map((row) => [row.partition, BigInt(row.next_offset)]));
    let oldestMs: number | null = null;
    const events = new Map<number, number>();
    for (const [partition, p] of this.partitions) {
      const applied = next.get(partition) ?? 0n;
      while (p.head < p.offsets.length && p.offsets[p.head]! < applied) p.head++;
      if (p.head > 1_024 && p.head * 2 > p.offsets.length) {
        p.offsets.splice(0, p.head);
        p.atMs.splice(0, p.head);
        p.head = 0;
      }
      const behind = p.lastOffset + 1n - applied;
      events.set(partition, behind > 0n ? Number(behind) : 0);
      const at = p.head < p.atMs.length ? p.atMs[p.head]! : null;
      if (at !== null && (oldestMs === null || at < oldestMs)) oldestMs = at;
    }
    return { lagMs: oldestMs === null ? 0 : Math.max(0, nowMs - oldestMs), events };
  }

  private now(): number {
    return (this.deps.nowMs ?? Date.now)();
  }
}
