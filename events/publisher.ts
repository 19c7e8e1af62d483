/**
 * The outcome publisher: coalesces concurrent `publish()` calls into few Kafka sends.
 *
 * Outcomes queue while a send is in flight, or for at most `lingerMs` when the publisher is idle,
 * then go out together as one send of many messages; each caller's promise settles with its
 * batch. One send is in flight at a time, so under light load a batch is one outcome sent within
 * `lingerMs`, and under heavy load batches grow to what arrived during the previous send. Sends
 * never overlap, which with the idempotent producer and the journal id as key keeps one journal's
 * events in publish order on its partition.
 *
 * Every failure a caller can see is an `EventPublishError` with a stable code. The Kafka side
 * (client, topic, producer recycling) is in `./kafka.ts`, behind the small `OutcomeSink`
 * interface, so the batching here runs under unit tests without a broker.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';
import { EventPublishError } from './errors';
import { openKafkaOutcomeSink } from './kafka';
import {
  type BatchReport,
  type EventPosition,
  type OutcomeSink,
  PUBLISHER_LIMITS_DEFAULT,
  type PublisherLimits,
  type PublisherOptions,
  type PublisherStats,
} from './sink';
import type { JournalOutcome } from './journal-model';
import { encodeOutcome, type OutcomeMessage } from './schema';

export type {
  BatchReport,
  EventPosition,
  OutcomeSink,
  PublisherLimits,
  PublisherOptions,
  PublisherStats,
};
export { PUBLISHER_LIMITS_DEFAULT };

export function publisherOptionsFromConfig(
  config: Config,
  logger: Logger,
  replicationFactor = 1,
): PublisherOptions {
  return {
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    topic: config.KAFKA_OUTCOMES_TOPIC,
    partitions: config.KAFKA_OUTCOMES_PARTITIONS,
    replicationFactor,
    logger,
    format: config.KAFKA_OUTCOMES_FORMAT,
    producer: config.KAFKA_PRODUCER,
    limits: { lingerMs: config.KAFKA_LINGER_MS },
  };
}

interface Entry {
  message: OutcomeMessage;
  bytes: number;
  resolve: (position: EventPosition) => void;
  reject: (error: EventPublishError) => void;
}

/** Kafka's per-record framing (lengths, varints, attributes), rounded up. */
const RECORD_OVERHEAD_BYTES = 32;

function recordBytes(message: OutcomeMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + message.value.length + Buffer.byteLength(message.key);
  for (const [name, value] of Object.entries(message.headers)) {
    bytes += name.length + Buffer.byteLength(value) + 2;
  }
  return bytes;
}

export class OutcomePublisher {
  private readonly limits: PublisherLimits;
  private readonly queue: Entry[] = [];
  private queuedBytes = 0;
  private inFlight: Promise<void> | null = null;
  private inFlightEvents = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private lingerImmediate: NodeJS.Immediate | null = null;
  private closing: Promise<void> | null = null;
  private overloadedSince: number | null = null;
  private readonly counters = {
    eventsPublished: 0,
    batchesSent: 0,
    sendFailures: 0,
    eventsFailed: 0,
    eventsRefused: 0,
    lastBatchEvents: 0,
    lastBatchBytes: 0,
    lastSendLatencyMs: 0,
  };

  /** Connects to Kafka, makes sure the topic exists, and returns a publisher over it. */
  static async connect(options: PublisherOptions): Promise<OutcomePublisher> {
    const { sink, messageBytesMax } = await openKafkaOutcomeSink(options);
    const limits = { ...PUBLISHER_LIMITS_DEFAULT, ...options.limits };
    // The whole send must fit the topic's limit: kafkajs puts all of a partition's messages in
    // one record batch, and the broker refuses a batch over max.message.bytes.
    const budget = messageBytesMax - 1024;
    limits.batchBytesMax = Math.min(limits.batchBytesMax, budget);
    limits.eventBytesMax = Math.min(limits.eventBytesMax, budget);
    const logger = options.logger.child({ component: 'outcome-publisher', topic: options.topic });
    return new OutcomePublisher(sink, limits, logger, options.onBatch);
  }

  constructor(
    private readonly sink: OutcomeSink,
    limits: Partial<PublisherLimits>,
    private readonly logger: Logger,
    private readonly onBatch?: (report: BatchReport) => void,
  ) {
    this.limits = { ...PUBLISHER_LIMITS_DEFAULT, ...limits };
    const { batchEventsMax, queueEventsMax, batchBytesMax, eventBytesMax } = this.limits;
    // Note: a publishMany of more than queueEventsMax outcomes is always refused (overloaded); the
    // default leaves room for four of the largest bulk requests (8189 journals).
    if (!(
      batchEventsMax >= 1 &&
      queueEventsMax >= batchEventsMax &&
      eventBytesMax <= batchBytesMax
    )) {
      throw new Error(`invalid publisher limits: ${JSON.stringify(this.limits)}`);
    }
  }

  /** Resolves once Kafka acknowledged the outcome's event (acks=all), with its position. */
  async publish(outcome: JournalOutcome): Promise<EventPosition> {
    const [position] = await this.publishMany([outcome]);
    return position!;
  }

  /**
   * Resolves once every outcome's event is acknowledged. All are queued or none: a refusal
   * (`overloaded`, `closed`, `event_too_large`) queues nothing. Events keep their order.
   */
  async publishMany(outcomes: readonly JournalOutcome[]): Promise<EventPosition[]> {
    if (outcomes.length === 0) return [];
    const messages = outcomes.map(encodeOutcome);
    const sizes = messages.map(recordBytes);
    this.admit(messages, sizes);
    const acknowledged = messages.map(
      (message, index) =>
        new Promise<EventPosition>((resolve, reject) => {
          const bytes = sizes[index]!;
          this.queue.push({ message, bytes, resolve, reject });
          this.queuedBytes += bytes;
        }),
    );
    this.schedule();
    return Promise.all(acknowledged);
  }

