/**
 * What one AMQP message of `tigerbeetle amqp` becomes in Kafka: two change records, the body
 * unchanged, keyed by the debit and by the credit account id (decimal), so each account's events
 * stay in order on one partition; or, when the body is not a change event, one dead letter on
 * `<topic>.dlq` that carries the body as it came and says why. Pure: no I/O, no clock.
 */
import type { IHeaders, Message } from 'kafkajs';
import {
  CHANGE_CONTENT_TYPE,
  CHANGE_HEADERS,
  CHANGE_SCHEMA,
  CHANGE_TYPES,
  changeKeys,
  decodeChange,
  type LedgerChange,
} from '../events/change';
import { EventDecodeError } from '../events/errors';

export const DLQ_SUFFIX = '.dlq';

/**
 * Header names on a dead letter: the same `dlq-reason` / `dlq-message` as the projection worker's
 * dead letters, and where the message came from in RabbitMQ instead of a Kafka position.
 */
export const RELAY_DLQ_HEADERS = {
  reason: 'dlq-reason',
  message: 'dlq-message',
  exchange: 'dlq-original-exchange',
  queue: 'dlq-original-queue',
  timestamp: 'dlq-original-timestamp',
  redelivered: 'dlq-original-redelivered',
} as const;

/** Longest reason kept in a header: zod can list many issues. */
const REASON_CHARS_MAX = 4_096;

/** The Kafka record headers of a change record of each type (CHANGE_HEADERS), built once. */
const CHANGE_RECORD_HEADERS = new Map<string, IHeaders>(
  CHANGE_TYPES.map((type) => [
    type,
    {
      [CHANGE_HEADERS.schema]: CHANGE_SCHEMA,
      [CHANGE_HEADERS.contentType]: CHANGE_CONTENT_TYPE,
      [CHANGE_HEADERS.type]: type,
    },
  ]),
);

/** The parts of an AMQP delivery the relay reads. */
export interface Delivery {
  body: Buffer;
  exchange: string;
  queue: string;
  redelivered: boolean;
  /** AMQP timestamp property (s), when set. */
  timestampS: number | undefined;
}

export type Routed =
  | { kind: 'change'; change: LedgerChange; records: [Message, Message] }
  | { kind: 'dead'; error: EventDecodeError; record: Message };

export function dlqTopicOf(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

/** The two records of one change event, debit side first; `body` is TigerBeetle's, as is. */
export function changeRecords(change: LedgerChange, body: Buffer): [Message, Message] {
  const keys = changeKeys(change);
  const headers = CHANGE_RECORD_HEADERS.get(change.type)!;
  return [
    { key: keys.debit, value: body, headers },
    { key: keys.credit, value: body, headers },
  ];
}

/** The dead letter of an unreadable delivery: no key (it names no account we can trust). */
export function deadLetterRecord(delivery: Delivery, error: EventDecodeError): Message {
  const headers: IHeaders = {
    [RELAY_DLQ_HEADERS.reason]: error.code,
    [RELAY_DLQ_HEADERS.message]: error.message.slice(0, REASON_CHARS_MAX),
    [RELAY_DLQ_HEADERS.exchange]: delivery.exchange,
    [RELAY_DLQ_HEADERS.queue]: delivery.queue,
    [RELAY_DLQ_HEADERS.redelivered]: String(delivery.redelivered),
  };
  if (delivery.timestampS !== undefined) {
    headers[RELAY_DLQ_HEADERS.timestamp] = String(delivery.timestampS);
  }
  return { key: null, value: delivery.body, headers };
}

/** Decodes a delivery: a change and its records, or a dead letter. Never throws for bad input. */
export function route(delivery: Delivery): Routed {
  try {
    const change = decodeChange(delivery.body);
    return { kind: 'change', change, records: changeRecords(change, delivery.body) };
  } catch (error) {
    if (!(error instanceof EventDecodeError)) throw error;
    return { kind: 'dead', error, record: deadLetterRecord(delivery, error) };
  }
}
