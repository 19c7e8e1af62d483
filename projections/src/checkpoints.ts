/**
 * Projection checkpoints in PostgreSQL: per (consumer group, topic, partition), the offset of the
 * next event to apply. The runner reads them to know where to resume (never Kafka's committed
 * offsets), and advances them inside the batch's transaction with a FENCED statement: the update
 * names the offset it expects to find, so a worker that lost its partition to another (a
 * rebalance it has not noticed yet) finds 0 rows and rolls its batch back instead of doubling it.
 */
import { InvariantError } from '../../core/assert';
import type { Queryable } from '../../core/postgres/pool';

export interface CheckpointKey {
  group: string;
  topic: string;
  partition: number;
}

/** The next offset to apply for every partition of the topic that has a checkpoint. */
export async function readCheckpoints(
  db: Queryable,
  group: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const { rows } = await db.query<{ partition: number; next_offset: bigint }>(
    `SELECT partition, next_offset FROM projection_checkpoint
      WHERE consumer_group = $1 AND topic = $2`,
    [group, topic],
  );
  return new Map(rows.map((row) => [row.partition, BigInt(row.next_offset)]));
}

export async function readCheckpoint(db: Queryable, key: CheckpointKey): Promise<bigint | null> {
  const { rows } = await db.query<{ next_offset: bigint }>(
    `SELECT next_offset FROM projection_checkpoint
      WHERE consumer_group = $1 AND topic = $2 AND partition = $3`,
    [key.group, key.topic, key.partition],
  );
  return rows[0] === undefined ? null : BigInt(rows[0].next_offset);
}

/**
 * Moves the checkpoint from `expected` (null: no row yet) to `next`. Returns false when the row
 * is not at `expected` any more: another worker advanced it, and the caller must roll back.
 */
export async function advanceCheckpoint(
  tx: Queryable,
  key: CheckpointKey,
  expected: bigint | null,
  next: bigint,
): Promise<boolean> {
  if (next < (expected ?? 0n)) {
    throw new InvariantError(`checkpoint would move back from ${expected} to ${next}`);
  }
  const values = [key.group, key.topic, key.partition, next.toString()];
  const result =
    expected === null
      ? await tx.query(
          `INSERT INTO projection_checkpoint (consumer_group, topic, partition, next_offset)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          values,
        )
      : await tx.query(
          `UPDATE projection_checkpoint SET next_offset = $4, updated_at = now()
            WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $5`,
          [...values, expected.toString()],
        );
  return result.rowCount === 1;
}
