/**
 * `rebuildProjection`: empties a projection's tables and replays every event into them, from the
 * Kafka topic (a temporary consumer group reading from the beginning up to the high watermarks
 * taken at the start) or from the event store (`ledger_event`, the hash chain's canonical bytes,
 * per chain in position order). The result must equal the incremental build byte for byte
 * (`tableDigest`), which the read models guarantee by being order-independent across partitions
 * and idempotent by event id.
 *
 * It all happens in ONE transaction on one connection: TRUNCATE takes the tables' ACCESS
 * EXCLUSIVE lock first, so the running worker's next batch waits (its transaction touches the
 * same tables) until the rebuild commits, and readers see the old tables until then, never a
 * half-built one. The watermarks are read after the lock, so every event the worker had committed
 * is below them; the worker's own checkpoints (shared by all projections) are left alone: events
 * it re-applies after the commit are duplicates by event id, the later ones are new. A failed
 * rebuild rolls back and leaves the projection as it was.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from '../../../core/logger';
import type { Queryable } from '../../../core/postgres/pool';
import { type Feed, outcomeFeed } from '../feed';
import type { Located, ProjectedEvent, Projection } from '../projection';
import { OUTCOME_READ_MODELS } from '../read-models';
import { tableDigest, type TableDigest } from './digest';

export type RebuildSource = 'kafka' | 'events';

/** Events per `apply` call: bounds one statement's parameter arrays, like the runner's batches. */
export const REBUILD_BATCH_EVENTS_MAX = 2_000;
/** The rebuild's transaction may wait on Kafka between batches: far above the default 60 s. */
export const REBUILD_IDLE_IN_TRANSACTION_MS = 600_000;
/** How long the temporary consumer may go without reaching the watermarks (ms). */
export const REBUILD_KAFKA_STALL_MS = 60_000;

export interface RebuildOptions<E extends Located = ProjectedEvent> {
  from: RebuildSource;
  /** A direct pool (a session for the transaction; the schema of its search_path). */
  db: pg.Pool;
  /** For `from: 'kafka'`. */
  kafka?: Kafka;
  /** The feed's topic: Kafka's source, and the event store's chains ('<topic>/<partition>'). */
  topic?: string;
  /** How records decode: the outcome events by default. */
  feed?: Feed<E>;
  /** Where `name` is looked up; the outcome read models by default. */
  projections?: readonly Projection<E>[];
  batchEventsMax?: number;
  logger?: Logger;
}

export interface RebuildReport {
  projection: string;
  from: RebuildSource;
  /** Events handed to `apply` (duplicates included; the projection skips them). */
  events: number;
  /** Records that did not decode (the runner dead-letters them): left out here too. */
  undecodable: number;
  digests: TableDigest[];
  ms: number;
}

export class RebuildError extends Error {
  override readonly name = 'RebuildError';
  constructor(
    readonly code: 'unknown_projection' | 'no_source' | 'stalled',
    message: string,
  ) {
    super(message);
  }
}

const EVENT_STORE_TABLE = 'ledger_event';

type Apply<E> = (events: E[]) => Promise<void>;

export function findProjection<E extends Located = ProjectedEvent>(
  name: string,
  projections: readonly Projection<E>[] = OUTCOME_READ_MODELS as unknown as Projection<E>[],
): Projection<E> {
  const projection = projections.find((each) => each.name === name);
  if (projection === undefined) {
    const known = projections.map((each) => each.name).join(', ');
    throw new RebuildError('unknown_projection', `no projection '${name}' (known: ${known})`);
  }
  return projection;
}

