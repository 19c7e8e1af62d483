/**
 * The relay's Kafka side: the change topic and its `.dlq` made sure of (created when missing,
 * retention forever, never compacted: the projections are rebuilt from it), and one idempotent
 * acks=all producer through which each batch goes as ONE produce request for both topics.
 *
 * As in events/kafka.ts, the producer is replaced after any failed send (new producer id): kafkajs
 * reuses a failed batch's sequence numbers, so a batch that in fact reached the log would make
 * the broker drop the next one of the same size as a duplicate. The relay re-sends a failed batch
 * as a whole, so a change record may be written twice; consumers deduplicate by the event's
 * TigerBeetle timestamp.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from '../core/logger';
import {
  abandonProducer,
  connectIdempotentProducer,
  ensureTopic,
  KAFKA_TUNING_DEFAULT,
  type KafkaTuning,
  retryOf,
} from '../events/kafka';
import { dlqTopicOf } from './records';

export interface ChangeSinkOptions {
  topic: string;
  partitions: number;
  /** 1 on the local single broker, 3 in production. */
  replicationFactor: number;
  tuning?: Partial<KafkaTuning>;
}

/** One dead-letter partition: dead letters are rare, and one partition keeps them in order. */
const DLQ_PARTITIONS = 1;

export class ChangeSink {
  private producer: Producer | null = null;
  readonly dlqTopic: string;
  /** The change topic's `max.message.bytes`: one send's share of a partition stays below. */
  messageBytesMax = 0;
  readonly tuning: KafkaTuning;
  /** Producers created so far; one more after each failed send. */
  generation = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ChangeSinkOptions,
    private readonly logger: Logger,
  ) {
    this.dlqTopic = dlqTopicOf(options.topic);
    this.tuning = { ...KAFKA_TUNING_DEFAULT, ...options.tuning };
  }

  /** Makes sure of both topics and opens a producer; throws while Kafka is unreachable. */
  async open(): Promise<void> {
    const admin = this.kafka.admin({ retry: retryOf(this.tuning) });
    try {
      await admin.connect();
      const { topic, partitions, replicationFactor } = this.options;
      const info = await ensureTopic(admin, topic, partitions, replicationFactor, {
        logger: this.logger,
        tuning: this.tuning,
      });
      await ensureTopic(admin, this.dlqTopic, DLQ_PARTITIONS, replicationFactor, {
        logger: this.logger,
        tuning: this.tuning,
      });
      this.messageBytesMax = info.messageBytesMax;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await this.renew();
  }

  /**
   * Resolves once every record is acknowledged by all in-sync replicas (acks=all). After a
   * failure (or before the first open) it opens again: topics, then a new producer.
   */
  async send(changes: Message[], deadLetters: Message[]): Promise<void> {
    if (this.producer === null) await this.open();
    const topicMessages = [{ topic: this.options.topic, messages: changes }];
    if (deadLetters.length > 0) topicMessages.push({ topic: this.dlqTopic, messages: deadLetters });
    try {
      await this.producer!.sendBatch({
        acks: -1,
        timeout: this.tuning.ackTimeoutMs,
        topicMessages: topicMessages.filter((t) => t.messages.length > 0),
      });
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Bytes one send may carry: half the topic's limit (both records of an event may share a
   * partition), before the topic is known the default limit's half. */
  bytesMax(): number {
    return (this.messageBytesMax || this.tuning.topicMessageBytesMax) / 2;
  }

  async close(): Promise<void> {
    await this.discard();
  }

  private async discard(): Promise<void> {
    const old = this.producer;
    this.producer = null;
    if (old !== null) await abandonProducer(old);
  }

  private async renew(): Promise<void> {
    await this.discard();
    this.generation += 1;
    this.producer = await connectIdempotentProducer(this.kafka, this.tuning);
    if (this.generation > 1) this.logger.info({ generation: this.generation }, 'producer replaced');
  }
}
