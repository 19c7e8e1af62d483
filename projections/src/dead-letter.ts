/**
 * The dead-letter topic: `<topic>.dlq`. A record the runner skips (undecodable, oversized, or
 * failing alone with a data error) goes there, with its original key and value and headers that
 * say why and where it came from, before the transaction that records it in
 * `projection_dead_letter` (./dead-letter-table.ts) and moves the partition's checkpoint past it;
 * the partition is never blocked. At least once: a dead letter whose transaction then fails is
 * sent again on the retry (same original coordinates in the headers, so a reader can deduplicate).
 * The table, not the topic, is the exact list of what was skipped, and what replay-dlq reads.
 */
import { type IHeaders, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { EventDecodeErrorCode } from '../../events/errors';

export const DLQ_SUFFIX = '.dlq';

/** Header names on a dead-lettered message. */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  message: 'dlq-message',
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  timestamp: 'dlq-original-timestamp',
  /** On an `oversized` letter, whose value is left out of the topic: the original value's size. */
  valueBytes: 'dlq-original-value-bytes',
} as const;

/**
 * Why a record was skipped: one of the decoder's codes (`malformed`, `unknown_schema`,
 * `unsupported_version`, `invalid_event`), `oversized` (above the runner's record size limit,
 * never parsed), or `apply_failed` (decoded, but a projection failed on it alone with a data
 * error). Listed exhaustively below: a new reason breaks the build until it is counted.
 */
export type DeadLetterReason = EventDecodeErrorCode | 'oversized' | 'apply_failed';

const REASONS: Record<DeadLetterReason, true> = {
  malformed: true,
  unknown_schema: true,
  unsupported_version: true,
  invalid_event: true,
  oversized: true,
  apply_failed: true,
};
export const DEAD_LETTER_REASONS = Object.keys(REASONS) as DeadLetterReason[];

/** A count per reason, every reason present. */
export function zeroByReason(): Record<DeadLetterReason, number> {
  return Object.fromEntries(DEAD_LETTER_REASONS.map((reason) => [reason, 0])) as Record<
    DeadLetterReason,
    number
  >;
}

/** Longest reason message kept (bytes are cheap, but zod can list many issues). */
export const DEAD_LETTER_MESSAGE_CHARS_MAX = 4_096;

export interface DeadLetter {
  /** The consumer group that skipped it (the table's key; not sent to the topic). */
  group: string;
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  reason: DeadLetterReason;
  message: string;
}

export function dlqTopicOf(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

/** A dead letter that could not be sent: Kafka's failure, retried like any transient one. */
export class DeadLetterSendError extends Error {
  override readonly name = 'DeadLetterSendError';
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
    const producer = this.producer;
    if (producer === null) throw new DeadLetterSendError('dead-letter sink used before connect()');
    const byTopic = new Map<string, DeadLetter[]>();
    for (const letter of letters) {
      const topic = dlqTopicOf(letter.topic);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), letter]);
    }
    try {
      await producer.sendBatch({
        acks: -1,
        timeout: this.ackTimeoutMs,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map(messageOf),
        })),
      });
    } catch (error) {
      throw new DeadLetterSendError(`dead letters not sent: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await producer?.disconnect();
  }
}

/**
 * The DLQ message of a letter. An oversized record's value stays out of the topic (it could
 * exceed the DLQ topic's own limit and block the partition after all); the table keeps it.
 */
function messageOf(letter: DeadLetter) {
  const oversized = letter.reason === 'oversized';
  return {
    key: letter.key,
    value: oversized ? null : letter.value,
    headers: {
      ...letter.headers,
      [DLQ_HEADERS.reason]: letter.reason,
      [DLQ_HEADERS.message]: letter.message.slice(0, DEAD_LETTER_MESSAGE_CHARS_MAX),
      [DLQ_HEADERS.topic]: letter.topic,
      [DLQ_HEADERS.partition]: String(letter.partition),
      [DLQ_HEADERS.offset]: letter.offset,
      [DLQ_HEADERS.timestamp]: letter.timestamp,
      ...(oversized ? { [DLQ_HEADERS.valueBytes]: String(letter.value?.length ?? 0) } : {}),
    },
  };
}
