/**
 * What the runner does with a chunk of records before any projection sees it: each record is
 * either an event to apply or a dead letter. A record above the size limit is refused unparsed
 * (`oversized`); one the feed cannot decode is refused with the decoder's code. Any other error
 * from the feed is a bug and is thrown: the runner then isolates the record like any event that
 * fails (`apply_failed`).
 */
import type { KafkaMessage } from 'kafkajs';
import { EventDecodeError } from '../../events/errors';
import type { DeadLetter, DeadLetterReason } from './dead-letter';
import type { Feed } from './feed';
import type { Located } from './projection';

export interface Origin {
  group: string;
  topic: string;
  partition: number;
}

export function letterOf(
  origin: Origin,
  message: KafkaMessage,
  reason: DeadLetterReason,
  text: string,
): DeadLetter {
  return {
    ...origin,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key,
    value: message.value,
    headers: message.headers,
    reason,
    message: text,
  };
}

/** Key and value bytes: what the size limit counts. */
export function recordBytes(message: Pick<KafkaMessage, 'key' | 'value'>): number {
  return (message.key?.length ?? 0) + (message.value?.length ?? 0);
}

export function screen<E extends Located>(
  feed: Feed<E>,
  origin: Origin,
  chunk: readonly KafkaMessage[],
  eventBytesMax: number,
): { events: E[]; letters: DeadLetter[] } {
  const events: E[] = [];
  const letters: DeadLetter[] = [];
  for (const message of chunk) {
    const bytes = recordBytes(message);
    if (bytes > eventBytesMax) {
      const text = `record of ${bytes} bytes is above the limit of ${eventBytesMax} bytes`;
      letters.push(letterOf(origin, message, 'oversized', text));
      continue;
    }
    try {
      events.push(...feed.decode(message, origin.topic, origin.partition));
    } catch (error) {
      if (!(error instanceof EventDecodeError)) throw error;
      letters.push(letterOf(origin, message, error.code, error.message));
    }
  }
  return { events, letters };
}

/** An error as one line for a dead letter: its name, SQLSTATE when it has one, and message. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const detail = (error as { detail?: unknown }).detail;
  const head = typeof code === 'string' ? `${error.name} ${code}` : error.name;
  const tail = typeof detail === 'string' && detail.length > 0 ? ` (${detail})` : '';
  return `${head}: ${error.message}${tail}`;
}
