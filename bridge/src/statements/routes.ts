/**
 * GET /api/accounts/:accountId/entries?cursor=&limit= — an account's statement: its postings in
 * TigerBeetle order (timestamp, then transfer id), each with the running balance on the account's
 * normal side, read from the statement read model (`rm_statement_entry`, projections/src/
 * read-models/statement.ts, fed by the ledger's change feed) through the replica router (a
 * caught-up replica, else the primary). Journal, line and description are joined from the journal
 * store by transfer id; a transfer without journal metadata (made through the raw transfer API,
 * or a journal whose outcome was never published) is an entry of kind `raw` with null journal
 * fields, never left out. Keyset pagination: `nextCursor` names the
 * last entry of the page, null on the last page; a page never skips nor repeats an entry, even
 * while postings are appended. Errors: 400 `invalid_limit` / `invalid_cursor` with the field,
 * 404 `account_not_found`.
 */
import {
  awaitConsistency,
  type ConsistencyDeps,
  forRequest,
  pollWithin,
  type ReadRouteDeps,
  type TokenPosition,
} from '../journal/consistency';
import type { AccountRecord } from '../accounts/model';
import { ApiError } from '../http/api-error';
import { sendJson } from '../http/respond';
import type { Router } from '../http/router';
import { requireTouchAccounts, type TenantDirectory } from '../access/tenant';
import { decodeCursor, encodeCursor, type StatementKey } from './cursor';

export const STATEMENT_LIMIT_DEFAULT = 50;
export const STATEMENT_LIMIT_MAX = 500;

export interface StatementRouteDeps extends ReadRouteDeps {
  accounts: { requireAccount(accountId: string): Promise<AccountRecord> } & TenantDirectory;
}

/** One request's dependencies: the server `pick` chose, for the checkpoint and the page. */
export type StatementDeps = StatementRouteDeps & ConsistencyDeps;

/** `posted`: a journal; `hold_posted`: a hold's post; `raw`: a transfer without journal. */
export type StatementEntryKind = 'posted' | 'hold_posted' | 'raw';

export interface StatementEntry {
  timestamp: string;
  transferId: string;
  journalId: string | null;
  lineNumber: number | null;
  side: 'DEBIT' | 'CREDIT';
  amount: string;
  kind: StatementEntryKind;
  description: string | null;
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
function single(
  params: URLSearchParams,
  name: string,
  code: 'invalid_limit' | 'invalid_cursor',
): string | null {
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
  journal_id: string | null;
  line_number: number | null;
  side: 'DEBIT' | 'CREDIT';
  amount: string;
  kind: StatementEntryKind;
  description: string | null;
  balance: string;
}

// One row more than the page tells whether another page follows. The sentinel key (-1, -1) sorts
// before every real key, so the first page uses the same index range scan as the others.
const PAGE = `
  SELECT e.tb_timestamp::text AS tb_timestamp, e.transfer_id::text AS transfer_id,
         t.journal_id,
         CASE WHEN e.side = 'DEBIT' THEN t.debit_line ELSE t.credit_line END AS line_number,
         e.side, e.amount::text AS amount,
         CASE WHEN t.transfer_id IS NULL THEN 'raw'
              WHEN e.type = 'two_phase_posted' THEN 'hold_posted'
              ELSE 'posted' END AS kind,
         j.description,
         (CASE WHEN $4 = 'DEBIT' THEN e.running_debits - e.running_credits
               ELSE e.running_credits - e.running_debits END)::text AS balance
    FROM rm_statement_entry e
    LEFT JOIN journal_transfer t ON t.transfer_id = e.transfer_id
    LEFT JOIN journal_entry j ON j.journal_id = t.journal_id
   WHERE e.ledger_account_id = $1
     AND (e.tb_timestamp, e.transfer_id) > ($2::numeric, $3::numeric)
   ORDER BY e.tb_timestamp, e.transfer_id
   LIMIT $5`;

export async function readStatement(
  deps: StatementDeps,
  accountId: string,
  query: { limit: number; after: StatementKey | null },
): Promise<StatementPage> {
  const account = await deps.accounts.requireAccount(accountId);
  const { rows } = await deps.db.query<EntryRow>(PAGE, [
    account.ledgerId.toString(),
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

/** The latest ledger timestamp among the token's journal's transfers on this account. */
const TOKEN_ACCOUNT_TIMESTAMP = `
  SELECT max(t.tb_timestamp)::text AS at
    FROM journal_event e
    JOIN journal_transfer t ON t.journal_id = e.journal_id
   WHERE e.topic = $1 AND e.partition = $2 AND e.kafka_offset = $3
     AND (t.debit_account_ledger_id = $4 OR t.credit_account_ledger_id = $4)`;

/** Whether the change feed has applied the account's events up to a ledger timestamp. */
const ACCOUNT_FEED_REACHED = `
  SELECT last_tb_timestamp >= $2::numeric AS reached
    FROM rm_account_balance WHERE ledger_account_id = $1`;

/**
 * A statement's lines come from the ledger's change feed, not from the outcome event the token
 * names. Once that event is projected (awaitConsistency), the journal's transfers on this account
 * are known; the read then waits, bounded like the token's wait, until the change feed applied the
 * account's events up to the latest of them. One account's events arrive in order (the change
 * topic is keyed by account), so its balance row's timestamp says how far its lines are.
 */
export async function awaitStatementFeed(
  deps: StatementDeps,
  token: TokenPosition,
  ledgerId: bigint,
  options: { pollMs?: number } = {},
): Promise<void> {
  const id = ledgerId.toString();
  const { rows } = await deps.db.query<{ at: string | null }>(TOKEN_ACCOUNT_TIMESTAMP, [
    deps.topic,
    token.partition,
    token.offset,
    id,
  ]);
  const at = rows[0]?.at ?? null;
  if (at === null) return; // The token's journal did not move this account.
  const reached = await pollWithin(
    async () => {
      const { rows: found } = await deps.db.query<{ reached: boolean }>(ACCOUNT_FEED_REACHED, [
        id,
        at,
      ]);
      return found[0]?.reached === true;
    },
    deps.consistencyWaitMs,
    options,
  );
  if (!reached) {
    throw new ApiError(
      425,
      'projection_behind',
      `the change feed has not applied this account's postings up to ledger timestamp ${at} ` +
        'yet; retry',
      { current: null },
      { 'retry-after': '1' },
    );
  }
}

export function statementRoutes(router: Router, deps: StatementRouteDeps): void {
  router.on('GET', '/api/accounts/:accountId/entries', { scope: 'journals:read' }, async (ctx) => {
    const query = parseStatementQuery(ctx.req.url ?? '/');
    await requireTouchAccounts(ctx.req, deps.accounts, [
      { id: ctx.params[0]!, field: 'accountId' },
    ]);
    const read = forRequest(deps);
    const token = await awaitConsistency(ctx, read);
    if (token !== null) {
      const account = await read.accounts.requireAccount(ctx.params[0]!);
      await awaitStatementFeed(read, token, account.ledgerId);
    }
    sendJson(ctx.res, 200, await readStatement(read, ctx.params[0]!, query));
  });
}