export async function rebuildProjection<E extends Located = ProjectedEvent>(
  name: string,
  options: RebuildOptions<E>,
): Promise<RebuildReport> {
  const projection = findProjection(name, options.projections);
  const feed = options.feed ?? (outcomeFeed as unknown as Feed<E>);
  // The chains are evidence: appended once, verified (`ledger-bridge verify`), never rewritten.
  // Both chain projections (one per feed) share the event store's tables, so a truncation for
  // one would also erase the other's chains.
  if (projection.tables.includes(EVENT_STORE_TABLE)) {
    throw new RebuildError(
      'no_source',
      `${name} is the hash chain's event store: it is verified, never rebuilt`,
    );
  }
  const startedMs = Date.now();
  const client = await options.db.connect();
  let broken: Error | undefined;
  const counts = { events: 0, undecodable: 0 };
  try {
    await client.query('BEGIN');
    await client.query(
      `SET LOCAL idle_in_transaction_session_timeout = ${REBUILD_IDLE_IN_TRANSACTION_MS}`,
    );
    // Tables guarded append-only (the hash chain's) let a rebuild through with this setting.
    await client.query(`SET LOCAL ledger_bridge.maintenance = 'rewrite'`);
    await client.query(`TRUNCATE ${projection.tables.join(', ')}`);
    const max = options.batchEventsMax ?? REBUILD_BATCH_EVENTS_MAX;
    const apply: Apply<E> = async (events) => {
      for (let at = 0; at < events.length; at += max) {
        await projection.apply(client, events.slice(at, at + max));
      }
      counts.events += events.length;
    };
    const onUndecodable = () => void (counts.undecodable += 1);
    if (options.from === 'kafka') await replayKafka(options, feed, apply, onUndecodable);
    else await replayEventStore(client, feed, options.topic, apply, onUndecodable, max);
    const digests: TableDigest[] = [];
    for (const table of projection.tables) digests.push(await tableDigest(client, table));
    await client.query('COMMIT');
    const report = { projection: projection.name, from: options.from, ...counts, digests };
    options.logger?.info(report, 'projection rebuilt');
    return { ...report, ms: Date.now() - startedMs };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

function decodeRecord<E extends Located>(
  feed: Feed<E>,
  topic: string,
  partition: number,
  message: { key: Buffer | null; offset: string; timestamp: string; value: Buffer | null },
): E[] | null {
  try {
    return feed.decode(message, topic, partition);
  } catch {
    return null;
  }
}

/**
 * Reads the topic from the beginning to the high watermarks taken now, one partition batch at a
 * time, with a throw-away consumer group that commits nothing and is deleted afterwards.
 */
async function replayKafka<E extends Located>(
  options: RebuildOptions<E>,
  feed: Feed<E>,
  apply: Apply<E>,
  onUndecodable: () => void,
) {
  const { kafka, topic } = options;
  if (kafka === undefined || topic === undefined) {
    throw new RebuildError('no_source', "from 'kafka' needs a Kafka client and a topic");
  }
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `ledger-bridge-rebuild-${randomUUID()}`;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const targets = new Map<number, bigint>();
    for (const each of offsets) {
      if (BigInt(each.high) > BigInt(each.low)) targets.set(each.partition, BigInt(each.high));
      if (BigInt(each.low) > 0n) {
        options.logger?.warn({ topic, ...each }, 'rebuild: the topic no longer starts at 0');
      }
    }
    if (targets.size === 0) return;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let lastProgressMs = Date.now();
        let settled = false;
        const stall = setInterval(() => {
          if (Date.now() - lastProgressMs < REBUILD_KAFKA_STALL_MS) return;
          reject(
            new RebuildError('stalled', `no progress on ${topic} for ${REBUILD_KAFKA_STALL_MS} ms`),
          );
        }, 1_000);
        const finish = (error?: unknown) => {
          settled = true;
          clearInterval(stall);
          if (error === undefined) resolve();
          else reject(error);
        };
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const target = targets.get(batch.partition);
              // After the end (or a failure) batches may still come: the transaction is closing.
              if (target === undefined || settled) return;
              const events: E[] = [];
              let next = 0n;
              for (const message of batch.messages) {
                if (BigInt(message.offset) >= target) break;
                next = BigInt(message.offset) + 1n;
                const decoded = decodeRecord(feed, topic, batch.partition, message);
                if (decoded === null) onUndecodable();
                else events.push(...decoded);
              }
              try {
                await apply(events);
              } catch (error) {
                finish(error);
                throw error;
              }
              lastProgressMs = Date.now();
              if (next >= target) {
                targets.delete(batch.partition);
                if (targets.size === 0) finish();
              }
            },
          })
          .catch(finish);
      });
    } finally {
      await consumer.disconnect();
    }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Reads `ledger_event` chain by chain ('<topic>/<partition>'), in position order, by keyset.
 * Each chain holds one partition's events in offset order, duplicates already skipped.
 */
async function replayEventStore<E extends Located>(
  db: Queryable,
  feed: Feed<E>,
  feedTopic: string | undefined,
  apply: Apply<E>,
  onUndecodable: () => void,
  pageSize: number,
): Promise<void> {
  const { rows: chains } = await db.query<{ chain: string }>(
    'SELECT chain FROM ledger_chain_head ORDER BY chain',
  );
  for (const { chain } of chains) {
    const slash = chain.lastIndexOf('/');
    const topic = chain.slice(0, slash);
    // Each feed's events are in its own topic's chains (the outcome feed's, when no topic is
    // named, are every chain whose payload it can read).
    if (feedTopic !== undefined && topic !== feedTopic) continue;
    const partition = Number(chain.slice(slash + 1));
    let after = 0n;
    for (;;) {
      const { rows } = await db.query<{ position: bigint; kafka_offset: bigint; payload: Buffer }>(
        `SELECT position, kafka_offset, payload FROM ledger_event
          WHERE chain = $1 AND position > $2 ORDER BY position LIMIT $3`,
        [chain, after.toString(), pageSize],
      );
      if (rows.length === 0) break;
      const events: E[] = [];
      for (const row of rows) {
        try {
          events.push(...feed.fromStore(row.payload, topic, partition, String(row.kafka_offset)));
        } catch {
          onUndecodable();
        }
      }
      await apply(events);
      after = BigInt(rows[rows.length - 1]!.position);
    }
  }
}
