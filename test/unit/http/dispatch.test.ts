/**
 * Proves what the API's request listener answers before any route runs (bridge/src/http/
 * dispatch.ts), through the API's own listener (server.ts) on a few stub routes: 404 and 405 (with Allow) in
 * the JSON error shape, HEAD as GET without a body, absolute-form targets as their path, and the
 * edge's 400s for malformed percent-encoding and U+0000 in a parameter; and that every request is
 * reported to the monitor once, with its route pattern.
 */
import net from 'node:net';
import { connectionLimitsOf } from '../../../bridge/src/http/connection';
import { createHandler } from '../../../bridge/src/http/dispatch';
import { sendJson } from '../../../bridge/src/http/respond';
import { Router } from '../../../bridge/src/http/router';
import { type HttpServer, listen } from '../../../bridge/src/http/server';
import { loadConfig } from '../../../core/config';
import { createLogger } from '../../../core/logger';

let server: HttpServer;
let port: number;
const observed: Array<[string | null, string]> = [];

beforeAll(async () => {
  const router = new Router()
    .on('GET', '/things/:thingId', 'public', async ({ res, params }) =>
      sendJson(res, 200, { id: params[0] }),
    )
    .on('POST', '/things', 'public', async ({ res }) => sendJson(res, 201, {}))
    .on('DELETE', '/things/:thingId', 'public', async ({ res }) => sendJson(res, 200, {}));
  const handler = createHandler({
    router,
    log: createLogger('silent'),
    observe: (_res, pattern, method) => observed.push([pattern, method]),
  });
  // The API's own listener (bridge/src/http/server.ts), with the default limits.
  server = await listen(handler, '127.0.0.1', 0, connectionLimitsOf(loadConfig({})));
  port = Number(new URL(server.url).port);
});

afterAll(() => server.close());

/** Sends `head` as written and reads the whole answer (the connection closes after it). */
function raw(head: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const split = text.indexOf('\r\n\r\n');
      resolve({
        status: Number(text.slice(9, 12)),
        headers: text.slice(0, split).toLowerCase(),
        body: text.slice(split + 4),
      });
    });
  });
}

const request = (method: string, target: string) =>
  raw(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);

it.each([
  ['GET', '/things/a%20b', 200, null, '/things/:thingId'],
  ['GET', 'http://example.com/things/x', 200, null, '/things/:thingId'],
  ['GET', '/nothing', 404, 'route_not_found', null],
  ['GET', '/things', 405, 'method_not_allowed', null],
  ['PUT', '/things/x', 405, 'method_not_allowed', null],
  ['GET', '/things/%E0%A4%A', 400, 'invalid_path_encoding', null],
  ['GET', '/things/a%00b', 400, 'invalid_text', '/things/:thingId'],
  ['GET', '/things/x?q=%00', 400, 'invalid_text', null],
  ['GET', '*', 400, 'invalid_request_target', null],
])('%s %s answers %d %s', async (method, target, status, code, pattern) => {
  observed.length = 0;
  const answer = await request(method, target);
  expect(answer.status).toBe(status);
  expect(answer.headers).toContain('content-type: application/json');
  const body = JSON.parse(answer.body);
  if (code === null) expect(body).toEqual({ id: decodeURIComponent(target.split('/').pop()!) });
  else expect(body.error).toMatchObject({ code, field: expect.any(String) });
  expect(observed).toEqual([[pattern, method]]);
});

it('names the methods a path takes in Allow, HEAD with GET', async () => {
  const answer = await request('POST', '/things/x');
  expect(answer.headers).toMatch(/\r\nallow: get, delete, head\r\n/);
  expect(JSON.parse(answer.body).error).toMatchObject({
    code: 'method_not_allowed',
    field: 'method',
    allow: ['GET', 'DELETE', 'HEAD'],
  });
});

it.each([
  ['no Host', 'GET /things/x HTTP/1.1\r\nConnection: close\r\n\r\n'],
  ['two Hosts', 'GET /things/x HTTP/1.1\r\nHost: a\r\nhost: b\r\nConnection: close\r\n\r\n'],
])('refuses an HTTP/1.1 request with %s: 400 missing_host', async (_name, head) => {
  const answer = await raw(head);
  expect(answer.status).toBe(400);
  expect(JSON.parse(answer.body).error).toMatchObject({ code: 'missing_host', field: 'host' });
});

it('answers an Expect other than 100-continue with 417 expectation_failed', async () => {
  const answer = await raw(
    'POST /things HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\n' +
      'Connection: close\r\n\r\n',
  );
  expect(answer.status).toBe(417);
  expect(JSON.parse(answer.body).error).toMatchObject({
    code: 'expectation_failed',
    field: 'expect',
  });
});

it('serves an HTTP/1.0 request without Host', async () => {
  expect((await raw('GET /things/x HTTP/1.0\r\n\r\n')).status).toBe(200);
});

it('answers HEAD like GET, without the body', async () => {
  const get = await request('GET', '/things/x');
  const head = await request('HEAD', '/things/x');
  expect(head.status).toBe(200);
  expect(head.body).toBe('');
  expect(head.headers).toContain(`content-length: ${Buffer.byteLength(get.body)}`);
});
