/**
 * Hostile reads: forged, truncated, repeated and oversized tokens, cursors and limits on the
 * balance, statement and journal reads, ids that do not exist, and the dashboard's own query.
 * Consistency tokens are only sent well-formed when they are the API's own (a token naming
 * another partition or offset is judged by the consistency-token check, not this suite).
 */
import { encodeCursor } from '../../../../bridge/src/statements/cursor';
import { U64_MAX } from '../../../../ledger/port';
import type { RawRequest } from '../raw-client';
import type { HostileCase, World } from './world';

const BALANCE = 'GET /api/balance/:accountId';
const ENTRIES = 'GET /api/accounts/:accountId/entries';
const JOURNAL = 'GET /api/journal/:journalId';
const DATA = 'GET /dashboard/data';

const get =
  (target: (w: World) => string, headers?: Record<string, string>) =>
  (w: World): RawRequest => ({ method: 'GET', target: target(w), headers });

const entries = (query: string) => get((w) => `/api/accounts/${w.id('cash')}/entries?${query}`);
const balance = (query: string, headers?: Record<string, string>) =>
  get((w) => `/api/balance/${w.id('cash')}${query}`, headers);

/** A GET with `name: value` sent twice (Node joins repeated headers it does not know with ', '). */
function twice(target: string, name: string, value: string): string {
  const header = `${name}: ${value}\r\n`;
  return `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${header}${header}\r\n`;
}

type Row = [string, string, (w: World) => RawRequest, number, string | null, string?];

const badToken = (field: string) => [400, 'invalid_balance_token', field] as const;

