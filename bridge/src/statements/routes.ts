/**
 * GET /api/accounts/:accountId/entries?cursor=&limit= — an account's statement: its postings in
 * TigerBeetle order (timestamp, then transfer id), each with the running balance on the account's
 * normal side, read from the statement read model (`rm_statement_entry`, projections/src/
 * read-models/statement.ts) through the replica router (a caught-up replica, else the primary). Keyset pagination: `nextCursor` names the
 * last entry of the page, null on the last page; a page never skips nor repeats an entry, even
 * while postings are appended. Errors: 400 `invalid_limit` / `invalid_cursor` with the field,
 * 404 `account_not_found`.
 */
import {
  awaitConsistency,
  type ConsistencyDeps,
  forRequest,
  type ReadRouteDeps,
} from '../journal/consistency';
import type { AccountRecord } from '../accounts/model';
import { ApiError } from '../http/api-error';
import { sendJson } from '../http/respond';
import type { Router } from '../http/router';
import { decodeCursor, encodeCursor, type StatementKey } from './cursor';

export const STATEMENT_LIMIT_DEFAULT = 50;
export const STATEMENT_LIMIT_MAX = 500;

export interface StatementRouteDeps extends ReadRouteDeps {
  accounts: { requireAccount(accountId: string): Promise<AccountRecord> };
}

/** One request's dependencies: the server `pick` chose, for the checkpoint and the page. */
export type StatementDeps = StatementRouteDeps & ConsistencyDeps;

export interface StatementEntry {
  timestamp: string;
  transferId: string;
  journalId: string;
  lineNumber: number;
  side: 'DEBIT' | 'CREDIT';
  amount: string;
  kind: 'posted' | 'hold_posted';
  description: string;
  /** Balance on the account's normal side after this entry (may be negative). */
  balance: string;
}

export interface StatementPage {
  accountId: string;
  asset: string;
  normalSide: 'DEBIT' | 'CREDIT';
  entries: StatementEntry[];
  nextCursor: string | null;
}

/** One value of a query parameter; a repeated parameter is ambiguous and refused. */
function single(params: URLSearchParams, name: string, code: string): string | null {
  const values = params.getAll(name);
  if (values.length > 1)
    throw new ApiError(400, code, `${name} is given more than once`, { field: name });
  return values[0] ?? null;
}

export function parseStatementQuery(url: string): { limit: number; after: StatementKey | null } {
  const params = new URL(url, 'http://localhost').searchParams;
  const limitText = single(params, 'limit', 'invalid_limit');
  let limit = STATEMENT_LIMIT_DEFAULT;
  if (limitText !== null) {
    limit = /^[1-9][0-9]{0,3}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > STATEMENT_LIMIT_MAX) {
      throw new ApiError(
        400,
        'invalid_limit',
        `limit must be an integer from 1 to ${STATEMENT_LIMIT_MAX}`,
        {
          field: 'limit',
        },
      );
    }
  }
  const cursorText = single(params, 'cursor', 'invalid_cursor');
  let after: StatementKey | null = null;
  if (cursorText !== null && cursorText !== '') {
    after = decodeCursor(cursorText);
    if (after === null) {
      throw new ApiError(400, 'invalid_cursor', 'cursor is not one this API issued', {
        field: 'cursor',
      });
    }
  }
  return { limit, after };
}

interface EntryRow {
  tb_timestamp: string;
  transfer_id: string;
  journal_id: string;
  line_number: number;
  side: 'DEBIT' | 'CREDIT';
  amount: string;
  kind: 'posted' | 'hold_posted';
  description: string;
  balance: string;
}

// One row more than the page tells whether another page follows. The sentinel key (-1, -1) sorts
// before every real key, so the first page uses the same index range scan as the others.
const PAGE = `
  SELECT tb_timestamp, transfer_id, journal_id, line_number, side, amount, kind, description,
         CASE WHEN $4 = 'DEBIT' THEN running_debits - running_credits
              ELSE running_credits - running_debits END AS balance
    FROM rm_statement_entry
   WHERE account_id = $1 AND (tb_timestamp, transfer_id) > ($2::numeric, $3::numeric)
   ORDER BY tb_timestamp, transfer_id
   LIMIT $5`;

export async function readStatement(
  deps: StatementDeps,
  accountId: string,
  query: { limit: number; after: StatementKey | null },
): Promise<StatementPage> {
  const account = await deps.accounts.requireAccount(accountId);
  const { rows } = await deps.db.query<EntryRow>(PAGE, [
    account.accountId,
    query.after?.tbTimestamp ?? '-1',
    query.after?.transferId ?? '-1',
    account.normalSide,
    query.limit + 1,
  ]);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    accountId: account.accountId,
    asset: account.asset,
    normalSide: account.normalSide,
    entries: page.map((row) => ({
      timestamp: row.tb_timestamp,
      transferId: row.transfer_id,
      journalId: row.journal_id,
      lineNumber: row.line_number,
      side: row.side,
      amount: row.amount,
      kind: row.kind,
      description: row.description,
      balance: row.balance,
    })),
    nextCursor:
      rows.length > query.limit && last !== undefined
        ? encodeCursor({ tbTimestamp: last.tb_timestamp, transferId: last.transfer_id })
        : null,
  };
}

export function statementRoutes(router: Router, deps: StatementRouteDeps): void {
  router.on('GET', '/api/accounts/:accountId/entries', async (ctx) => {
    const query = parseStatementQuery(ctx.req.url ?? '/');
    const read = forRequest(deps);
    await awaitConsistency(ctx, read);
    sendJson(ctx.res, 200, await readStatement(read, ctx.params[0]!, query));
  });
}
