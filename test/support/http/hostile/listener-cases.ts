/**
 * Hostile bytes no route sees: request lines and headers Node's parser refuses (answered in the
 * API's JSON shape by the listener), request targets in forms other than a path, and an old
 * protocol version.
 */
import type { HostileCase } from './world';

const LISTENER = 'listener';

type Row = [string, string, number, string | null];

const badRequest = [400, 'bad_request'] as const;

const ROWS: Row[] = [
  [
    'a byte above 0x7f in the path',
    'GET /api/balance/caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n',
    ...badRequest,
  ],
  ['a space in the path', 'GET /api/balance/a b HTTP/1.1\r\nHost: x\r\n\r\n', ...badRequest],
  [
    'U+0000 in a header value',
    'GET /health HTTP/1.1\r\nHost: x\r\nX-Trace: a\x00b\r\n\r\n',
    ...badRequest,
  ],
  [
    'a header name with a space',
    'GET /health HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n',
    ...badRequest,
  ],
  ['a method Node does not know', 'BREW /health HTTP/1.1\r\nHost: x\r\n\r\n', ...badRequest],
  ['a lower-case method', 'get /health HTTP/1.1\r\nHost: x\r\n\r\n', ...badRequest],
  ['HTTP/1.2 on the first line', 'GET /health HTTP/1.2\r\nHost: x\r\n\r\n', ...badRequest],
  [
    'Content-Length and Transfer-Encoding both',
    'POST /api/journal HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ...badRequest,
  ],
  [
    'a negative Content-Length',
    'POST /api/journal HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    ...badRequest,
  ],
  [
    'two different Content-Lengths',
    'POST /api/journal HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}',
    ...badRequest,
  ],
  [
    'a chunk size that is not hex',
    'POST /api/journal HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ...badRequest,
  ],
  [
    'a folded header line',
    'GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n',
    ...badRequest,
  ],
  [
    'headers of 200 KB',
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(200_000)}\r\n\r\n`,
    431,
    'headers_too_large',
  ],
  ['the asterisk target', 'GET * HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid_request_target'],
  [
    'an absolute-form target with another scheme',
    'GET ftp://h/health HTTP/1.1\r\nHost: x\r\n\r\n',
    400,
    'invalid_request_target',
  ],
  [
    'an absolute-form https target with a port',
    'GET https://bridge.example:8443/health HTTP/1.1\r\nHost: x\r\n\r\n',
    200,
    null,
  ],
  ['a fragment in the target', 'GET /health#top HTTP/1.1\r\nHost: x\r\n\r\n', 200, null],
  ['HTTP/1.0 without Host', 'GET /health HTTP/1.0\r\n\r\n', 200, null],
  ['HTTP/1.1 without Host', 'GET /health HTTP/1.1\r\n\r\n', 400, 'missing_host'],
  ['two Host headers', 'GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'missing_host'],
  [
    'an expectation the server cannot meet',
    'POST /api/journal HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}',
    417,
    'expectation_failed',
  ],
  ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid_request_target'],
];

/**
 * Requests Node reads to their end get `Connection: close` after their first line, so the
 * connection ends with the answer (HTTP/1.0 closes by default).
 */
function closing(bytes: string): string {
  if (bytes.includes(' HTTP/1.0\r\n')) return bytes;
  const eol = bytes.indexOf('\r\n');
  return `${bytes.slice(0, eol)}\r\nConnection: close${bytes.slice(eol)}`;
}

export const LISTENER_CASES: HostileCase[] = ROWS.map(([name, bytes, status, code]) => ({
  name: `${LISTENER}: ${name}`,
  route: LISTENER,
  request: () => ({ method: 'GET', target: '/', bytes: closing(bytes) }),
  status,
  code,
}));