const ROWS: Row[] = [
  [
    BALANCE,
    'the token of a posting',
    (w) => balance('', { 'Balance-Token': w.posted.balanceToken })(w),
    200,
    null,
  ],
  [
    BALANCE,
    'a token that is not a number',
    balance('', { 'Balance-Token': 'latest' }),
    ...badToken('balanceToken'),
  ],
  [
    BALANCE,
    'a token of 2^64',
    balance('', { 'Balance-Token': (U64_MAX + 1n).toString() }),
    ...badToken('balanceToken'),
  ],
  [
    BALANCE,
    'a negative token',
    balance('', { 'Balance-Token': '-1' }),
    ...badToken('balanceToken'),
  ],
  [
    BALANCE,
    'a token with a leading zero',
    balance('', { 'Balance-Token': '01' }),
    ...badToken('balanceToken'),
  ],
  [
    BALANCE,
    'a token with Latin-1 bytes',
    balance('', { 'Balance-Token': '1\u00e9' }),
    ...badToken('balanceToken'),
  ],
  [BALANCE, 'a token in the query', balance('?balanceToken=1e9'), ...badToken('balanceToken')],
  [BALANCE, 'an empty token header', balance('', { 'Balance-Token': '' }), 200, null],
  [
    BALANCE,
    'the token header twice',
    (w) => ({
      ...balance('')(w),
      bytes: twice(`/api/balance/${w.id('cash')}`, 'Balance-Token', w.posted.balanceToken),
    }),
    ...badToken('balanceToken'),
  ],
  [
    BALANCE,
    'an account that does not exist',
    get((w) => `/api/balance/${w.id('nobody')}`),
    404,
    'account_not_found',
    'accountId',
  ],
  [ENTRIES, 'limit 0', entries('limit=0'), 400, 'invalid_limit', 'limit'],
  [ENTRIES, 'limit 501', entries('limit=501'), 400, 'invalid_limit', 'limit'],
  [ENTRIES, 'limit -1', entries('limit=-1'), 400, 'invalid_limit', 'limit'],
  [ENTRIES, 'limit 1.5', entries('limit=1.5'), 400, 'invalid_limit', 'limit'],
  [ENTRIES, 'limit 1e2', entries('limit=1e2'), 400, 'invalid_limit', 'limit'],
  [
    ENTRIES,
    'limit of 400 digits',
    entries(`limit=${'9'.repeat(400)}`),
    400,
    'invalid_limit',
    'limit',
  ],
  [ENTRIES, 'limit empty', entries('limit='), 400, 'invalid_limit', 'limit'],
  [ENTRIES, 'limit twice', entries('limit=1&limit=2'), 400, 'invalid_limit', 'limit'],
  [ENTRIES, 'limit 500', entries('limit=500'), 200, null],
  [ENTRIES, 'limit in fullwidth digits', entries('limit=%EF%BC%95'), 400, 'invalid_limit', 'limit'],
  [ENTRIES, 'a cursor the API issued', (w) => entries(`cursor=${w.cursor}`)(w), 200, null],
  [
    ENTRIES,
    'a cursor that is not base64url',
    entries('cursor=%2F%2F%2F'),
    400,
    'invalid_cursor',
    'cursor',
  ],
  [
    ENTRIES,
    'a cursor with padding',
    (w) => entries(`cursor=${w.cursor}%3D`)(w),
    400,
    'invalid_cursor',
    'cursor',
  ],
  [
    ENTRIES,
    'a cursor of another shape',
    entries(`cursor=${Buffer.from('1:2:3').toString('base64url')}`),
    400,
    'invalid_cursor',
    'cursor',
  ],
  [
    ENTRIES,
    'a cursor past u64',
    entries(`cursor=${encodeCursor({ tbTimestamp: (U64_MAX + 1n).toString(), transferId: '1' })}`),
    400,
    'invalid_cursor',
    'cursor',
  ],
  [
    ENTRIES,
    'a cursor of 200 characters',
    entries(`cursor=${'A'.repeat(200)}`),
    400,
    'invalid_cursor',
    'cursor',
  ],
  [
    ENTRIES,
    'a cursor twice',
    (w) => entries(`cursor=${w.cursor}&cursor=${w.cursor}`)(w),
    400,
    'invalid_cursor',
    'cursor',
  ],
  [
    ENTRIES,
    'the token of a posting',
    (w) =>
      get((x) => `/api/accounts/${x.id('cash')}/entries`, {
        'Consistency-Token': w.posted.consistencyToken,
      })(w),
    200,
    null,
  ],
  [
    ENTRIES,
    'a token that is not one',
    get((w) => `/api/accounts/${w.id('cash')}/entries`, { 'Consistency-Token': 'p0' }),
    400,
    'invalid_consistency_token',
    'consistency',
  ],
  [
    ENTRIES,
    'the token header twice',
    (w) => ({
      ...get(() => '/')(w),
      bytes: twice(
        `/api/accounts/${w.id('cash')}/entries`,
        'Consistency-Token',
        w.posted.consistencyToken,
      ),
    }),
    400,
    'invalid_consistency_token',
    'consistency',
  ],
  [
    ENTRIES,
    'an account that does not exist',
    get((w) => `/api/accounts/${w.id('nobody')}/entries`),
    404,
    'account_not_found',
    'accountId',
  ],
  [
    JOURNAL,
    'a journal that does not exist',
    get((w) => `/api/journal/${w.id('nothing')}`),
    404,
    'journal_not_found',
    'journalId',
  ],
  [
    JOURNAL,
    'the token of its posting in the query',
    (w) =>
      get((x) => `/api/journal/${x.posted.journalId}?consistency=${w.posted.consistencyToken}`)(w),
    200,
    null,
  ],
  ...(
    [
      ['no offset', 'p0'],
      ['a negative offset', 'p0.o-1'],
      ['an offset past 2^63-1', `p0.o${(1n << 63n).toString()}`],
      ['a partition of six digits', 'p100000.o1'],
      ['upper case', 'P0.O1'],
    ] as const
  ).map(([name, token]): Row => [
    JOURNAL,
    `a consistency token with ${name}`,
    get((w) => `/api/journal/${w.posted.journalId}`, { 'Consistency-Token': token }),
    400,
    'invalid_consistency_token',
    'consistency',
  ]),
  [DATA, 'since that is not a number', get(() => '/dashboard/data?since=yesterday'), 200, null],
  [DATA, 'since 1e400', get(() => '/dashboard/data?since=1e400'), 200, null],
  [DATA, 'since negative', get(() => '/dashboard/data?since=-1'), 200, null],
];

export const READ_CASES: HostileCase[] = ROWS.map(
  ([route, name, request, status, code, field]) => ({
    name: `${route}: ${name}`,
    route,
    request,
    status,
    code,
    field,
  }),
);
