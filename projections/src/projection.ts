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
 * Poison events (undecodable, unknown version) never reach `apply`: the runner sends them to the
 * dead-letter topic with the reason and moves on.
 */
import type { JournalOutcomeEventV1 } from '../../events/schema';
import type { Queryable } from '../../core/postgres/pool';

export interface ProjectedEvent {
  event: JournalOutcomeEventV1;
  topic: string;
  partition: number;
  /** Kafka offset, decimal string (int64). */
  offset: string;
  /** Kafka record timestamp (ms since epoch, decimal string). */
  timestamp: string;
}

export interface Projection {
  /** Stable name: checkpoints, metrics and `ledger-bridge projections rebuild <name>` use it. */
  readonly name: string;
  /** The tables it owns and may truncate on a rebuild, in dependency order. */
  readonly tables: readonly string[];
  /** Applies the events of one partition's batch, in order, inside the runner's transaction. */
  apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void>;
}
