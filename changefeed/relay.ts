/**
 * The relay: RabbitMQ's change queue → Kafka's change topic. Deliveries queue in arrival order;
 * while no Kafka send is in flight, the oldest go out together as one send (up to
 * `batchEventsMax` events, `batchBytesMax` bytes), and only once Kafka has acknowledged them all
 * (acks=all) is RabbitMQ told, with ONE acknowledgement up to the batch's last delivery tag
 * (multiple=true). Sends never overlap, so an account's records reach its partition in the
 * order RabbitMQ delivered them.
 *
 * Failure is never final:
 * - a failed send is retried, the same batch, with backoff (1 s doubling to 30 s), for as long as
 *   its channel lives; nothing is acknowledged meanwhile, and the prefetch window stops
 *   RabbitMQ from delivering more than `prefetch` messages into memory;
 * - a lost channel voids its deliveries (RabbitMQ redelivers them): queued ones are dropped, a
 *   batch in flight is sent but not acknowledged;
 * - a message that is not a change event goes to `<topic>.dlq` with the reason, in the same send,
 *   and is acknowledged with its batch; one too large to be a TigerBeetle event is rejected to
 *   RabbitMQ's dead-letter queue at once. Neither blocks what follows.
 *
 * So the relay may write a record twice (a send retried after it reached the log, a crash before
 * the acknowledgement), never lose one: consumers deduplicate by the event's TigerBeetle
 * timestamp. Killing it at any point is safe.
 */
import type { Message } from 'kafkajs';
import type { Logger } from '../core/logger';
import { Nap } from './nap';
import { route, type Routed } from './records';

/** What the relay needs of its RabbitMQ side (amqp-source.ts; a fake in unit tests). */
export interface DeliverySource {
  isCurrent(generation: number): boolean;
  ackUpTo(generation: number, deliveryTag: number): boolean;
  reject(generation: number, deliveryTag: number): boolean;
}

/** What the relay needs of its Kafka side (kafka-sink.ts). */
export interface BatchSink {
  send(changes: Message[], deadLetters: Message[]): Promise<void>;
  /** Bytes one send may carry (the topic's limit), when the sink knows it. */
  bytesMax?(): number;
}

export interface RelayDelivery {
  generation: number;
  deliveryTag: number;
  body: Buffer;
  exchange: string;
  queue: string;
  redelivered: boolean;
  timestampS: number | undefined;
}

export interface RelayLimits {
  /** Events per Kafka send (each is two records). At most half the prefetch window. */
  batchEventsMax: number;
  /** Record bytes per send, both copies counted: below the topic's max.message.bytes. */
  batchBytesMax: number;
  /** A body larger than this is not TigerBeetle's (its events are ~1 KiB): AMQP dead letter. */
  messageBytesMax: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export const RELAY_LIMITS_DEFAULT: RelayLimits = {
  batchEventsMax: 1_024,
  // kafkajs groups a send per partition quadratically (events/README.md): stay moderate.
  batchBytesMax: 4 * 1024 * 1024,
  messageBytesMax: 64 * 1024,
  retryMinMs: 1_000,
  retryMaxMs: 30_000,
};

export interface BatchReport {
  ok: boolean;
  events: number;
  deadLetters: number;
  latencyMs: number;
  /** When Kafka acknowledged (ms since the epoch); with `timestampsNs`, the end-to-end lag. */
  ackedAtMs: number;
  /** TigerBeetle timestamps (ns) of the batch's change events. */
  timestampsNs: bigint[];
}

export interface RelayStats {
  messagesIn: number;
  eventsOut: number;
  recordsOut: number;
  deadLetteredKafka: number;
  deadLetteredAmqp: number;
  sendFailures: number;
  batchesSent: number;
  /** Deliveries held and not yet acknowledged (queued plus in flight). */
  held: number;
  /** Batches sent whose channel died before the acknowledgement (redelivered). */
  acksLost: number;
}

/** A relay that has done nothing yet. */
export function zeroRelayStats(): RelayStats {
  return {
    messagesIn: 0,
    eventsOut: 0,
    recordsOut: 0,
    deadLetteredKafka: 0,
    deadLetteredAmqp: 0,
    sendFailures: 0,
    batchesSent: 0,
    held: 0,
    acksLost: 0,
  };
}

interface Entry {
  generation: number;
  deliveryTag: number;
  routed: Routed;
  bytes: number;
}

export interface RelayOptions {
  limits?: Partial<RelayLimits>;
  logger: Logger;
  onBatch?(report: BatchReport): void;
  nowMs?(): number;
}

export class ChangeRelay {
  private queue: Entry[] = [];
  private inFlight: Entry[] = [];
  private sending: Promise<void> | null = null;
  private stopping = false;
  private readonly nap = new Nap();
  private readonly limits: RelayLimits;
  private readonly nowMs: () => number;
  private readonly counts: Omit<RelayStats, 'held'> = { ...zeroRelayStats() };

