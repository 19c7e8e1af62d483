/**
 * The read side of the consistency token (issue 4, item 7). A posting answers with its outcome
 * event's position (`p<partition>.o<offset>`, events/position.ts); a read that passes
 * it back waits, bounded, until the projection runner's checkpoint for that partition has moved
 * past the offset, i.e. until the event is in PostgreSQL.
 */
import { InvariantError } from '../../../core/assert';
import { consistencyToken, parseConsistencyToken } from '../../../events/position';
import { ApiError } from '../http/api-error';
import type { RouteContext } from '../http/router';
import type { Queryable } from '../../../core/postgres/pool';

/** Poll period of the wait (ms): a checkpoint read is one indexed row. */
export const CONSISTENCY_POLL_MS = 10;
/** Longest a read may wait for the projection (ms), whatever the caller asks. */
export const CONSISTENCY_WAIT_MS_MAX = 10_000;

export interface TokenPosition {
  partition: number;
  /** Kafka offset, decimal string. */
  offset: string;
}

/** The code of a refused token: not a token, or naming a partition the topic does not have. */
export const INVALID_TOKEN = 'invalid_consistency_token';

export class ConsistencyTokenError extends Error {
  override readonly name = 'ConsistencyTokenError';
  readonly code = INVALID_TOKEN;
}

export function encodeToken(position: TokenPosition): string {
  if (!Number.isSafeInteger(position.partition) || position.partition < 0) {
    throw new InvariantError(`partition ${position.partition}`);
  }
  if (!/^(0|[1-9][0-9]{0,18})$/.test(position.offset)) {
    throw new InvariantError(`offset ${position.offset}`);
  }
  return consistencyToken(position);
}

/** The position in a token; throws ConsistencyTokenError on anything that is not one. */
export function decodeToken(token: string): TokenPosition {
  const position = parseConsistencyToken(token);
  if (position === null) {
    throw new ConsistencyTokenError(`'${token.slice(0, 64)}' is not a consistency token`);
  }
  return position;
}

export interface WaitOptions {
  /** The projection worker's consumer group (PROJECTIONS_GROUP_ID). */
  groupId: string;
  pollMs?: number;
  /** Injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Resolves 'caught_up' once the group's checkpoint of (topic, partition) is above `offset`, or,
 * after `timeoutMs`, the checkpoint it last saw (`current`: the next offset the projections will
 * apply, '0' before their first batch).
 */
export async function waitForProjection(
  db: Queryable,
  target: { topic: string; partition: number; offset: string },
  timeoutMs: number,
  options: WaitOptions,
): Promise<'caught_up' | { current: string }> {
  const wanted = BigInt(target.offset);
  let current = 0n;
  const caughtUp = await pollWithin(
    async () => {
      const { rows } = await db.query<{ next_offset: bigint | string }>(
        `SELECT next_offset FROM projection_checkpoint
          WHERE consumer_group = $1 AND topic = $2 AND partition = $3`,
        [options.groupId, target.topic, target.partition],
      );
      current = rows[0] === undefined ? 0n : BigInt(rows[0].next_offset);
      return current > wanted;
    },
    timeoutMs,
    options,
  );
  return caughtUp ? 'caught_up' : { current: current.toString() };
}

/**
 * Asks `probe` every `pollMs` until it answers true (then true), or until the wait, bounded by
 * CONSISTENCY_WAIT_MS_MAX whatever `timeoutMs` says, has run out (then false). Probes at least once.
 */
export async function pollWithin(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  options: Pick<WaitOptions, 'pollMs' | 'now' | 'sleep'> = {},
): Promise<boolean> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const pollMs = options.pollMs ?? CONSISTENCY_POLL_MS;
  const deadline = now() + Math.min(Math.max(0, timeoutMs), CONSISTENCY_WAIT_MS_MAX);
  for (;;) {
    if (await probe()) return true;
    const left = deadline - now();
    if (left <= 0) return false;
    await sleep(Math.min(pollMs, left));
  }
}

/**
 * How many partitions the outcome topic has. A token naming a partition the topic does not have
 * can never be applied: it is refused at once instead of waited on. A topic can gain partitions,
 * never lose them, so a count may be re-read, never lowered (./topic-partitions.ts).
 */
export interface TopicPartitions {
  /** The partition count, re-read first (when due) if `partition` is not below the known one. */
  countFor(partition: number): Promise<number>;
}

/** What a route needs to serve reads that carry a consistency token. */
export interface ConsistencyDeps {
  /** The pool the read uses: the checkpoint must be read where the data is read. */
  db: Queryable;
  /** The outcome topic (KAFKA_OUTCOMES_TOPIC): tokens name a partition of it. */
  topic: string;
  /** The projection worker's group (PROJECTIONS_GROUP_ID). */
  groupId: string;
  /** CONSISTENCY_WAIT_MS. */
  consistencyWaitMs: number;
  /** The outcome topic's partitions: a token must name one of them. */
  partitions: TopicPartitions;
}

/**
 * What a read route is built with: where to read (`pick`, called once per request, so that the
 * checkpoint and the data are read on the same server — a replica, or the primary) and the rest
 * of ConsistencyDeps.
 */
export interface ReadRouteDeps extends Omit<ConsistencyDeps, 'db'> {
  pick: () => Queryable;
}

/** The per-request dependencies: one server for the whole request. */
export function forRequest<T extends ReadRouteDeps>(deps: T): T & ConsistencyDeps {
  return { ...deps, db: deps.pick() };
}

/**
 * For a read route: when the request carries a token (header `Consistency-Token`, or
 * `?consistency=`), wait until the projections applied it, and return its position; 425 `projection_behind` (with the
 * projection's current position and Retry-After) when they have not in time, 400 at once for a
 * token that is not one or names a partition the topic does not have (it could never be applied).
 * Without a token: nothing to wait for.
 */
export async function awaitConsistency(
  ctx: RouteContext,
  deps: ConsistencyDeps,
): Promise<TokenPosition | null> {
  const token = tokenOf(ctx);
  return token === null ? null : awaitToken(deps, token);
}

function tokenOf(ctx: RouteContext): string | null {
  const header = ctx.req.headers['consistency-token'];
  if (typeof header === 'string' && header.length > 0) return header;
  const url = ctx.req.url ?? '';
  const query = url.indexOf('?');
  if (query === -1) return null;
  return new URLSearchParams(url.slice(query + 1)).get('consistency');
}

async function awaitToken(deps: ConsistencyDeps, token: string): Promise<TokenPosition> {
  let position;
  try {
    position = decodeToken(token);
  } catch (error) {
    if (error instanceof ConsistencyTokenError) {
      throw new ApiError(400, error.code, error.message, { field: 'consistency' });
    }
    throw error;
  }
  const partitions = await deps.partitions.countFor(position.partition);
  if (position.partition >= partitions) {
    throw new ApiError(
      400,
      INVALID_TOKEN,
      `'${token}' names partition ${position.partition}, and the topic has ${partitions} ` +
        `(0-${partitions - 1}): no posting answered it`,
      { field: 'consistency' },
    );
  }
  const outcome = await waitForProjection(
    deps.db,
    { topic: deps.topic, ...position },
    deps.consistencyWaitMs,
    { groupId: deps.groupId },
  );
  if (outcome !== 'caught_up') {
    const applied = BigInt(outcome.current) - 1n;
    throw new ApiError(
      425,
      'projection_behind',
      `the projections have not applied ${token} yet; retry`,
      {
        current: applied < 0n ? null : encodeToken({ ...position, offset: applied.toString() }),
      },
      { 'retry-after': '1' },
    );
  }
  return position;
}
