/**
 * Proves the runner's failure classifier (projections/src/failure.ts), table-driven: what the
 * database or Kafka says when it cannot serve us now is transient (the partition pauses and
 * retries), everything else is about the data (the event that fails alone is dead-lettered),
 * looking through causes and AggregateErrors. Also the pieces around it that need no services:
 * the backoff, the runner's limits, screening of records, dead-letter headers, replay-dlq's
 * arguments and report.
 */
import { KafkaJSConnectionError, KafkaJSError, type KafkaMessage } from 'kafkajs';
import { InvariantError } from '../../../core/assert';
import { EventDecodeError } from '../../../events/errors';
import { encodeOutcome } from '../../../events/schema';
import { DeadLetterSendError } from '../../../projections/src/dead-letter';
import { headersJson, storableText } from '../../../projections/src/dead-letter-table';
import { classifyFailure, type FailureClass } from '../../../projections/src/failure';
import { outcomeFeed } from '../../../projections/src/feed';
import { backoffMs } from '../../../projections/src/pauses';
import { formatReplay, parseReplayArgs } from '../../../projections/src/replay/cli';
import { runnerLimits } from '../../../projections/src/runner-types';
import { describeFailure, screen } from '../../../projections/src/screen';
import { sampleOutcome } from '../../support/events/fixtures';

/** What node-postgres throws for a server error: a DatabaseError with the SQLSTATE as `code`. */
function pgError(code: string, message = `server said ${code}`): Error {
  return Object.assign(new Error(message), { name: 'error', code, severity: 'ERROR' });
}

const transient: [string, unknown][] = [
  ['08006 connection_failure', pgError('08006')],
  ['08001 unable to connect', pgError('08001')],
  ['53300 too_many_connections', pgError('53300')],
  ['53100 disk_full', pgError('53100')],
  ['53200 out_of_memory', pgError('53200')],
  ['57P01 admin_shutdown', pgError('57P01')],
  ['57P02 crash_shutdown', pgError('57P02')],
  ['57P03 cannot_connect_now', pgError('57P03')],
  ['57014 statement timeout', pgError('57014')],
  ['40001 serialization_failure', pgError('40001')],
  ['40P01 deadlock_detected', pgError('40P01')],
  ['55P03 lock_not_available', pgError('55P03')],
  ['58030 io_error', pgError('58030')],
  ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
  ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ['ETIMEDOUT', Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })],
  ['EHOSTUNREACH', Object.assign(new Error('no route'), { code: 'EHOSTUNREACH' })],
  ['pg pool connect timeout', new Error('timeout exceeded when trying to connect')],
  ['Connection terminated', new Error('Connection terminated unexpectedly')],
  ['Connection terminated (timeout)', new Error('Connection terminated due to connection timeout')],
  ['kafkajs error', new KafkaJSError('broker gone')],
  ['kafkajs connection error', new KafkaJSConnectionError('Connection timeout')],
  ['a dead letter not sent', new DeadLetterSendError('dead letters not sent: timeout')],
  ['a transient cause', new Error('wrapped', { cause: pgError('08003') })],
  [
    'a transient cause two levels down',
    new Error('outer', { cause: new Error('inner', { cause: { code: 'ECONNRESET' } }) }),
  ],
  [
    'an AggregateError of refused connections',
    new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })], 'both failed'),
  ],
];

