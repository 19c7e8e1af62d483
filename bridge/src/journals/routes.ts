/**
 * GET /api/journal/:journalId — a journal as the projections hold it in PostgreSQL: entry,
 * status, lines and transfers, amounts as decimal strings.
 *
 * With a consistency token (header `Consistency-Token`, or `?consistency=`), the read first waits,
 * bounded by `consistencyWaitMs`, until the projection has applied that event; if it has not by
 * then: 425 `projection_behind` with the projection's current position. A malformed token: 400.
 */
import { ApiError } from '../http/api-error';
import { sendJson } from '../http/respond';
import type { RouteContext, Router } from '../http/router';
import type { Queryable } from '../store/pool';
import {
  ConsistencyTokenError,
  decodeToken,
  encodeToken,
  PROJECTIONS_GROUP_DEFAULT,
  waitForProjection,
} from './consistency';
import { readJournal } from './store';

/** Longest accepted journal id (the write path's ids are far shorter). */
export const JOURNAL_ID_CHARS_MAX = 256;
const JOURNAL_ID = /^[A-Za-z0-9._:-]+$/;
/** Default bound on a consistent read's wait (ms). */
export const CONSISTENCY_WAIT_MS_DEFAULT = 2_000;

export interface JournalReadDeps {
  /** The primary pool today; a replica later (the checkpoint must be read from the same one). */
  db: Queryable;
  /** The outcome topic (KAFKA_OUTCOMES_TOPIC): tokens name a partition of it. */
  topic: string;
  /** The projection worker's group (PROJECTIONS_GROUP_ID). */
  groupId?: string;
  consistencyWaitMs?: number;
}

function tokenOf(ctx: RouteContext): string | null {
  const header = ctx.req.headers['consistency-token'];
  if (typeof header === 'string' && header.length > 0) return header;
  const url = ctx.req.url ?? '';
  const query = url.indexOf('?');
  if (query === -1) return null;
  return new URLSearchParams(url.slice(query + 1)).get('consistency');
}

async function awaitToken(deps: JournalReadDeps, token: string): Promise<void> {
  let position;
  try {
    position = decodeToken(token);
  } catch (error) {
    if (error instanceof ConsistencyTokenError) {
      throw new ApiError(400, error.code, error.message, { field: 'consistency' });
    }
    throw error;
  }
  const outcome = await waitForProjection(
    deps.db,
    { topic: deps.topic, ...position },
    deps.consistencyWaitMs ?? CONSISTENCY_WAIT_MS_DEFAULT,
    { groupId: deps.groupId ?? PROJECTIONS_GROUP_DEFAULT },
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
}

export function journalReadRoutes(router: Router, deps: JournalReadDeps): void {
  router.on('GET', '/api/journal/:journalId', async (ctx) => {
    const journalId = ctx.params[0]!;
    if (journalId.length > JOURNAL_ID_CHARS_MAX || !JOURNAL_ID.test(journalId)) {
      throw new ApiError(400, 'invalid_journal_id', 'not a journal id', { field: 'journalId' });
    }
    const token = tokenOf(ctx);
    if (token !== null) await awaitToken(deps, token);
    const journal = await readJournal(deps.db, journalId);
    if (journal === null) {
      throw new ApiError(404, 'journal_not_found', `no journal '${journalId}'`, {
        field: 'journalId',
      });
    }
    sendJson(ctx.res, 200, journal);
  });
}
