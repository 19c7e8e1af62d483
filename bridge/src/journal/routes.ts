/**
 * Journal routes, on the lean router: POST /api/journal, POST /api/journals/batch, and the second
 * step of a hold, POST /api/journal/:id/post and /void.
 */
import type http from 'node:http';
import { JournalError } from './errors';
import { isId, parseHoldPost, parseJournal, parseJournalBatch } from './schema';
import { consistencyToken } from '../../../events/position';
import type { JournalService, Posted } from './service';
import type { Logger } from '../../../core/logger';
import { readJsonBody } from '../http/body';
import { toErrorAnswer } from '../http/error-mapping';
import { sendJson } from '../http/respond';
import type { Router } from '../http/router';
import {
  requireTouchAccounts,
  requireTouchLedgerAccounts,
  type TenantDirectory,
  type Touch,
} from '../access/tenant';
import type { Journal } from '../../../events/journal-model';
import type { Transfer } from '../../../ledger/port';

/** A journal of 64 lines with long descriptions stays far below this. */
export const JOURNAL_BODY_BYTES_MAX = 64 * 1024;
/** 1,000 journals (BULK_JOURNALS_MAX) of a few lines each. */
export const BULK_BODY_BYTES_MAX = 8 * 1024 * 1024;

/** A journal's accounts, where its body names them, for the tenant check. */
function lineTouches(journal: Journal): Array<Touch<string>> {
  return journal.lines.map((line, i) => ({ id: line.accountId, field: `lines[${i}].accountId` }));
}

export function journalRoutes(
  router: Router,
  journals: JournalService,
  accounts: TenantDirectory,
  log: Logger,
): void {
  router.on('POST', '/api/journal', { scope: 'journals:write' }, async ({ req, res }) => {
    const journal = parseJournal(await readJsonBody(req, JOURNAL_BODY_BYTES_MAX));
    await requireTouchAccounts(req, accounts, lineTouches(journal));
    sendPosted(res, await journals.post(journal));
  });

  router.on('POST', '/api/journals/batch', { scope: 'journals:write' }, async ({ req, res }) => {
    const parsed = parseJournalBatch(await readJsonBody(req, BULK_BODY_BYTES_MAX));
    // Every journal goes to the batcher at once, so they share ledger requests; each one is
    // posted or rejected on its own and answered in order.
    const results = await Promise.all(
      parsed.map(async (item) => {
        try {
          if (!item.ok) throw item.error;
          await requireTouchAccounts(req, accounts, lineTouches(item.journal));
          const { receipt, position, balanceToken } = await journals.post(item.journal);
          return {
            status: 201,
            journal: receipt,
            consistencyToken: consistencyToken(position),
            balanceToken,
          };
        } catch (error) {
          const answer = toErrorAnswer(error);
          if (answer.unexpected) log.error({ err: error }, 'bulk journal failed');
          return { status: answer.status, ...answer.body };
        }
      }),
    );
    sendJson(res, 200, { results });
  });

  for (const action of ['post', 'void'] as const) {
    router.on(
      'POST',
      `/api/journal/:journalId/${action}`,
      { scope: 'holds:write' },
      async ({ req, res, params }) => {
        const journalId = params[0]!;
        if (!isId(journalId)) {
          throw new JournalError('field_invalid', 'journalId is not a valid journal id', {
            field: 'journalId',
          });
        }
        const body = hasBody(req) ? await readJsonBody(req, JOURNAL_BODY_BYTES_MAX) : undefined;
        const { amount } = action === 'post' ? parseHoldPost(body) : parseVoid(body);
        // The hold's accounts are known only from its transfers: checked once they are read.
        const guard = (held: readonly Transfer[]) =>
          requireTouchLedgerAccounts(
            req,
            accounts,
            held.flatMap((t) => [
              { id: t.debit_account_id, field: 'journalId' },
              { id: t.credit_account_id, field: 'journalId' },
            ]),
          );
        sendPosted(res, await journals.resolveHold(journalId, action, amount ?? undefined, guard));
      },
    );
  }
}

/**
 * 201 with the receipt as the body (identical on every retry) and the outcome event's position
 * as the `Consistency-Token` header: reads that pass it wait until the projections have it.
 */
function sendPosted(res: http.ServerResponse, posted: Posted): void {
  sendJson(res, 201, posted.receipt, {
    'consistency-token': consistencyToken(posted.position),
    'balance-token': posted.balanceToken,
  });
}

function hasBody(req: http.IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0
  );
}

function parseVoid(body: unknown): { amount: null } {
  if (body === undefined || body === null) return { amount: null };
  if (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length > 0) {
    throw new JournalError('unknown_field', 'a void takes no fields', { field: 'body' });
  }
  return { amount: null };
}
