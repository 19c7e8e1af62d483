/**
 * The outcome topic's two record formats, and the one reader consumers use for both.
 *
 * - **Version 1**: one record per event: the event itself (./schema.ts), keyed by its journal.
 * - **Version 2, the batch envelope**: one record per partition per send, carrying that send's
 *   events for the partition, in publish order:
 *   `{"schema":"ledger-bridge.journal-outcome","version":2,"events":[<v1 event>, …]}`.
 *   Each inner event is a complete v1 event (its own `"version":1`), byte for byte what a v1
 *   record would carry, so the hash chain stores and hashes the same bytes either way. The
 *   record has no key: its partition is chosen from each event's journal id (Java's murmur2, as
 *   for v1), and every event of one send for that partition goes in it.
 *
 * Why: the bulk path spent more CPU in kafkajs's per-record encoding than in anything else
 * (README "Where the time goes"); a send of 2,048 events is now at most one record per partition.
 *
 * Every event of an envelope shares the record's offset: a consistency token naming that offset
 * covers all of them, as the projections apply a record's events in one transaction.
 */
import { EventDecodeError } from './errors';
import {
  type JournalOutcomeEventV1,
  OUTCOME_CONTENT_TYPE,
  OUTCOME_HEADERS,
  OUTCOME_SCHEMA,
  OUTCOME_SCHEMA_VERSION,
  outcomeVersionOf,
  parseOutcomeJson,
  unsupportedVersion,
  validateOutcomeV1,
} from './schema';

export const OUTCOME_BATCH_VERSION = 2;

/** Which record format a publisher writes: `batch` (v2, the default) or `single` (v1). */
export type OutcomeRecordFormat = 'batch' | 'single';

export const OUTCOME_HEADERS_V2: Readonly<Record<string, string>> = Object.freeze({
  [OUTCOME_HEADERS.schema]: OUTCOME_SCHEMA,
  [OUTCOME_HEADERS.version]: String(OUTCOME_BATCH_VERSION),
  [OUTCOME_HEADERS.contentType]: OUTCOME_CONTENT_TYPE,
});

const HEAD = Buffer.from(
  `{"schema":"${OUTCOME_SCHEMA}","version":${OUTCOME_BATCH_VERSION},"events":[`,
);
const COMMA = Buffer.from(',');
const TAIL = Buffer.from(']}');
const ENVELOPE_KEYS = new Set(['schema', 'version', 'events']);

/** The bytes an envelope of these encoded v1 events takes (HEAD, commas, TAIL). */
export function envelopeBytes(valueBytes: number, events: number): number {
  return HEAD.length + valueBytes + Math.max(0, events - 1) + TAIL.length;
}

/** One envelope around already-encoded v1 event values, in order: one copy, no re-serializing. */
export function encodeOutcomeBatch(values: readonly Buffer[]): Buffer {
  if (values.length === 0) throw new RangeError('an outcome batch holds at least one event');
  const parts: Buffer[] = [HEAD];
  let length = HEAD.length + TAIL.length + values.length - 1;
  values.forEach((value, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(value);
    length += value.length;
  });
  parts.push(TAIL);
  return Buffer.concat(parts, length);
}

function envelopeEvents(json: object): unknown[] {
  const extra = Object.keys(json).filter((key) => !ENVELOPE_KEYS.has(key));
  const { events } = json as { events?: unknown };
  const issues: string[] = extra.map((key) => `${key}: not a field of the batch envelope`);
  if (!Array.isArray(events) || events.length === 0) {
    issues.push('events: must be a non-empty array of version-1 events');
  }
  if (issues.length > 0) {
    throw new EventDecodeError('invalid_event', `invalid batch: ${issues.join('; ')}`, { issues });
  }
  return events as unknown[];
}

/**
 * The events of one record of the outcome topic, whichever version it is, in order. Throws
 * `EventDecodeError` (never anything else): `malformed`, `unknown_schema`,
 * `unsupported_version`, or `invalid_event` when the record or any event in it breaks a rule
 * (a record is applied whole or dead-lettered whole).
 */
export function decodeOutcomeRecord(
  value: Buffer | Uint8Array | string | null,
): JournalOutcomeEventV1[] {
  const json = parseOutcomeJson(value);
  const version = outcomeVersionOf(json);
  if (version === OUTCOME_SCHEMA_VERSION) return [validateOutcomeV1(json)];
  if (version !== OUTCOME_BATCH_VERSION) throw unsupportedVersion(version);
  return envelopeEvents(json).map((event, index) => {
    const inner = (event ?? {}) as { version?: unknown };
    if (typeof event === 'object' && inner.version !== OUTCOME_SCHEMA_VERSION) {
      const message = `events.${index}: version ${JSON.stringify(inner.version)} inside a batch`;
      throw new EventDecodeError('invalid_event', message, { issues: [message] });
    }
    return validateOutcomeV1(event, `events.${index}`);
  });
}
