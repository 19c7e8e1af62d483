/**
 * What every projection implements, and what the runner (./runner.ts) guarantees it.
 *
 * The runner consumes the journal outcome topic (events/README.md) with a kafkajs
 * consumer group and, for each batch of one partition, opens ONE PostgreSQL transaction in which
 * it calls `apply` of every projection in order, then advances the partition's checkpoint
 * (topic, partition, offset) in the same transaction. So a crash anywhere neither loses nor
 * doubles an event: either the batch and its checkpoint commit together, or neither does, and the
 * runner resumes from the checkpoint stored in PostgreSQL (not from Kafka's committed offsets).
 *
 * Order: within a partition, events arrive in offset order; one journal's events share a
 * partition (key = journalId), so they arrive in the order the bridge produced them. There is no
 * order across partitions.
 *
 * Duplicates: the bridge republishes an outcome when a client retries (same `eventId`, new
 * offset). A projection must apply each `eventId` at most once (a unique key on it, ON CONFLICT
 * DO NOTHING), so the duplicate is a no-op — and a no-op in the same way on every rebuild.
 *
 * Poison events (undecodable, unknown version, oversized) never reach `apply`: the runner
 * dead-letters them with the reason and moves on. An event `apply` cannot take is a throw, never
 * a silent skip: the runner rolls back, applies the batch again in halves and dead-letters the
 * event that fails alone (projections/README.md), so `apply` writes only through `tx`. A throw
 * that means "not now" (a lost connection) is retried instead (./failure.ts).
 */
import type { JournalOutcomeEventV1 } from '../../events/schema';
import type { Queryable } from '../../core/postgres/pool';

/** Where a record came from: every projected record carries its Kafka coordinates. */
export interface Located {
  topic: string;
  partition: number;
  /** Kafka offset, decimal string (int64). */
  offset: string;
  /** Kafka record timestamp (ms since epoch, decimal string). */
  timestamp: string;
}

/** A journal outcome event (the bridge's, keyed by journal). */
export interface ProjectedEvent extends Located {
  event: JournalOutcomeEventV1;
}

/**
 * A projection over one feed: the outcome events (`ProjectedEvent`, the default) or the ledger's
 * change events (`ProjectedChange`, projections/src/changes/feed.ts).
 */
export interface Projection<E extends Located = ProjectedEvent> {
  /** Stable name: checkpoints, metrics and `ledger-bridge projections rebuild <name>` use it. */
  readonly name: string;
  /** The tables it owns and may truncate on a rebuild, in dependency order. */
  readonly tables: readonly string[];
  /** Applies the events of one partition's batch, in order, inside the runner's transaction. */
  apply(tx: Queryable, events: readonly E[]): Promise<void>;
}
