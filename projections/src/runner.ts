/**
 * The projection runner: a kafkajs consumer group over the journal outcome topic that applies
 * each partition's batch to every projection and advances that partition's checkpoint in ONE
 * PostgreSQL transaction (the contract in ./projection.ts).
 *
 * - Where to read from is PostgreSQL's checkpoint, never Kafka's committed offset: before the
 *   first batch of a partition after every (re)assignment, the runner reads its checkpoint and
 *   seeks there; messages below it are skipped, a batch that starts above it triggers a seek.
 * - The checkpoint update is fenced (./checkpoints.ts): if another worker moved it meanwhile, the
 *   batch rolls back, the runner re-reads the checkpoint and seeks; nothing is applied twice.
 * - An undecodable message goes to `<topic>.dlq` (acks=all) before the transaction that moves the
 *   checkpoint past it; it never blocks the partition.
 * - Offsets are also committed to Kafka after the PostgreSQL commit, best effort and throttled,
 *   only so `kafka-consumer-groups` shows the group's lag.
 * - Nothing here dies on one error: a failed batch is logged with its coordinates, the partition
 *   backs off (exponentially, bounded) and resumes from its checkpoint; the lag poll likewise.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type pg from 'pg';
import { EventDecodeError } from '../../events/errors';
import { ensureTopic } from '../../events/kafka';
import { decodeOutcome } from '../../events/schema';
import type { Logger } from '../../core/logger';
import { withTransaction } from '../../core/postgres/pool';
import { advanceCheckpoint, readCheckpoint, readCheckpoints } from './checkpoints';
import { type DeadLetter, DeadLetterSink, dlqTopicOf } from './dead-letter';
import type { ProjectedEvent, Projection } from './projection';

/** Time behind a small interface so tests can run backoff without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RunnerLimits {
  /** Events per PostgreSQL transaction; a larger Kafka batch is applied in several. */
  batchEventsMax: number;
  /** Partitions whose batches are applied at once (each its own transaction and connection). */
  partitionsConcurrency: number;
  /** Bytes kafkajs fetches per partition per request: bounds a batch's size in memory. */
  fetchBytesPerPartitionMax: number;
  /** Longest the broker holds a fetch open waiting for data (ms): the idle latency floor. */
  fetchWaitMs: number;
  /** How often the lag (high watermark − checkpoint) is polled (ms). */
  lagPollMs: number;
  /** Least time between two best-effort Kafka offset commits of one partition (ms). */
  kafkaCommitIntervalMs: number;
  /** Backoff after a failed batch or poll: doubles from the first, bounded by the max (ms). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** kafkajs heartbeats while a long transaction runs (ms); below the session timeout / 3. */
  heartbeatMs: number;
  sessionTimeoutMs: number;
  /** acks=all wait for a dead-letter send (ms). */
  dlqAckTimeoutMs: number;
}

export const RUNNER_LIMITS_DEFAULT: RunnerLimits = {
  // ~5 MB of 860-byte events: a few statements of a few thousand rows each.
  batchEventsMax: 5_000,
  partitionsConcurrency: 2,
  fetchBytesPerPartitionMax: 4 * 1024 * 1024,
  fetchWaitMs: 100,
  lagPollMs: 2_000,
  kafkaCommitIntervalMs: 1_000,
  backoffInitialMs: 100,
  // Long enough not to hammer a down database, short enough to resume within a minute.
  backoffMaxMs: 30_000,
  heartbeatMs: 3_000,
  sessionTimeoutMs: 30_000,
  dlqAckTimeoutMs: 5_000,
};

export interface RunnerOptions {
  kafka: Kafka;
  /** The primary (through PgBouncer in production): one transaction per batch. */
  pool: pg.Pool;
  topic: string;
  /** Consumer group and checkpoint namespace, e.g. `ledger-bridge.projections`. */
  groupId: string;
  projections: readonly Projection[];
  logger: Logger;
  /** Partitions of the topic when this runner has to create it (the publisher usually does). */
  topicPartitions?: number;
  replicationFactor?: number;
  limits?: Partial<RunnerLimits>;
  clock?: Clock;
  /** Called after every committed transaction (benchmarks, tests). */
  onCommit?: (report: CommitReport) => void;
}

export interface CommitReport {
  partition: number;
  events: number;
  deadLettered: number;
  nextOffset: bigint;
  /** Kafka record timestamps (ms) of the batch's messages: lag = now − these. */
  recordTimestampsMs: number[];
  committedAtMs: number;
}

export interface PartitionStats {
  partition: number;
  nextOffset: string | null;
  highWatermark: string | null;
  /** high watermark − next offset, or null before the first poll. */
  lag: number | null;
}