  constructor(
    private readonly source: DeliverySource,
    private readonly sink: BatchSink,
    private readonly options: RelayOptions,
  ) {
    this.limits = { ...RELAY_LIMITS_DEFAULT, ...options.limits };
    this.nowMs = options.nowMs ?? Date.now;
  }

  stats(): RelayStats {
    return { ...this.counts, held: this.queue.length + this.inFlight.length };
  }

  /** The source's `onDelivery`: in delivery order. */
  accept(delivery: RelayDelivery): void {
    this.counts.messagesIn += 1;
    const { generation, deliveryTag, body } = delivery;
    if (body.length > this.limits.messageBytesMax) {
      this.rejectOversized(delivery);
      return;
    }
    const routed = route(delivery);
    if (routed.kind === 'dead') {
      this.options.logger.warn(
        { reason: routed.error.code, error: routed.error.message.slice(0, 512), deliveryTag },
        'not a change event: dead-lettered to Kafka',
      );
    }
    const bytes = routed.kind === 'change' ? body.length * 2 : body.length;
    this.queue.push({ generation, deliveryTag, routed, bytes });
    this.pump();
  }

  /** The source's `onLost`: deliveries of that channel will come again. */
  lost(generation: number): void {
    this.queue = this.queue.filter((entry) => entry.generation !== generation);
    this.nap.wake();
  }

  /** Finishes the send in flight (acknowledging it) and sends nothing more. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.nap.wake();
    await this.sending;
  }

  private rejectOversized(delivery: RelayDelivery): void {
    this.counts.deadLetteredAmqp += 1;
    const rejected = this.source.reject(delivery.generation, delivery.deliveryTag);
    this.options.logger.warn(
      { bytes: delivery.body.length, limit: this.limits.messageBytesMax, rejected },
      'message too large to be a change event: rejected to the AMQP dead-letter queue',
    );
  }

  private pump(): void {
    if (this.sending !== null || this.stopping || this.queue.length === 0) return;
    const batch = this.take();
    this.inFlight = batch;
    this.sending = this.deliver(batch).finally(() => {
      this.inFlight = [];
      this.sending = null;
      this.pump();
    });
  }

  /** The oldest deliveries, within the limits; always at least one. */
  private take(): Entry[] {
    const { batchEventsMax } = this.limits;
    const batchBytesMax = Math.min(this.limits.batchBytesMax, this.sink.bytesMax?.() ?? Infinity);
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < batchEventsMax) {
      const next = this.queue[count]!.bytes;
      if (count > 0 && bytes + next > batchBytesMax) break;
      bytes += next;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  /** Sends one batch until Kafka has it, its channel is gone, or the relay stops. */
  private async deliver(batch: Entry[]): Promise<void> {
    const changes: Message[] = [];
    const dead: Message[] = [];
    const timestampsNs: bigint[] = [];
    for (const { routed } of batch) {
      if (routed.kind === 'change') {
        changes.push(...routed.records);
        timestampsNs.push(routed.change.timestamp);
      } else {
        dead.push(routed.record);
      }
    }
    let backoffMs = this.limits.retryMinMs;
    const last = batch[batch.length - 1]!;
    while (this.source.isCurrent(last.generation)) {
      const started = this.nowMs();
      try {
        await this.sink.send(changes, dead);
      } catch (error) {
        this.failed(error, batch.length, started, backoffMs);
        if (this.stopping) return;
        await this.nap.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, this.limits.retryMaxMs);
        continue;
      }
      this.sent(last, changes.length, dead.length, started, timestampsNs);
      return;
    }
  }

  private sent(last: Entry, records: number, dead: number, started: number, ts: bigint[]): void {
    const ackedAtMs = this.nowMs();
    const acked = this.source.ackUpTo(last.generation, last.deliveryTag);
    if (!acked) this.counts.acksLost += 1;
    this.counts.batchesSent += 1;
    this.counts.eventsOut += ts.length;
    this.counts.recordsOut += records;
    this.counts.deadLetteredKafka += dead;
    this.options.onBatch?.({
      ok: true,
      events: ts.length,
      deadLetters: dead,
      latencyMs: ackedAtMs - started,
      ackedAtMs,
      timestampsNs: ts,
    });
  }

  private failed(error: unknown, size: number, started: number, retryInMs: number): void {
    this.counts.sendFailures += 1;
    const now = this.nowMs();
    this.options.logger.warn(
      { err: error, batch: size, retryInMs: this.stopping ? null : retryInMs },
      'Kafka send failed; nothing acknowledged',
    );
    this.options.onBatch?.({
      ok: false,
      events: 0,
      deadLetters: 0,
      latencyMs: now - started,
      ackedAtMs: now,
      timestampsNs: [],
    });
  }
}