  stats(): PublisherStats {
    return {
      ...this.counters,
      queueDepth: this.queue.length,
      inFlightEvents: this.inFlightEvents,
    };
  }

  /** Refuses new outcomes, sends what is queued, waits for the last acknowledgement, disconnects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.queue.length > 0 || this.inFlight !== null) {
        if (this.inFlight === null) this.flush();
        await this.inFlight;
      }
      await this.sink.close();
    })();
    return this.closing;
  }

  private admit(messages: OutcomeMessage[], sizes: number[]): void {
    const refuse = (error: EventPublishError): never => {
      this.counters.eventsRefused += messages.length;
      throw error;
    };
    if (this.closing !== null) refuse(new EventPublishError('closed', 'the publisher is closed'));
    sizes.forEach((bytes, index) => {
      if (bytes > this.limits.eventBytesMax) {
        refuse(
          new EventPublishError(
            'event_too_large',
            `event of journal ${messages[index]!.key} is ${bytes} bytes;` +
              ` the limit is ${this.limits.eventBytesMax}`,
          ),
        );
      }
    });
    const depth = this.queue.length + messages.length;
    if (depth > this.limits.queueEventsMax) {
      if (this.overloadedSince === null) {
        this.overloadedSince = Date.now();
        this.logger.warn(
          { queueDepth: this.queue.length, queueEventsMax: this.limits.queueEventsMax },
          'outcome publisher overloaded: refusing events until the queue drains',
        );
      }
      refuse(
        new EventPublishError(
          'overloaded',
          `publisher queue full (${this.queue.length} of ${this.limits.queueEventsMax} events)`,
        ),
      );
    }
    if (this.overloadedSince !== null && depth <= this.limits.queueEventsMax / 2) {
      this.logger.info({ overloadedMs: Date.now() - this.overloadedSince }, 'publisher recovered');
      this.overloadedSince = null;
    }
  }

  private schedule(): void {
    if (this.inFlight !== null || this.lingerTimer !== null || this.lingerImmediate !== null) {
      return;
    }
    const full =
      this.queue.length >= this.limits.batchEventsMax ||
      this.queuedBytes >= this.limits.batchBytesMax;
    if (full) {
      this.flush();
    } else if (this.limits.lingerMs <= 0) {
      // Still coalesce what the current tick publishes (a batcher settles many journals at once).
      this.lingerImmediate = setImmediate(() => this.flush());
    } else {
      this.lingerTimer = setTimeout(() => this.flush(), this.limits.lingerMs);
    }
  }

  private flush(): void {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    if (this.lingerImmediate !== null) clearImmediate(this.lingerImmediate);
    this.lingerTimer = null;
    this.lingerImmediate = null;
    if (this.inFlight !== null || this.queue.length === 0) return;
    const batch = this.takeBatch();
    this.inFlightEvents = batch.length;
    this.inFlight = this.send(batch).finally(() => {
      this.inFlight = null;
      this.inFlightEvents = 0;
      // What queued during the send has waited long enough: send it now.
      if (this.queue.length > 0) this.flush();
    });
  }

  private takeBatch(): Entry[] {
    let count = 0;
    let bytes = 0;
    for (const entry of this.queue) {
      if (count === this.limits.batchEventsMax) break;
      if (count > 0 && bytes + entry.bytes > this.limits.batchBytesMax) break;
      count += 1;
      bytes += entry.bytes;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, count);
  }

  /** Never rejects: every outcome of the batch is settled here. */
  private async send(batch: Entry[]): Promise<void> {
    const started = performance.now();
    const bytes = batch.reduce((sum, entry) => sum + entry.bytes, 0);
    const sending = this.sink.send(batch.map((entry) => entry.message));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const ms = this.limits.sendTimeoutMs;
        reject(new Error(`no acknowledgement from Kafka within ${ms} ms`));
      }, this.limits.sendTimeoutMs);
    });
    try {
      const positions = await Promise.race([sending, deadline]);
      if (positions.length !== batch.length) {
        throw new Error(`Kafka acknowledged ${positions.length} of ${batch.length} events`);
      }
      this.settled(batch.length, bytes, started, true);
      batch.forEach((entry, i) => entry.resolve(positions[i]!));
    } catch (cause) {
      this.settled(batch.length, bytes, started, false);
      const reason = cause instanceof Error ? cause.message : String(cause);
      this.logger.error({ events: batch.length, bytes, err: cause }, 'outcome batch not published');
      const error = new EventPublishError('kafka_unavailable', `Kafka: ${reason}`, { cause });
      for (const entry of batch) entry.reject(error);
    } finally {
      clearTimeout(timer);
    }
    // After a deadline the client may still be retrying this batch: keep the slot until it lets
    // go, so two batches never overlap (per-partition order, idempotent sequence numbers).
    await sending.catch(() => undefined);
  }

  private settled(events: number, bytes: number, started: number, ok: boolean): void {
    const latencyMs = performance.now() - started;
    const c = this.counters;
    c.batchesSent += 1;
    c.lastBatchEvents = events;
    c.lastBatchBytes = bytes;
    c.lastSendLatencyMs = latencyMs;
    if (ok) c.eventsPublished += events;
    else {
      c.sendFailures += 1;
      c.eventsFailed += events;
    }
    this.onBatch?.({ events, bytes, latencyMs, ok });
  }
}
