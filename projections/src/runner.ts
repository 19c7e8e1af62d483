/**
 * The projection runner: a kafkajs consumer group over one feed's topic that applies each
 * partition's batch to every projection and advances that partition's checkpoint in ONE
 * PostgreSQL transaction (the contract in ./projection.ts).
 *
 * - Where to read from is PostgreSQL's checkpoint, never Kafka's committed offset: before the
 *   first batch of a partition after every (re)assignment, the runner reads its checkpoint and
 *   seeks there; messages below it are skipped, a batch that starts above it triggers a seek.
 * - The checkpoint update is fenced (./checkpoints.ts): if another worker moved it meanwhile, the
 *   batch rolls back, the runner re-reads the checkpoint and seeks; nothing is applied twice.
 * - No partition stalls on one event. A record above `eventBytesMax` or undecodable is a dead
 *   letter from the start. A transaction that fails is classified (./failure.ts):
 *   - transient (the database or Kafka unavailable, a lost race): the partition is paused and
 *     `eachBatch` returns at once, so the other partitions keep the consumer's slots; a timer
 *     resumes it after an exponential backoff, from its checkpoint;
 *   - data (anything else): the chunk is applied again in halves, each its own transaction with
 *     its checkpoint, down to the one event that fails alone (twice: in its chunk and alone).
 *     That event is dead-lettered (`apply_failed`) and the partition moves on; the others are
 *     applied, in order.
 * - A dead letter goes to `<topic>.dlq` (acks=all) before the transaction that records it in
 *   `projection_dead_letter` and moves the checkpoint past it (./dead-letter.ts): the table is
 *   exactly what was skipped, for `ledger-bridge projections replay-dlq` and the reconciler.
 * - Offsets are also committed to Kafka after the PostgreSQL commit, best effort and throttled,
 *   only so `kafka-consumer-groups` shows the group's lag.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type pg from 'pg';
import { ensureTopic } from '../../events/kafka';
import type { Logger } from '../../core/logger';
import { type Queryable, withTransaction } from '../../core/postgres/pool';
import { advanceCheckpoint, readCheckpoint } from './checkpoints';
import { type DeadLetter, DeadLetterSink, dlqTopicOf } from './dead-letter';
import { deadLetterTableExists, recordDeadLetters } from './dead-letter-table';
import { classifyFailure } from './failure';
import { type Feed, outcomeFeed } from './feed';
import { LagPoll } from './lag';
import { type PauseActions, PartitionPauses } from './pauses';
import type { Located, ProjectedEvent, Projection } from './projection';
import {
  type Clock,
  type CommitReport,
  consumerConfig,
  type RunnerLimits,
  runnerLimits,
  type RunnerStats,
  RunnerTally,
  systemClock,
} from './runner-types';
import { describeFailure, letterOf, type Origin, recordBytes, screen } from './screen';

export {
  type Clock,
  combinedStats,
  type CommitReport,
  type PartitionStats,
  RUNNER_LIMITS_DEFAULT,
  type RunnerLimits,
  type RunnerStats,
  systemClock,
} from './runner-types';

export interface RunnerOptions<E extends Located = ProjectedEvent> {
  kafka: Kafka;
  /** The primary (through PgBouncer in production): one transaction per batch. */
  pool: pg.Pool;
  topic: string;
  /** Consumer group and checkpoint namespace, e.g. `ledger-bridge.projections`. */
  groupId: string;
  projections: readonly Projection<E>[];
  /** How the topic's records decode: the outcome events by default. */
  feed?: Feed<E>;
  logger: Logger;
  /** Partitions of the topic when this runner has to create it (the publisher usually does). */
  topicPartitions?: number;
  replicationFactor?: number;
  limits?: Partial<RunnerLimits>;
  clock?: Clock;
  /** Called after every committed transaction (benchmarks, tests). */
  onCommit?: (report: CommitReport) => void;
}