export interface RunnerStats {
  batchesCommitted: number;
  eventsApplied: number;
  eventsDeadLettered: number;
  batchesFenced: number;
  batchesFailed: number;
  lagPollFailures: number;
  partitions: PartitionStats[];
  /** Sum of every partition's lag at the last poll. */
  lagTotal: number | null;
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

export class ProjectionRunner {
  private readonly limits: RunnerLimits;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly states = new Map<number, PartitionState>();
  /** Consecutive failed batches per partition: the backoff's exponent. */
  private readonly failures = new Map<number, number>();
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private dlq: DeadLetterSink | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  private lagFailures = 0;
  private stopping: Promise<void> | null = null;
  private readonly counters = {
    batchesCommitted: 0,
    eventsApplied: 0,
    eventsDeadLettered: 0,
    batchesFenced: 0,
    batchesFailed: 0,
  };
  private partitionStats = new Map<number, PartitionStats>();

  constructor(private readonly options: RunnerOptions) {
    this.limits = { ...RUNNER_LIMITS_DEFAULT, ...options.limits };
    this.clock = options.clock ?? systemClock;
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
    this.dlq = new DeadLetterSink(kafka, this.limits.dlqAckTimeoutMs);
    await this.dlq.connect();
    const consumer = kafka.consumer({
      groupId,
      maxBytesPerPartition: this.limits.fetchBytesPerPartitionMax,
      maxBytes: this.limits.fetchBytesPerPartitionMax * Math.max(1, info.partitions),
      maxWaitTimeInMs: this.limits.fetchWaitMs,
      sessionTimeout: this.limits.sessionTimeoutMs,
      heartbeatInterval: this.limits.heartbeatMs,
      allowAutoTopicCreation: false,
      retry: {
        retries: 5,
        // The consumer restarts after a crash kafkajs could not retry away: never dies for good.
        restartOnFailure: async (error) => {
          this.log.error({ err: error }, 'Kafka consumer crashed; restarting');
          return true;
        },
      },
    });
    this.consumer = consumer;
    // A (re)assignment: every partition's position is read from PostgreSQL again.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.states.clear();
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
    this.scheduleLagPoll(0);
    this.log.info({ projections: this.options.projections.map((p) => p.name) }, 'runner started');
  }

