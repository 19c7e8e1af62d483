/**
 * Proves the outcome topic's record reader: a version-2 batch envelope of any outcomes decodes to
 * exactly those events, in order, each byte-identical to its version-1 record (so the hash chain
 * stores the same bytes either way); a version-1 record is one event; and every broken envelope is
 * a typed EventDecodeError naming what is wrong, never another exception.
 */
import fc from 'fast-check';
import { EventDecodeError } from '../../../events/errors';
import {
  decodeOutcomeRecord,
  encodeOutcomeBatch,
  envelopeBytes,
  OUTCOME_HEADERS_V2,
} from '../../../events/envelope';
import {
  encodeOutcome,
  OUTCOME_HEADERS,
  serializeOutcomeEvent,
  toOutcomeEvent,
} from '../../../events/schema';
import { outcomeArbitrary, sampleOutcome } from '../../support/events/fixtures';

const RUNS = 150;

function envelope(body: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function decodeError(value: Buffer): EventDecodeError {
  try {
    decodeOutcomeRecord(value);
  } catch (error) {
    expect(error).toBeInstanceOf(EventDecodeError);
    return error as EventDecodeError;
  }
  throw new Error('decoded');
}

const v1Event = () =>
  JSON.parse(encodeOutcome(sampleOutcome('journal-envelope-1')).value.toString('utf8'));

describe('batch envelope (version 2)', () => {
  it('decodes to the very events it carries, in order, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(outcomeArbitrary, { minLength: 1, maxLength: 8 }), (outcomes) => {
        const values = outcomes.map((outcome) => encodeOutcome(outcome).value);
        const record = encodeOutcomeBatch(values);
        const total = values.reduce((sum, value) => sum + value.length, 0);
        expect(record.length).toBe(envelopeBytes(total, values.length));
        const events = decodeOutcomeRecord(record);
        expect(events).toEqual(outcomes.map(toOutcomeEvent));
        events.forEach((event, i) =>
          expect(serializeOutcomeEvent(event).equals(values[i]!)).toBe(true),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a version-1 record as one event', () => {
    const message = encodeOutcome(sampleOutcome('journal-envelope-1'));
    expect(decodeOutcomeRecord(message.value)).toEqual([
      toOutcomeEvent(sampleOutcome('journal-envelope-1')),
    ]);
  });

  it('carries the version in its header', () => {
    expect(OUTCOME_HEADERS_V2[OUTCOME_HEADERS.version]).toBe('2');
    expect(OUTCOME_HEADERS_V2[OUTCOME_HEADERS.schema]).toBe('ledger-bridge.journal-outcome');
  });

  it('refuses an empty batch at the encoder', () => {
    expect(() => encodeOutcomeBatch([])).toThrow(RangeError);
  });

  const schema = 'ledger-bridge.journal-outcome';
  it.each([
    ['no events', { schema, version: 2 }, 'invalid_event', /events: must be a non-empty array/],
    ['empty events', { schema, version: 2, events: [] }, 'invalid_event', /non-empty/],
    ['events not an array', { schema, version: 2, events: {} }, 'invalid_event', /non-empty/],
    [
      'an extra field',
      { schema, version: 2, events: [v1Event()], journalId: 'x' },
      'invalid_event',
      /journalId: not a field/,
    ],
    [
      'a future version inside',
      { schema, version: 2, events: [v1Event(), { ...v1Event(), version: 2 }] },
      'invalid_event',
      /events\.1: version 2 inside a batch/,
    ],
    [
      'a broken event inside',
      { schema, version: 2, events: [v1Event(), { ...v1Event(), occurredAt: '-1' }] },
      'invalid_event',
      /events\.1\.occurredAt/,
    ],
    ['a number inside', { schema, version: 2, events: [7] }, 'invalid_event', /events\.0/],
    ['version 3', { schema, version: 3, events: [v1Event()] }, 'unsupported_version', /3/],
    ['a foreign schema', { schema: 'x', version: 2, events: [] }, 'unknown_schema', /x/],
  ])('answers %s with %s', (_name, body, code, message) => {
    const error = decodeError(envelope(body));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('answers bytes that are not JSON with malformed', () => {
    expect(decodeError(Buffer.from([0xff, 0xfe])).code).toBe('malformed');
  });
});
