/**
 * The engine's CDC job's RabbitMQ names and declarations, and its typed failures: TigerBeetle's
 * (src/cdc/runner.zig: `progress_tracker_queue`, `locker_queue`, their arguments, the progress
 * message), with the engine's identity where TigerBeetle puts its cluster id.
 */
import type { Options } from 'amqplib';

const TIMESTAMP_MAX = (1n << 63n) - 1n;

export const PROGRESS_QUEUE_PREFIX = 'ledger.engine.internal.progress';
export const LOCKER_QUEUE_PREFIX = 'ledger.engine.internal.locker';
/** The TigerBeetle release whose message format encodeChange writes; recorded with progress. */
export const FEED_RELEASE = '0.17.9';

/** Why the job ended: each one exits the process, for its supervisor to restart it. */
export type EngineFeedErrorCode =
  | 'exchange_not_found'
  | 'locked'
  | 'progress_invalid'
  | 'progress_newer'
  | 'unroutable'
  | 'nacked'
  | 'amqp_timeout'
  | 'amqp_closed'
  | 'amqp_refused'
  | 'source_failed'
  | 'source_out_of_order';

export class EngineFeedError extends Error {
  override readonly name = 'EngineFeedError';
  constructor(
    readonly code: EngineFeedErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The job's queues: TigerBeetle's `<prefix>.<cluster id>`, with the engine's id. */
export function feedQueues(engineId: string): { progress: string; locker: string } {
  return {
    progress: `${PROGRESS_QUEUE_PREFIX}.${engineId}`,
    locker: `${LOCKER_QUEUE_PREFIX}.${engineId}`,
  };
}

/** TigerBeetle's declarations (runner.zig), in RabbitMQ's argument names. */
export const lockerQueue: Options.AssertQueue = {
  durable: false,
  exclusive: true,
  autoDelete: true,
  arguments: {
    'x-overflow': 'drop-head',
    'x-max-length': 0,
    'x-max-length-bytes': 0,
    'x-single-active-consumer': true,
  },
};
export const progressQueue: Options.AssertQueue = {
  durable: true,
  exclusive: false,
  autoDelete: false,
  arguments: {
    'x-overflow': 'drop-head',
    'x-max-length': 1,
    'x-max-length-bytes': 0,
    'x-single-active-consumer': true,
  },
};

/** AMQP reply codes (channel or connection close) to what they mean for the job. */
export function amqpError(error: Error, what: string): EngineFeedError {
  const code = (error as { code?: unknown }).code;
  const text = `${what}: ${error.message}`;
  if (code === 404) return new EngineFeedError('exchange_not_found', text);
  if (code === 405) return new EngineFeedError('locked', `${text} (another feed holds the lock)`);
  if (code === 403 || code === 406) return new EngineFeedError('amqp_refused', text);
  if (/nack/i.test(error.message)) return new EngineFeedError('nacked', text);
  return new EngineFeedError('amqp_closed', text);
}

/**
 * The progress message's headers: `timestamp` (decimal u64, see ./engine-feed.ts) and `release`
 * (the publisher's, never newer than ours: a feed is never downgraded).
 */
export function parseProgress(queue: string, headers: Record<string, unknown> | undefined): bigint {
  const text = headers?.timestamp;
  if (
    typeof text !== 'string' ||
    !/^[1-9][0-9]{0,18}$/.test(text) ||
    BigInt(text) > TIMESTAMP_MAX
  ) {
    throw new EngineFeedError(
      'progress_invalid',
      `${queue}: no valid timestamp header (${JSON.stringify(text)}); ` +
        'restart with timestampLast to set one',
    );
  }
  const release = headers?.release;
  if (typeof release !== 'string' || newerRelease(release, FEED_RELEASE)) {
    throw new EngineFeedError(
      'progress_newer',
      `${queue}: the last event was published by release ${String(release)}, newer than ` +
        `${FEED_RELEASE}: a feed is never downgraded`,
    );
  }
  return BigInt(text);
}

/** "0.17.10" > "0.17.9": compares dotted numbers; anything unreadable counts as newer. */
function newerRelease(recorded: string, ours: string): boolean {
  const parse = (r: string): number[] | null =>
    /^\d+\.\d+\.\d+$/.test(r) ? r.split('.').map(Number) : null;
  const a = parse(recorded);
  const b = parse(ours)!;
  if (a === null) return true;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}