/** Consecutive chunks of at most `batchEventsMax` records and, past the first, `batchBytesMax`. */
export function chunksOf(
  messages: readonly KafkaMessage[],
  limits: Pick<RunnerLimits, 'batchEventsMax' | 'batchBytesMax'>,
): KafkaMessage[][] {
  const chunks: KafkaMessage[][] = [];
  let chunk: KafkaMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = recordBytes(message);
    const full = chunk.length >= limits.batchEventsMax || bytes + size > limits.batchBytesMax;
    if (chunk.length > 0 && full) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** A fenced checkpoint: the transaction rolls back with this. */
class FencedError extends Error {
  override readonly name = 'FencedError';
}

interface PartitionState {
  /** The checkpoint row as read or last written (null: no row yet). */
  row: bigint | null;
  /** The next offset to apply. */
  next: bigint;
  /** The offset last sought to, so a batch starting above it after the seek is a real gap. */
  soughtTo: bigint | null;
  lastKafkaCommitMs: number;
}

export class ProjectionRunner<E extends Located = ProjectedEvent> {
  private readonly limits: RunnerLimits;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly feed: Feed<E>;
  private readonly states = new Map<number, PartitionState>();
  /** Partitions paused after a transient failure, until their timer resumes them. */
  private readonly pauses: PartitionPauses;
  /** This member's partitions, as of the last group join. */
  private assigned = new Set<number>();
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private dlq: DeadLetterSink | null = null;
  /** False when migration 0008 is missing: dead letters then go to the topic only. */
  private recordInTable = true;
  private lag: LagPoll | null = null;
  private stopping: Promise<void> | null = null;
  private readonly tally = new RunnerTally();

  constructor(private readonly options: RunnerOptions<E>) {
    this.feed = options.feed ?? (outcomeFeed as unknown as Feed<E>);
    this.limits = runnerLimits(options.limits);
    this.clock = options.clock ?? systemClock;
    this.pauses = new PartitionPauses(this.limits, this.pauseActions());
    this.log = options.logger.child({
      component: 'projection-runner',
      group: options.groupId,
      topic: options.topic,
    });
    const names = options.projections.map((p) => p.name);
    if (new Set(names).size !== names.length) throw new Error(`duplicate projection in ${names}`);
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId } = this.options;
    const admin = kafka.admin();
    this.admin = admin;
    await admin.connect();
    const replication = this.options.replicationFactor ?? 1;
    const info = await ensureTopic(admin, topic, this.options.topicPartitions ?? 6, replication, {
      logger: this.log,
    });
    await ensureTopic(admin, dlqTopicOf(topic), 1, replication, { logger: this.log });
    this.recordInTable = await deadLetterTableExists(this.options.pool);
    if (!this.recordInTable) {
      this.log.error(
        'projection_dead_letter is missing (migration 0008): dead letters are sent to the DLQ topic only',
      );
    }
    this.dlq = new DeadLetterSink(kafka, this.limits.dlqAckTimeoutMs);
    await this.dlq.connect();
    const consumer = kafka.consumer(
      consumerConfig(groupId, this.limits, info.partitions, (error) => {
        this.log.error({ err: error }, 'Kafka consumer crashed; restarting');
      }),
    );
    this.consumer = consumer;
    // A (re)assignment: every partition's position is read from PostgreSQL again.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.states.clear();
      this.assigned = new Set(payload.memberAssignment[topic] ?? []);
      this.log.info({ assigned: payload.memberAssignment }, 'partitions assigned');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.limits.partitionsConcurrency,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.lag = new LagPoll(
      { admin, db: this.options.pool, group: groupId, topic },
      this.limits,
      this.log,
    );
    this.lag.start();
    this.log.info({ projections: this.options.projections.map((p) => p.name) }, 'runner started');
  }

  /** Finishes the batch in progress, then leaves the group and disconnects. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.lag?.stop();
      this.pauses.close();
      await this.consumer?.disconnect().catch((error: unknown) => {
        this.log.warn({ err: error }, 'consumer disconnect failed');
      });
      await this.dlq?.close().catch(() => undefined);
      await this.admin?.disconnect().catch(() => undefined);
      this.log.info('runner stopped');
    })();
    return this.stopping;
  }

  stats(): RunnerStats {
    return this.tally.stats(this.lag?.partitions() ?? [], this.lag?.failures() ?? 0);
  }

  /** Polls the lag now (also runs every `lagPollMs`). */
  async pollLag(): Promise<void> {
    await this.lag?.poll();
  }

  /** The partition's position, read from PostgreSQL on first use after an assignment. */
  private async stateOf(partition: number): Promise<PartitionState> {
    const known = this.states.get(partition);
    if (known !== undefined) return known;
    const { groupId: group, topic, pool } = this.options;
    const row = await readCheckpoint(pool, { group, topic, partition });
    let next = row;
    if (next === null) {
      const offsets = await this.admin!.fetchTopicOffsets(topic);
      const low = offsets.find((o) => o.partition === partition)?.low ?? '0';
      next = BigInt(low);
    }
    const state: PartitionState = { row, next, soughtTo: null, lastKafkaCommitMs: 0 };
    this.states.set(partition, state);
    return state;
  }

  private seek(partition: number, state: PartitionState): void {
    state.soughtTo = state.next;
    this.consumer!.seek({ topic: this.options.topic, partition, offset: state.next.toString() });
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    // A paused partition's batch fetched before the pause: its timer seeks and resumes it.
    if (payload.isStale() || batch.isEmpty() || this.pauses.isPaused(batch.partition)) return;
    let state: PartitionState;
    try {
      state = await this.stateOf(batch.partition);
    } catch (error) {
      this.backOff(batch.partition, null, error);
      return;
    }
    const messages: KafkaMessage[] = [];
    for (const message of batch.messages) {
      // Applied before (Kafka's position lags the checkpoint): resolved so the fetch moves on.
      if (BigInt(message.offset) < state.next) payload.resolveOffset(message.offset);
      else messages.push(message);
    }
    if (messages.length === 0) return;
    const first = BigInt(messages[0]!.offset);
    if (first > state.next) {
      if (state.soughtTo !== state.next) {
        this.seek(batch.partition, state);
        return;
      }
      // Fetched from exactly our position and the log has nothing in between (e.g. records
      // removed by retention): take it, loudly.
      this.log.warn(
        { partition: batch.partition, expected: String(state.next), first: String(first) },
        'offsets missing from the log; continuing after the gap',
      );
    }
    for (const chunk of chunksOf(messages, this.limits)) {
      if (!(await this.applyChunk(payload, state, chunk, false))) return;
    }
  }

  /**
   * Applies a chunk in one transaction. On a data failure, applies it again in halves (each its
   * own transaction) down to the event that fails alone, which is dead-lettered. False: the
   * partition stopped here (fenced, transient failure, revoked), and this batch is over.
   */
  private async applyChunk(
    payload: EachBatchPayload,
    state: PartitionState,
    chunk: KafkaMessage[],
    isolating: boolean,
  ): Promise<boolean> {
    if (!payload.isRunning() || payload.isStale()) return false;
    const { partition } = payload.batch;
    try {
      await this.commit(payload, state, chunk, null);
      return true;
    } catch (error) {
      if (!(await this.isDataFailure(payload, state, error))) return false;
      this.tally.batchesFailed += 1;
      if (isolating && chunk.length === 1) {
        return this.deadLetterAlone(payload, state, chunk[0]!, error);
      }
      const [first, last] = [chunk[0]!.offset, chunk.at(-1)!.offset];
      this.log.warn(
        { err: error, partition, first, last, events: chunk.length },
        'projection transaction failed on its data; isolating the event that fails',
      );
      if (chunk.length === 1) return this.applyChunk(payload, state, chunk, true);
      const middle = Math.ceil(chunk.length / 2);
      if (!(await this.applyChunk(payload, state, chunk.slice(0, middle), true))) return false;
      return this.applyChunk(payload, state, chunk.slice(middle), true);
    }
  }

  /** The one event that failed alone: dead-lettered in the transaction that skips it. */
  private async deadLetterAlone(
    payload: EachBatchPayload,
    state: PartitionState,
    message: KafkaMessage,
    error: unknown,
  ): Promise<boolean> {
    const letter = letterOf(
      this.originOf(payload),
      message,
      'apply_failed',
      describeFailure(error),
    );
    try {
      await this.commit(payload, state, [message], letter);
      return true;
    } catch (failure) {
      // Nothing is skipped unrecorded: a dead letter that cannot be recorded is retried later.
      if (await this.isDataFailure(payload, state, failure)) {
        this.backOff(payload.batch.partition, state, failure);
      }
      return false;
    }
  }

  /** Fenced and transient failures are handled here (false); true: a data failure. */
  private async isDataFailure(
    payload: EachBatchPayload,
    state: PartitionState,
    error: unknown,
  ): Promise<boolean> {
    if (error instanceof FencedError) {
      await this.fenced(payload, state);
      return false;
    }
    if (classifyFailure(error) === 'transient') {
      this.backOff(payload.batch.partition, state, error);
      return false;
    }
    return true;
  }

  private originOf(payload: EachBatchPayload): Origin {
    return {
      group: this.options.groupId,
      topic: this.options.topic,
      partition: payload.batch.partition,
    };
  }

  /**
   * One transaction: every projection over the chunk's events, its dead letters recorded, the
   * fenced checkpoint past the chunk, and, before COMMIT, the dead letters sent to the DLQ topic.
   * So no checkpoint passes a record missing from the topic, and a transaction that fails on its
   * data (to be isolated) has sent nothing. `failed`: the chunk is that one event, dead-lettered.
   */
  private async commit(
    payload: EachBatchPayload,
    state: PartitionState,
    chunk: KafkaMessage[],
    failed: DeadLetter | null,
  ): Promise<void> {
    const { partition } = payload.batch;
    const { topic, groupId: group, pool, projections } = this.options;
    const next = BigInt(chunk.at(-1)!.offset) + 1n;
    const { events, letters } =
      failed === null
        ? screen(this.feed, this.originOf(payload), chunk, this.limits.eventBytesMax)
        : { events: [], letters: [failed] };
    const beat = setInterval(() => {
      payload.heartbeat().catch(() => undefined);
    }, this.limits.heartbeatMs);
    try {
      await withTransaction(pool, async (tx) => {
        if (events.length > 0) {
          for (const projection of projections) await projection.apply(tx, events);
        }
        if (failed !== null) await this.applyWhatApplies(tx, chunk[0]!, failed);
        if (this.recordInTable) await recordDeadLetters(tx, letters);
        const moved = await advanceCheckpoint(tx, { group, topic, partition }, state.row, next);
        if (!moved) throw new FencedError(`checkpoint of partition ${partition} moved`);
        await this.dlq!.send(letters);
      });
    } finally {
      clearInterval(beat);
    }
    state.row = next;
    state.next = next;
    this.pauses.succeeded(partition);
    for (const message of chunk) payload.resolveOffset(message.offset);
    for (const letter of letters) {
      this.log.warn(
        { partition, offset: letter.offset, reason: letter.reason, message: letter.message },
        'event dead-lettered',
      );
    }
    this.committed(payload, state, chunk, events.length, letters);
  }

  /**
   * A record dead-lettered whole may be a batch envelope of many events (events/envelope.ts):
   * each event is applied alone under a savepoint, so its neighbours are not held back with it.
   * The letter keeps the whole record (a replay re-applies it; the applied events are no-ops
   * then, by event id) and says which events failed.
   */
  private async applyWhatApplies(tx: Queryable, message: KafkaMessage, letter: DeadLetter) {
    let events: E[];
    try {
      events = this.feed.decode(message, this.options.topic, letter.partition);
    } catch {
      return;
    }
    if (events.length < 2) return;
    const failures: string[] = [];
    for (const [index, event] of events.entries()) {
      await tx.query('SAVEPOINT one_event');
      try {
        for (const projection of this.options.projections) await projection.apply(tx, [event]);
        await tx.query('RELEASE SAVEPOINT one_event');
      } catch (error) {
        if (classifyFailure(error) === 'transient') throw error;
        await tx.query('ROLLBACK TO SAVEPOINT one_event');
        failures.push(`event ${index}: ${describeFailure(error)}`);
      }
    }
    const applied = events.length - failures.length;
    letter.message =
      failures.length === 0
        ? `each of its ${events.length} events applied alone; together: ${letter.message}`
        : `${failures.length} of ${events.length} events failed, ${applied} applied; ` +
          failures.join('; ');
  }

  private committed(
    payload: EachBatchPayload,
    state: PartitionState,
    chunk: KafkaMessage[],
    events: number,
    letters: readonly DeadLetter[],
  ): void {
    const { partition } = payload.batch;
    this.tally.committed(events, letters);
    const now = this.clock.now();
    this.options.onCommit?.({
      partition,
      events,
      deadLettered: letters.length,
      nextOffset: state.next,
      recordTimestampsMs: chunk.map((m) => Number(m.timestamp)),
      committedAtMs: now,
    });
    payload.heartbeat().catch(() => undefined);
    if (now - state.lastKafkaCommitMs >= this.limits.kafkaCommitIntervalMs) {
      state.lastKafkaCommitMs = now;
      const offset = state.next.toString();
      this.consumer!.commitOffsets([{ topic: this.options.topic, partition, offset }]).catch(
        (error: unknown) => this.log.debug({ err: error, partition }, 'Kafka commit skipped'),
      );
    }
  }

  /** Another worker moved the checkpoint: the batch rolled back; resume from the checkpoint. */
  private async fenced(payload: EachBatchPayload, state: PartitionState): Promise<void> {
    const { partition } = payload.batch;
    this.tally.batchesFenced += 1;
    this.states.delete(partition);
    this.log.warn(
      { partition, expected: String(state.row) },
      'checkpoint moved by another worker; batch rolled back',
    );
    if (!payload.isRunning()) return;
    try {
      this.seek(partition, await this.stateOf(partition));
    } catch (error) {
      this.backOff(partition, null, error);
    }
  }

  /**
   * A transient failure: the partition pauses at once (its eachBatch returns, freeing the slot
   * for the others) and a timer resumes it from its checkpoint after the backoff.
   */
  private backOff(partition: number, state: PartitionState | null, error: unknown): void {
    const { failures, delayMs } = this.pauses.failed(partition);
    this.tally.batchesFailed += 1;
    this.states.delete(partition);
    this.log.error(
      { err: error, partition, next: String(state?.next), failures, delayMs },
      'projection transaction failed (transient); partition paused, backing off',
    );
    if (this.stopping === null) this.pauses.pause(partition, delayMs);
  }

  private pauseActions(): PauseActions {
    const at = (partition: number) => [{ topic: this.options.topic, partitions: [partition] }];
    return {
      pause: (partition) => this.consumer?.pause(at(partition)),
      // A partition lost meanwhile is only resumed: its next owner reads its own position.
      prepare: async (partition) => {
        if (this.assigned.has(partition)) this.seek(partition, await this.stateOf(partition));
      },
      resume: (partition) => this.consumer?.resume(at(partition)),
      onResumeFailed: (partition, error, delayMs) => {
        this.log.warn({ err: error, partition, delayMs }, 'checkpoint unreadable; still paused');
      },
    };
  }
}
