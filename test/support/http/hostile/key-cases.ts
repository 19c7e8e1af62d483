/**
 * Hostile API keys: missing, empty, other schemes, malformed, truncated, padded, oversized,
 * unknown, the right id with a wrong secret, a repeated header (Node keeps the first), and a
 * large body sent without a key (refused before it is read). Every answer is a 401 naming
 * `authorization`, except the forms RFC 7235 allows (the scheme in any case).
 */
import type { RawRequest } from '../raw-client';
import type { HostileCase, World } from './world';

const BALANCE = 'GET /api/balance/:accountId';
const JOURNAL = 'POST /api/journal';

const balance =
  (authorization?: string) =>
  (w: World): RawRequest => ({
    method: 'GET',
    target: `/api/balance/${w.id('cash')}`,
    headers: authorization === undefined ? undefined : { Authorization: authorization },
  });

const missing = { status: 401, code: 'key_missing', field: 'authorization' } as const;
const invalid = { status: 401, code: 'key_invalid', field: 'authorization' } as const;

function row(
  name: string,
  request: (w: World) => RawRequest,
  answer: { status: number; code: string | null; field?: string },
  anonymous = false,
): HostileCase {
  return { name: `keys: ${name}`, route: BALANCE, request, ...answer, anonymous };
}

const FAKE_SECRET = 'A'.repeat(43);

export const KEY_CASES: HostileCase[] = [
  row('no Authorization header', balance(), missing, true),
  row(
    'the scheme in lower case (RFC 7235: case-insensitive)',
    (w) => balance(`bearer ${w.key}`)(w),
    {
      status: 200,
      code: null,
    },
  ),
  row(
    'the right id with a wrong secret',
    (w) => balance(`Bearer ${w.key.slice(0, 21)}${FAKE_SECRET}`)(w),
    invalid,
  ),
  row(
    'the right key with a space inside',
    (w) => balance(`Bearer ${w.key.slice(0, 30)} ${w.key.slice(30)}`)(w),
    invalid,
  ),
  row('an empty Authorization header', balance(''), missing),
  row('only spaces', balance('   '), missing),
  row('Bearer without a key', balance('Bearer'), invalid),
  row('Bearer and a space', balance('Bearer '), invalid),
  row('the Basic scheme', balance('Basic dXNlcjpwYXNzd29yZA=='), invalid),
  row('a token that is not a key', balance('Bearer eyJhbGciOiJub25lIn0.e30.'), invalid),
  row('an unknown key id', balance(`Bearer lbk_0000000000000000_${FAKE_SECRET}`), invalid),
  row(
    'upper-case letters in the id',
    balance(`Bearer lbk_ABCDEFGHIJKLMNOP_${FAKE_SECRET}`),
    invalid,
  ),
  row(
    'a secret one character short',
    balance(`Bearer lbk_0000000000000000_${'A'.repeat(42)}`),
    invalid,
  ),
  row('two keys in one header', balance(`Bearer lbk_0000000000000000_${FAKE_SECRET} x`), invalid),
  row('a 12 KiB key', balance(`Bearer lbk_${'a'.repeat(12 * 1024)}`), invalid),
  row(
    'a key with a trailing comma',
    balance(`Bearer lbk_0000000000000000_${FAKE_SECRET},`),
    invalid,
  ),
  row(
    'the header twice, a bad one first (Node keeps the first)',
    () => ({
      method: 'GET',
      target: '/api/balance/x',
      bytes:
        'GET /api/balance/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' +
        'Authorization: Bearer nope\r\nAuthorization: Bearer nope-again\r\n\r\n',
    }),
    invalid,
  ),
  {
    name: 'keys: a 1 MiB journal without a key is refused unread',
    route: JOURNAL,
    anonymous: true,
    request: () => ({
      method: 'POST',
      target: '/api/journal',
      headers: { 'Content-Type': 'application/json' },
      body: `{"description":"${'x'.repeat(1024 * 1024)}"}`,
    }),
    ...missing,
  },
];
