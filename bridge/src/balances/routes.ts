/**
 * GET /api/balance/:accountId through the balance reader. The body is the balance view plus
 * `cache: {level: "l1"|"l2"|"ledger", ageMs}`; the same facts are in the headers `Cache-Level`
 * and `Cache-Age-Ms`. A `Balance-Token` header (or `?balanceToken=`) from a posting makes the
 * read reflect that posting, on any instance; a malformed token is a 400.
 */
import type http from 'node:http';
import { ApiError } from '../http/api-error';
import { sendJsonText } from '../http/respond';
import { assert } from '../../../core/assert';
import type { Router } from '../http/router';
import { requireTouchAccounts, type TenantDirectory, touchCheckNeeded } from '../access/tenant';
import type { BalanceReader, CacheLevel } from './reader';
import type { BalanceView } from './view';
import {
  BALANCE_TOKEN_HEADER,
  BALANCE_TOKEN_QUERY,
  BalanceTokenError,
  decodeBalanceToken,
} from './token';

/** The token a request carries (0n without one); ApiError 400 for a malformed one. */
export function balanceTokenOf(req: http.IncomingMessage): bigint {
  let token: string | null = null;
  const header = req.headers[BALANCE_TOKEN_HEADER];
  if (typeof header === 'string' && header.length > 0) token = header;
  else {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    if (query !== -1) token = new URLSearchParams(url.slice(query + 1)).get(BALANCE_TOKEN_QUERY);
  }
  if (token === null) return 0n;
  try {
    return decodeBalanceToken(token);
  } catch (error) {
    if (error instanceof BalanceTokenError) {
      throw new ApiError(400, error.code, error.message, { field: 'balanceToken' });
    }
    throw error;
  }
}

export function cachedBalanceRoutes(
  router: Router,
  reader: BalanceReader,
  accounts: TenantDirectory,
): void {
  router.on(
    'GET',
    '/api/balance/:accountId',
    { scope: 'balances:read' },
    async ({ req, res, params }) => {
      if (touchCheckNeeded(req)) {
        await requireTouchAccounts(req, accounts, [{ id: params[0]!, field: 'accountId' }]);
      }
      const read = await reader.read(params[0]!, { minAsOfNs: balanceTokenOf(req) });
      sendJsonText(res, 200, balanceJson(read.view, read.level, read.ageMs), {
        'cache-level': read.level,
        'cache-age-ms': String(read.ageMs),
      });
    },
  );
}

/** Each shared view's JSON without its closing brace (views are frozen: ./reader.ts). */
const viewTexts = new WeakMap<BalanceView, string>();

/**
 * `{...view, cache: {level, ageMs}}` as JSON.stringify writes it, the view's part made once per
 * cached value: a read from L1 serializes two small fields, not six u128s and their objects.
 */
export function balanceJson(view: BalanceView, level: CacheLevel, ageMs: number): string {
  let text = viewTexts.get(view);
  if (text === undefined) {
    const whole = JSON.stringify(view);
    assert(whole.endsWith('}') && whole.length > 2, 'a balance view is a non-empty object');
    text = whole.slice(0, -1);
    viewTexts.set(view, text);
  }
  // `level` is one of three literals: it needs no escaping.
  return `${text},"cache":{"level":"${level}","ageMs":${JSON.stringify(ageMs)}}}`;
}