const data: [string, unknown][] = [
  ['22021 U+0000 in text', pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
  ['22003 numeric out of range', pgError('22003')],
  ['22P02 invalid text representation', pgError('22P02')],
  ['23505 unique_violation', pgError('23505')],
  ['23503 foreign_key_violation', pgError('23503')],
  ['23514 check_violation', pgError('23514')],
  ['42P01 undefined_table', pgError('42P01')],
  ['XX000 internal_error', pgError('XX000')],
  ['58P01 undefined_file', pgError('58P01')],
  ['an InvariantError', new InvariantError('held transfer has no lines')],
  ['an EventDecodeError', new EventDecodeError('invalid_event', 'bad')],
  ['a projection throwing on an event', new Error('unknown account acc-x')],
  ['a bug', new TypeError("Cannot read properties of undefined (reading 'lines')")],
  ['a data cause', new Error('wrapped', { cause: pgError('23505') })],
  ['a string', 'something went wrong'],
  ['null', null],
  [
    'a cycle of causes',
    (() => {
      const error = new Error('a') as Error & { cause?: unknown };
      error.cause = error;
      return error;
    })(),
  ],
];

describe('classifyFailure', () => {
  test.each(transient)('%s is transient', (_name, error) => {
    expect(classifyFailure(error)).toBe<FailureClass>('transient');
  });
  test.each(data)('%s is data', (_name, error) => {
    expect(classifyFailure(error)).toBe<FailureClass>('data');
  });
});

test('describeFailure names the error, its SQLSTATE and detail', () => {
  const error = Object.assign(pgError('23505', 'duplicate key'), { detail: 'Key (id)=(1)' });
  expect(describeFailure(error)).toBe('error 23505: duplicate key (Key (id)=(1))');
  expect(describeFailure(new InvariantError('x'))).toBe('InvariantError: invariant: x');
  expect(describeFailure('plain')).toBe('plain');
});

test('the backoff doubles from the first delay up to the max', () => {
  const limits = { backoffInitialMs: 100, backoffMaxMs: 1_000 };
  expect([1, 2, 3, 4, 5, 50].map((n) => backoffMs(n, limits))).toEqual([
    100, 200, 400, 800, 1_000, 1_000,
  ]);
});

test('runner limits that cannot work fail at construction', () => {
  expect(runnerLimits().eventBytesMax).toBe(8 * 1024 * 1024);
  expect(() => runnerLimits({ eventBytesMax: 0 })).toThrow(InvariantError);
  expect(() => runnerLimits({ backoffInitialMs: 500, backoffMaxMs: 100 })).toThrow(/backoff/);
  expect(() => runnerLimits({ batchEventsMax: 1.5 })).toThrow(/batchEventsMax/);
});

describe('screen', () => {
  const origin = { group: 'g', topic: 't', partition: 3 };
  const message = (offset: number, value: Buffer | null, key = 'k'): KafkaMessage =>
    ({
      key: Buffer.from(key),
      value,
      offset: String(offset),
      timestamp: '1700000000000',
      attributes: 0,
      headers: {},
    }) as KafkaMessage;
  const good = encodeOutcome(sampleOutcome('j-1', 1)).value;

  test('oversized before parsing, undecodable with the decoder code, the rest decoded', () => {
    const limit = good.length + 1;
    const { events, letters } = screen(
      outcomeFeed,
      origin,
      [
        message(0, good),
        message(1, Buffer.concat([good, Buffer.alloc(64, 0x20)])),
        message(2, Buffer.from('{')),
        message(3, null),
      ],
      limit,
    );
    expect(events.map((e) => [e.offset, e.event.journalId])).toEqual([['0', 'j-1']]);
    expect(letters.map((l) => [l.offset, l.reason, l.group, l.partition])).toEqual([
      ['1', 'oversized', 'g', 3],
      ['2', 'malformed', 'g', 3],
      ['3', 'malformed', 'g', 3],
    ]);
    expect(letters[0]!.message).toMatch(/above the limit of \d+ bytes/);
  });

  test('a feed that throws anything but EventDecodeError is a bug: thrown', () => {
    const broken = {
      ...outcomeFeed,
      decode: () => {
        throw new TypeError('bug');
      },
    };
    expect(() => screen(broken, origin, [message(0, good)], 1_000_000)).toThrow(TypeError);
  });
});

test('dead-letter headers: text as text, other bytes as base64; names made storable', () => {
  expect(
    headersJson({
      schema: Buffer.from('ledger-bridge.journal-outcome'),
      nul: Buffer.from('a\u0000b'),
      binary: Buffer.from([0xff, 0xfe]),
      many: [Buffer.from('x'), 'y'],
      'bad\u0000name': 'v',
      missing: undefined,
    }),
  ).toEqual({
    schema: 'ledger-bridge.journal-outcome',
    nul: { base64: Buffer.from('a\u0000b').toString('base64') },
    binary: { base64: '//4=' },
    many: ['x', 'y'],
    'bad\uFFFDname': 'v',
  });
  expect(storableText('a\u0000\uD800b')).toBe('a\uFFFD\uFFFDb');
});

describe('replay-dlq arguments and report', () => {
  test.each([
    [[], { dryRun: false }],
    [['--dry-run'], { dryRun: true }],
    [['--topic', 'a.b', '--dry-run'], { dryRun: true, topic: 'a.b' }],
    [['--topic=a.b'], { dryRun: false, topic: 'a.b' }],
  ])('%j parses', (argv, expected) => {
    expect(parseReplayArgs(argv)).toEqual(expected);
  });

  test.each([[['--topic']], [['--topic=']], [['x']], [['--topic', 'a', '--topic', 'b']]])(
    '%j is a usage error',
    (argv) => {
      expect(parseReplayArgs(argv)).toBeNull();
    },
  );

  test('the report says what replayed and lists what still fails', () => {
    const failure = { group: 'g', topic: 't', partition: 1, offset: '7', reason: 'malformed' };
    expect(
      formatReplay({
        dryRun: false,
        pending: 3,
        replayed: 2,
        failed: [{ ...failure, error: 'EventDecodeError: not UTF-8 JSON' }],
      }),
    ).toEqual([
      '3 pending: 2 replayed, 1 still failing',
      '  t/1 offset 7 (malformed): EventDecodeError: not UTF-8 JSON',
    ]);
    expect(formatReplay({ dryRun: true, pending: 0, replayed: 0, failed: [] })).toEqual([
      'dry run: 0 pending, 0 would replay, 0 would still fail; nothing changed',
    ]);
  });
});
