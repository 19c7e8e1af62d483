/**
 * Proves the outcome event schema (v1): every outcome fast-check can build — any kind, u128
 * values up to 2^128-1, any Unicode text — encodes to JSON that decodes to the same event, with
 * money as exact decimal strings and byte-identical re-encoding; the event id is stable across a
 * retry; and the decoder answers every malformed, foreign, future-version or inconsistent message
 * with a typed EventDecodeError (the code a consumer dead-letters on), never another exception.
 */
import fc from 'fast-check';
import { EventDecodeError } from '../../../events/errors';
import {
  decodeOutcome,
  encodeOutcome,
  OUTCOME_HEADERS,
  outcomeEventId,
  serializeOutcomeEvent,
  toOutcomeEvent,
} from '../../../events/schema';
import { CreateTransferStatus, TransferFlags } from '../../../ledger/port';
import { outcomeArbitrary, sampleOutcome } from '../../support/events/fixtures';

const RUNS = 300;

describe('round trip', () => {
  it('decodes what it encodes, exactly', () => {
    fc.assert(
      fc.property(outcomeArbitrary, (outcome) => {
        const message = encodeOutcome(outcome);
        const event = decodeOutcome(message.value);
        expect(event).toEqual(toOutcomeEvent(outcome));
        expect(message.key).toBe(outcome.journalId ?? outcome.journal?.journalId);
        expect(event.journalId).toBe(message.key);
        expect(event.journal === null).toBe(outcome.journal === null);
        expect(message.headers).toEqual({
          [OUTCOME_HEADERS.schema]: 'ledger-bridge.journal-outcome',
          [OUTCOME_HEADERS.version]: '1',
          [OUTCOME_HEADERS.contentType]: 'application/json',
        });
        // Money and ids come back as the same integers, whatever their size.
        outcome.transfers.forEach((t, i) => {
          const wire = event.transfers[i]!;
          expect(BigInt(wire.amount)).toBe(t.transfer.amount);
          expect(BigInt(wire.id)).toBe(t.transfer.id);
          expect(BigInt(wire.userData64)).toBe(t.transfer.user_data_64);
          expect(BigInt(wire.timestamp)).toBe(t.timestamp);
          expect(CreateTransferStatus[wire.status]).toBe(t.status);
        });
        outcome.journal?.lines.forEach((line, i) => {
          expect(BigInt(event.journal!.lines[i]!.amount)).toBe(line.amount);
        });
        // Re-encoding a decoded event gives the very same bytes (hash chains can rely on it).
        expect(serializeOutcomeEvent(event).equals(message.value)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('never puts a u128 or u64 in a JSON number', () => {
    fc.assert(
      fc.property(outcomeArbitrary, (outcome) => {
        const raw = JSON.parse(encodeOutcome(outcome).value.toString('utf8'));
        for (const t of raw.transfers) {
          for (const field of ['id', 'amount', 'pendingId', 'userData128', 'userData64']) {
            expect(typeof t[field]).toBe('string');
          }
          expect(typeof t.timestamp).toBe('string');
        }
        expect(typeof raw.occurredAt).toBe('string');
      }),
      { numRuns: 50 },
    );
  });

  it('gives a retry the same event id (created → exists) and the latest timestamp', () => {
    const first = sampleOutcome('J-1');
    const retry = structuredClone(first);
    retry.transfers[0]!.status = CreateTransferStatus.exists;
    const a = toOutcomeEvent(first);
    const b = toOutcomeEvent(retry);
    expect(a.eventId).toBe('J-1:posted');
    expect(b.eventId).toBe(a.eventId);
    expect(a.occurredAt).toBe(first.transfers[0]!.timestamp.toString());
  });
});

describe('event id', () => {
  const rejected = (status: CreateTransferStatus, flags: number) => {
    const outcome = sampleOutcome('J-2', 0, 'rejected');
    outcome.transfers[0]!.status = status;
    outcome.transfers[0]!.transfer.flags = flags;
    return toOutcomeEvent(outcome).eventId;
  };

  it('is one per journal and step for rejections, whatever the status', () => {
    // A retry after a transient failure answers id_already_failed: the same rejection.
    expect(rejected(CreateTransferStatus.exceeds_credits, 0)).toBe('J-2:rejected:create');
    expect(rejected(CreateTransferStatus.id_already_failed, 0)).toBe('J-2:rejected:create');
    const post = TransferFlags.post_pending_transfer;
    expect(rejected(CreateTransferStatus.pending_transfer_expired, post)).toBe('J-2:rejected:post');
    expect(rejected(CreateTransferStatus.pending_transfer_already_posted, 8)).toBe(
      'J-2:rejected:void',
    );
  });

  it('cannot collide between journal ids that contain colons', () => {
    const kinds = ['posted', 'held', 'hold_posted', 'hold_voided', 'rejected'] as const;
    const ids = new Set<string>();
    for (const journalId of ['a', 'a:posted', 'a:rejected', 'a:hold', 'a:rejected:post']) {
      for (const kind of kinds) {
        for (const step of ['create', 'post', 'void'] as const) {
          if (kind !== 'rejected' && step !== 'create') continue;
          const id = outcomeEventId(journalId, kind, step);
          expect(ids.has(id)).toBe(false);
          ids.add(id);
        }
      }
    }
  });
});

describe('encoder invariants', () => {
  it('refuses an outcome without transfers', () => {
    const outcome = sampleOutcome('J-3');
    outcome.transfers = [];
    expect(() => encodeOutcome(outcome)).toThrow(/invariant/);
  });
  it('refuses a status tigerbeetle-node does not name', () => {
    const outcome = sampleOutcome('J-3');
    outcome.transfers[0]!.status = 12345 as CreateTransferStatus;
    expect(() => encodeOutcome(outcome)).toThrow(/invariant.*transfers\[0\]\.status 12345 unknown/);
  });
  it('refuses a negative or oversized amount', () => {
    const outcome = sampleOutcome('J-3');
    outcome.journal!.lines[0]!.amount = -1n;
    expect(() => encodeOutcome(outcome)).toThrow(/invariant/);
    const huge = sampleOutcome('J-3');
    huge.transfers[0]!.transfer.amount = 1n << 128n;
    expect(() => encodeOutcome(huge)).toThrow(/invariant.*transfers\[0\]\.amount out of range/);
  });
  it('refuses a creation without its journal, and line numbers without a journal', () => {
    const posted = sampleOutcome('J-3');
    posted.journal = null;
    expect(() => encodeOutcome(posted)).toThrow(/carries the journal/);
    const post = sampleOutcome('J-3', 0, 'hold_posted', true);
    expect(encodeOutcome(post).key).toBe('J-3');
    post.transfers[0]!.debitLine = 1;
    expect(() => encodeOutcome(post)).toThrow(/names no journal line/);
  });
  it('refuses a journal id beside the journal that differs from it', () => {
    const outcome = sampleOutcome('J-3');
    outcome.journalId = 'J-4';
    expect(() => encodeOutcome(outcome)).toThrow(/journalId/);
  });
  it('refuses a kind that does not match the step', () => {
    const outcome = sampleOutcome('J-3', 0, 'hold_posted');
    outcome.kind = 'posted';
    expect(() => encodeOutcome(outcome)).toThrow(/invariant/);
  });
});

type Json = Record<string, unknown> & {
  journal: Record<string, unknown> & { lines: Record<string, unknown>[] };
  transfers: Record<string, unknown>[];
};
const valid = (): Json => JSON.parse(encodeOutcome(sampleOutcome('J-4', 3)).value.toString());
const edit = (change: (event: Json) => void): string => {
  const event = valid();
  change(event);
  return JSON.stringify(event);
};

describe('decoder rejections', () => {
  it.each<[string, string, string | Buffer | null]>([
    ['no value (tombstone)', 'malformed', null],
    ['not JSON', 'malformed', '{"schema":'],
    ['invalid UTF-8', 'malformed', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['a JSON array', 'malformed', '[1,2]'],
    ['a JSON string', 'malformed', '"posted"'],
    ['another schema', 'unknown_schema', edit((e) => (e.schema = 'someone.else'))],
    ['no schema', 'unknown_schema', edit((e) => delete e.schema)],
    ['version 2', 'unsupported_version', edit((e) => (e.version = 2))],
    ['version as a string', 'unsupported_version', edit((e) => (e.version = '1'))],
    ['no version', 'unsupported_version', edit((e) => delete e.version)],
    ['amount as a JSON number', 'invalid_event', edit((e) => (e.transfers[0]!.amount = 5))],
    ['negative amount', 'invalid_event', edit((e) => (e.journal.lines[0]!.amount = '-5'))],
    ['leading zero', 'invalid_event', edit((e) => (e.transfers[0]!.amount = '007'))],
    ['fractional amount', 'invalid_event', edit((e) => (e.transfers[0]!.amount = '1.5'))],
    [
      'amount above u128',
      'invalid_event',
      edit((e) => (e.transfers[0]!.amount = (1n << 128n).toString())),
    ],
    [
      'userData64 above u64',
      'invalid_event',
      edit((e) => (e.transfers[0]!.userData64 = (1n << 64n).toString())),
    ],
    ['code above u16', 'invalid_event', edit((e) => (e.transfers[0]!.code = 65_536))],
    ['unknown status', 'invalid_event', edit((e) => (e.transfers[0]!.status = 'teleported'))],
    ['unknown kind', 'invalid_event', edit((e) => (e.kind = 'reversed'))],
    ['unknown line type', 'invalid_event', edit((e) => (e.journal.lines[0]!.lineType = 'debit'))],
    ['an extra field', 'invalid_event', edit((e) => (e.extra = true))],
    ['a missing field', 'invalid_event', edit((e) => delete e.journal.description)],
    ['no transfers', 'invalid_event', edit((e) => (e.transfers = []))],
    ['a forged event id', 'invalid_event', edit((e) => (e.eventId = 'J-4:held'))],
    ['kind not matching the step', 'invalid_event', edit((e) => (e.kind = 'hold_posted'))],
    ['occurredAt not the latest', 'invalid_event', edit((e) => (e.occurredAt = '1'))],
    ['a line that does not exist', 'invalid_event', edit((e) => (e.transfers[0]!.creditLine = 9))],
    ['a creation without its journal', 'invalid_event', edit((e) => ((e as Json).journal = null!))],
    [
      'a journal id beside the journal that differs',
      'invalid_event',
      edit((e) => {
        e.journalId = 'J-5';
        e.eventId = 'J-5:posted';
      }),
    ],
    ['no journal id beside the journal', 'invalid_event', edit((e) => delete e.journalId)],
  ])('%s → %s', (_what, code, value) => {
    let caught: unknown;
    try {
      decodeOutcome(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EventDecodeError);
    expect((caught as EventDecodeError).code).toBe(code);
  });

  it('says which version it cannot read, and which fields are wrong', () => {
    expect(() => decodeOutcome(edit((e) => (e.version = 2)))).toThrow(
      expect.objectContaining({ code: 'unsupported_version', details: { version: 2 } }),
    );
    try {
      decodeOutcome(edit((e) => (e.transfers[0]!.amount = 5)));
      throw new Error('decoded');
    } catch (error) {
      expect((error as EventDecodeError).details.issues).toEqual([
        expect.stringMatching(/^transfers\.0\.amount: /),
      ]);
    }
  });

  it('answers a valid event with any one field replaced by any JSON with EventDecodeError only', () => {
    const paths = (value: unknown, prefix: (string | number)[] = []): (string | number)[][] =>
      typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([key, child]) => {
            const path = [...prefix, Array.isArray(value) ? Number(key) : key];
            return [path, ...paths(child, path)];
          })
        : [];
    const all = paths(valid()).filter((p) => p[0] !== 'schema' && p[0] !== 'version');
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.jsonValue(), (path, replacement) => {
        const event = valid() as unknown as Record<string | number, unknown>;
        let parent = event;
        for (const key of path.slice(0, -1)) parent = parent[key] as typeof parent;
        parent[path[path.length - 1]!] = replacement;
        try {
          decodeOutcome(JSON.stringify(event));
        } catch (error) {
          expect(error).toBeInstanceOf(EventDecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('answers arbitrary bytes with EventDecodeError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(() => decodeOutcome(Buffer.from(bytes))).toThrow(EventDecodeError);
      }),
      { numRuns: 200 },
    );
  });
});
