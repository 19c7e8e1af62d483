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
import type { Router } from '../http/router';
import { requireTouchAccounts, type TenantDirectory } from '../access/tenant';
import { awaitConsistency, forRequest, type ReadRouteDeps } from './consistency';
import { readJournal } from './reads';

/** Longest accepted journal id (the write path's ids are far shorter). */
export const JOURNAL_ID_CHARS_MAX = 256;
const JOURNAL_ID = /^[A-Za-z0-9._:-]+$/;

export type JournalReadDeps = ReadRouteDeps;

export function journalReadRoutes(
  router: Router,
  deps: JournalReadDeps,
  accounts: TenantDirectory,
): void {
  router.on('GET', '/api/journal/:journalId', { scope: 'journals:read' }, async (ctx) => {
    const journalId = ctx.params[0]!;
    if (journalId.length > JOURNAL_ID_CHARS_MAX || !JOURNAL_ID.test(journalId)) {
      throw new ApiError(400, 'invalid_journal_id', 'not a journal id', { field: 'journalId' });
    }
    const read = forRequest(deps);
    await awaitConsistency(ctx, read);
    const journal = await readJournal(read.db, journalId);
    if (journal === null) {
      throw new ApiError(404, 'journal_not_found', `no journal '${journalId}'`, {
        field: 'journalId',
      });
    }
    await requireTouchAccounts(
      ctx.req,
      accounts,
      journal.lines.map((line, i) => ({ id: line.accountId, field: `lines[${i}].accountId` })),
    );
    sendJson(ctx.res, 200, journal);
  });
}
