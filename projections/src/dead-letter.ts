/**
 * The dead-letter topic: `<topic>.dlq`. A message the runner cannot decode goes there, with its
 * original key and value and headers that say why and where it came from, before the partition's
 * checkpoint moves past it; the partition is never blocked. At least once: a batch retried after
 * a failed PostgreSQL commit dead-letters its poison messages again (same original coordinates in
 * the headers, so a reader can deduplicate).
 */
import { type IHeaders, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { EventDecodeError } from '../../events/errors';

export const DLQ_SUFFIX = '.dlq';

/** Header names on a dead-lettered message. */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  message: 'dlq-message',
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  timestamp: 'dlq-original-timestamp',
} as const;

/** A reason header is one of the decoder's codes, or `apply_failed` for later use. */
export type DeadLetterReason = EventDecodeError['code'];

/** Longest reason message kept in a header (bytes are cheap, but zod can list many issues). */
const MESSAGE_CHARS_MAX = 4_096;

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  error: EventDecodeError;
}

export function dlqTopicOf(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

export class DeadLetterSink {
  private producer: Producer | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly ackTimeoutMs: number,
  ) {}

  async connect(): Promise<void> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    this.producer = producer;
  }

  /** Resolves once every letter is acknowledged by all in-sync replicas (acks=all). */
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    if (this.producer === null) throw new Error('dead-letter sink used before connect()');
    const byTopic = new Map<string, DeadLetter[]>();
    for (const letter of letters) {
      const topic = dlqTopicOf(letter.topic);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), letter]);
    }
    await this.producer.sendBatch({
      acks: -1,
      timeout: this.ackTimeoutMs,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((letter) => ({
          key: letter.key,
          value: letter.value,
          headers: {
            ...letter.headers,
            [DLQ_HEADERS.reason]: letter.error.code,
            [DLQ_HEADERS.message]: letter.error.message.slice(0, MESSAGE_CHARS_MAX),
            [DLQ_HEADERS.topic]: letter.topic,
            [DLQ_HEADERS.partition]: String(letter.partition),
            [DLQ_HEADERS.offset]: letter.offset,
            [DLQ_HEADERS.timestamp]: letter.timestamp,
          },
        })),
      })),
    });
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await producer?.disconnect();
  }
}