  /** Finishes the batch in progress, then leaves the group and disconnects. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.lagTimer !== null) clearTimeout(this.lagTimer);
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
    const partitions = [...this.partitionStats.values()].sort((a, b) => a.partition - b.partition);
    const lags = partitions.map((p) => p.lag);
    const lagTotal = lags.some((lag) => lag === null)
      ? null
      : lags.reduce<number>((sum, lag) => sum + (lag ?? 0), 0);
    return {
      ...this.counters,
      lagPollFailures: this.lagFailures,
      partitions,
      lagTotal: partitions.length === 0 ? null : lagTotal,
    };
  }

  /** Polls the lag now (also runs every `lagPollMs`). */
  async pollLag(): Promise<void> {
    const admin = this.admin;
    if (admin === null) return;
    const { groupId, topic, pool } = this.options;
    const [offsets, checkpoints] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      readCheckpoints(pool, groupId, topic),
    ]);
    const stats = new Map<number, PartitionStats>();
    for (const { partition, high, low } of offsets) {
      const next = checkpoints.get(partition) ?? BigInt(low);
      stats.set(partition, {
        partition,
        nextOffset: checkpoints.get(partition)?.toString() ?? null,
        highWatermark: high,
        lag: Number(BigInt(high) - next),
      });
    }
    this.partitionStats = stats;
  }

  private scheduleLagPoll(delayMs: number): void {
    if (this.stopping !== null) return;
    this.lagTimer = setTimeout(() => {
      this.pollLag().then(
        () => {
          this.lagFailures = 0;
          this.scheduleLagPoll(this.limits.lagPollMs);
        },
        (error: unknown) => {
          this.lagFailures += 1;
          this.log.warn({ err: error, failures: this.lagFailures }, 'lag poll failed');
          this.scheduleLagPoll(Math.max(this.limits.lagPollMs, this.backoffMs(this.lagFailures)));
        },
      );
    }, delayMs);
    this.lagTimer.unref();
  }

  private backoffMs(failures: number): number {
    const exponent = Math.min(Math.max(failures - 1, 0), 30);
    return Math.min(this.limits.backoffMaxMs, this.limits.backoffInitialMs * 2 ** exponent);
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
    const state: PartitionState = {
      row,
      next,
      soughtTo: null,
      lastKafkaCommitMs: 0,
    };
    this.states.set(partition, state);
    return state;
  }

  private seek(partition: number, state: PartitionState): void {
    state.soughtTo = state.next;
    this.consumer!.seek({ topic: this.options.topic, partition, offset: state.next.toString() });
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (payload.isStale() || batch.isEmpty()) return;
    let state: PartitionState;
    try {
      state = await this.stateOf(batch.partition);
    } catch (error) {
      await this.failed(payload, null, error);
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
    for (let i = 0; i < messages.length; i += this.limits.batchEventsMax) {
      if (!payload.isRunning() || payload.isStale()) return;
      const chunk = messages.slice(i, i + this.limits.batchEventsMax);
      const ok = await this.applyChunk(payload, state, chunk);
      if (!ok) return;
    }
  }

  private decode(partition: number, chunk: KafkaMessage[]) {
    const events: ProjectedEvent[] = [];
    const letters: DeadLetter[] = [];
    const { topic } = this.options;
    for (const message of chunk) {
      try {
        const event = decodeOutcome(message.value);
        events.push({
          event,
          topic,
          partition,
          offset: message.offset,
          timestamp: message.timestamp,
        });
      } catch (error) {
        if (!(error instanceof EventDecodeError)) throw error;
        letters.push({
          topic,
          partition,
          offset: message.offset,
          timestamp: message.timestamp,
          key: message.key,
          value: message.value,
          headers: message.headers,
          error,
        });
      }
    }
    return { events, letters };
  }

  /** One transaction: every projection, then the fenced checkpoint. False: stop this batch. */
  private async applyChunk(
    payload: EachBatchPayload,
    state: PartitionState,
    chunk: KafkaMessage[],
  ): Promise<boolean> {
    const { partition } = payload.batch;
    const { topic, groupId: group, pool, projections } = this.options;
    const next = BigInt(chunk.at(-1)!.offset) + 1n;
    const beat = setInterval(() => {
      payload.heartbeat().catch(() => undefined);
    }, this.limits.heartbeatMs);
    try {
      const { events, letters } = this.decode(partition, chunk);
      if (letters.length > 0) {
        await this.dlq!.send(letters);
        for (const letter of letters) {
          this.log.warn(
            { partition, offset: letter.offset, reason: letter.error.code, err: letter.error },
            'undecodable event dead-lettered',
          );
        }
      }
      await withTransaction(pool, async (tx) => {
        if (events.length > 0) {
          for (const projection of projections) await projection.apply(tx, events);
        }
        const moved = await advanceCheckpoint(tx, { group, topic, partition }, state.row, next);
        if (!moved) throw new FencedError(`checkpoint of partition ${partition} moved`);
      });
      state.row = next;
      state.next = next;
      this.failures.delete(partition);
      for (const message of chunk) payload.resolveOffset(message.offset);
      this.committed(payload, state, chunk, events.length, letters.length);
      return true;
    } catch (error) {
      await this.failed(payload, state, error);
      return false;
    } finally {
      clearInterval(beat);
    }
  }

  private committed(
    payload: EachBatchPayload,
    state: PartitionState,
    chunk: KafkaMessage[],
    events: number,
    deadLettered: number,
  ): void {
    const { partition } = payload.batch;
    this.counters.batchesCommitted += 1;
    this.counters.eventsApplied += events;
    this.counters.eventsDeadLettered += deadLettered;
    const now = this.clock.now();
    this.options.onCommit?.({
      partition,
      events,
      deadLettered,
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

  /**
   * A batch that did not commit: fenced (another worker moved the checkpoint) or failed. Either
   * way the position is read from PostgreSQL again and the partition seeks there; a failure also
   * backs off first, heartbeating so the group keeps the partition.
   */
  private async failed(
    payload: EachBatchPayload,
    state: PartitionState | null,
    error: unknown,
  ): Promise<void> {
    const { partition } = payload.batch;
    const failures = (this.failures.get(partition) ?? 0) + 1;
    this.states.delete(partition);
    if (error instanceof FencedError) {
      this.counters.batchesFenced += 1;
      this.log.warn(
        { partition, expected: String(state?.row) },
        'checkpoint moved by another worker; batch rolled back',
      );
    } else {
      this.failures.set(partition, failures);
      this.counters.batchesFailed += 1;
      const delayMs = this.backoffMs(failures);
      this.log.error(
        { err: error, partition, next: String(state?.next), failures, delayMs },
        'projection batch failed; backing off',
      );
      const until = this.clock.now() + delayMs;
      while (this.clock.now() < until && payload.isRunning()) {
        await this.clock.sleep(Math.min(this.limits.heartbeatMs, until - this.clock.now()));
        await payload.heartbeat().catch(() => undefined);
      }
    }
    if (!payload.isRunning()) return;
    try {
      this.seek(partition, await this.stateOf(partition));
    } catch (readError) {
      this.log.error({ err: readError, partition }, 'checkpoint unreadable; retried next batch');
    }
  }
}
