/**
 * The two typed failures of the events folder, each with a closed set of stable codes.
 *
 * `EventPublishError` is what a caller of the publisher sees; the HTTP layer maps every code to an
 * answer (all of them are 503 + Retry-After today: the transfers are committed in the ledger and a
 * retry of the same journal republishes the same event id). `EventDecodeError` is what a consumer
 * sees for a message it cannot read; each code is a reason to dead-letter the message, never to
 * block the partition.
 */

/**
 * - `kafka_unavailable`: the send failed after the client's bounded retries, or did not finish in
 *   time. The event may still have been written: a retry publishes the same event id again.
 * - `overloaded`: the publisher's queue is full; nothing was queued.
 * - `closed`: the publisher is closing or closed; nothing was queued.
 * - `event_too_large`: the encoded event exceeds the topic's message size limit.
 */
export type EventPublishErrorCode =
  'kafka_unavailable' | 'overloaded' | 'closed' | 'event_too_large';

export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  constructor(
    readonly code: EventPublishErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * - `malformed`: not UTF-8 JSON, or not a JSON object.
 * - `unknown_schema`: a JSON object whose `schema` is not ours.
 * - `unsupported_version`: our schema at a version this code does not read (`version` says which).
 * - `invalid_event`: our schema and version, but a field is missing, extra or out of range
 *   (`issues` lists them as `path: message`).
 */
export type EventDecodeErrorCode =
  'malformed' | 'unknown_schema' | 'unsupported_version' | 'invalid_event';

export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  constructor(
    readonly code: EventDecodeErrorCode,
    message: string,
    readonly details: { version?: unknown; issues?: string[] } = {},
  ) {
    super(message);
  }
}
