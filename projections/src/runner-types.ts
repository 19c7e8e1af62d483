/**
 * What a projection runner (./runner.ts) is configured with and reports: its limits, with their
 * units and why each default, the clock it backs off on, and its stats.
 */
import { KAFKA_TUNING_DEFAULT, retryOf } from '../../events/kafka';
import type { ConsumerConfig } from 'kafkajs';
import { assert } from '../../core/assert';
import { DEAD_LETTER_REASONS, type DeadLetterReason, zeroByReason } from './dead-letter';

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
  /** Records per PostgreSQL transaction; a larger Kafka batch is applied in several. */
  batchEventsMax: number;
  /**
   * Record bytes (key + value) per transaction: a chunk also ends here, so one of batch envelopes
   * (events/envelope.ts, thousands of events a record) stays a few thousand events. At least one
   * record is always taken.
   */
  batchBytesMax: number;
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
  /**
   * Backoff of a partition paused after a transient failure, and of the lag poll: doubles from
   * the first, bounded by the max (ms).
   */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** kafkajs heartbeats while a long transaction runs (ms); below the session timeout / 3. */
  heartbeatMs: number;
  sessionTimeoutMs: number;
  /** acks=all wait for a dead-letter send (ms). */
  dlqAckTimeoutMs: number;
  /** Bytes of one record (key + value) above which it is dead-lettered (`oversized`) unparsed. */
  eventBytesMax: number;
}

export const RUNNER_LIMITS_DEFAULT: RunnerLimits = {
  // ~5 MB of 860-byte events: a few statements of a few thousand rows each.
  batchEventsMax: 5_000,
  batchBytesMax: 4 * 1024 * 1024,
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
  // The topics' own max.message.bytes (8 MiB): only a topic whose limit was raised sends more.
  eventBytesMax: KAFKA_TUNING_DEFAULT.topicMessageBytesMax,
};

/** The defaults with `overrides`, checked once: a limit that cannot work fails the start. */
export function runnerLimits(overrides: Partial<RunnerLimits> = {}): RunnerLimits {
  const limits = { ...RUNNER_LIMITS_DEFAULT, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    assert(Number.isInteger(value) && value >= 0, `runner limit ${name} = ${value}`);
  }
  assert(limits.batchEventsMax >= 1, 'batchEventsMax must be at least 1');
  assert(limits.eventBytesMax >= 1, 'eventBytesMax must be at least 1');
  assert(
    limits.backoffInitialMs >= 1 && limits.backoffInitialMs <= limits.backoffMaxMs,
    `backoff ${limits.backoffInitialMs} … ${limits.backoffMaxMs} ms is not a range`,
  );
  return limits;
}

/** The runner's consumer: its fetch bounds, its session, and a restart after any crash. */
export function consumerConfig(
  groupId: string,
  limits: RunnerLimits,
  partitions: number,
  onCrash: (error: Error) => void,
): ConsumerConfig {
  return {
    groupId,
    maxBytesPerPartition: limits.fetchBytesPerPartitionMax,
    maxBytes: limits.fetchBytesPerPartitionMax * Math.max(1, partitions),
    maxWaitTimeInMs: limits.fetchWaitMs,
    sessionTimeout: limits.sessionTimeoutMs,
    heartbeatInterval: limits.heartbeatMs,
    allowAutoTopicCreation: false,
    retry: {
      // Bounded backoff (kafkajs's own grows to 30 s): after a Kafka restart the projections
      // resume within about a second of the broker, not half a minute later.
      ...retryOf(KAFKA_TUNING_DEFAULT),
      retries: 5,
      // The consumer restarts after a crash kafkajs could not retry away: never dies for good.
      restartOnFailure: async (error) => {
        onCrash(error);
        return true;
      },
    },
  };
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
  topic: string;
  partition: number;
  nextOffset: string | null;
  highWatermark: string | null;
  /** high watermark − next offset, or null before the first poll. */
  lag: number | null;
}

export interface RunnerStats {
  batchesCommitted: number;
  eventsApplied: number;
  /** Every dead letter, whatever its reason: the sum of `eventsDeadLetteredByReason`. */
  eventsDeadLettered: number;
  eventsDeadLetteredByReason: Record<DeadLetterReason, number>;
  batchesFenced: number;
  /** Transactions that failed: transient ones (retried) and data ones (isolated). */
  batchesFailed: number;
  lagPollFailures: number;
  partitions: PartitionStats[];
  /** Sum of every partition's lag at the last poll. */
  lagTotal: number | null;
}

/** A runner's counters since it was created; `stats` adds the lag poll's view. */
export class RunnerTally {
  batchesCommitted = 0;
  eventsApplied = 0;
  batchesFenced = 0;
  batchesFailed = 0;
  private readonly deadLettered = zeroByReason();

  committed(events: number, letters: readonly { reason: DeadLetterReason }[]): void {
    this.batchesCommitted += 1;
    this.eventsApplied += events;
    for (const letter of letters) this.deadLettered[letter.reason] += 1;
  }

  stats(partitions: PartitionStats[], lagPollFailures: number): RunnerStats {
    const lags = partitions.map((p) => p.lag);
    const lagTotal = lags.some((lag) => lag === null)
      ? null
      : lags.reduce<number>((sum, lag) => sum + (lag ?? 0), 0);
    const byReason = { ...this.deadLettered };
    return {
      batchesCommitted: this.batchesCommitted,
      eventsApplied: this.eventsApplied,
      eventsDeadLettered: DEAD_LETTER_REASONS.reduce((sum, reason) => sum + byReason[reason], 0),
      eventsDeadLetteredByReason: byReason,
      batchesFenced: this.batchesFenced,
      batchesFailed: this.batchesFailed,
      lagPollFailures,
      partitions,
      lagTotal: partitions.length === 0 ? null : lagTotal,
    };
  }
}

/** The stats of several runners (one per feed) as one: counters summed, partitions listed. */
export function combinedStats(runners: readonly { stats(): RunnerStats }[]): RunnerStats {
  const all = runners.map((runner) => runner.stats());
  const sum = (pick: (s: RunnerStats) => number) => all.reduce((n, s) => n + pick(s), 0);
  const lags = all.map((s) => s.lagTotal);
  const byReason = zeroByReason();
  for (const reason of DEAD_LETTER_REASONS) {
    byReason[reason] = sum((s) => s.eventsDeadLetteredByReason[reason]);
  }
  return {
    batchesCommitted: sum((s) => s.batchesCommitted),
    eventsApplied: sum((s) => s.eventsApplied),
    eventsDeadLettered: sum((s) => s.eventsDeadLettered),
    eventsDeadLetteredByReason: byReason,
    batchesFenced: sum((s) => s.batchesFenced),
    batchesFailed: sum((s) => s.batchesFailed),
    lagPollFailures: sum((s) => s.lagPollFailures),
    partitions: all.flatMap((s) => s.partitions),
    lagTotal: lags.some((lag) => lag === null) ? null : lags.reduce<number>((n, l) => n + l!, 0),
  };
}
