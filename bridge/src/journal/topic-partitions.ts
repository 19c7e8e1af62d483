/**
 * The outcome topic's partition count, which consistency tokens are checked against
 * (./consistency.ts): read from Kafka's metadata at start, re-read when a token names a partition
 * beyond it (a topic can gain partitions, never lose them), but at most once per
 * PARTITIONS_REREAD_MS_MIN, so tokens naming absent partitions cannot turn every read into a Kafka
 * round trip. A failed re-read keeps the count it had (the count is never lowered).
 */
import type { Admin } from 'kafkajs';
import type { Config } from '../../../core/config';
import type { Logger } from '../../../core/logger';
import { createKafkaClient } from '../../../events/kafka';
import type { TopicPartitions } from './consistency';

/** Shortest time between two re-reads of the count (ms). */
export const PARTITIONS_REREAD_MS_MIN = 10_000;

export interface PartitionCountOptions {
  /** The topic's partition count, as Kafka reports it now. */
  read: () => Promise<number>;
  log: Logger;
  clockMs?: () => number;
}

export class PartitionCount implements TopicPartitions {
  private rereading: Promise<number> | null = null;

  private constructor(
    private known: number,
    private readAtMs: number,
    private readonly options: PartitionCountOptions,
  ) {}

  /** Reads the count once: the topic must exist (the publisher has ensured it). */
  static async open(options: PartitionCountOptions): Promise<PartitionCount> {
    const clockMs = options.clockMs ?? Date.now;
    const count = await options.read();
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`topic has ${count} partitions`);
    return new PartitionCount(count, clockMs(), options);
  }

  async countFor(partition: number): Promise<number> {
    const clockMs = this.options.clockMs ?? Date.now;
    if (partition < this.known || clockMs() - this.readAtMs < PARTITIONS_REREAD_MS_MIN) {
      return this.known;
    }
    this.rereading ??= this.reread(clockMs).finally(() => (this.rereading = null));
    return this.rereading;
  }

  private async reread(clockMs: () => number): Promise<number> {
    try {
      const count = await this.options.read();
      this.known = Math.max(this.known, count);
    } catch (error) {
      this.options.log.warn({ err: error }, 'outcome topic partitions: re-read failed');
    }
    this.readAtMs = clockMs();
    return this.known;
  }
}

/** The count of `topic` from Kafka, through an admin client of its own, and how to close it. */
export async function openTopicPartitions(
  config: Config,
  log: Logger,
): Promise<{ partitions: PartitionCount; close: () => Promise<void> }> {
  const kafka = createKafkaClient(
    config.KAFKA_BROKERS,
    `${config.KAFKA_CLIENT_ID}-partitions`,
    log,
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    const read = () => topicPartitionCount(admin, config.KAFKA_OUTCOMES_TOPIC);
    const partitions = await PartitionCount.open({ read, log });
    return { partitions, close: () => admin.disconnect() };
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
}

async function topicPartitionCount(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics[0]?.partitions.length ?? 0;
}
