/**
 * Proves the local stack's nginx (127.0.0.1:58080, infra/lib/nginx.sh) caps bodies where the API
 * does: a 9 MiB body is refused by nginx itself with a JSON 413 in the API's error shape, and a
 * body just under the API's 8 MiB bulk limit is let through (to the bridge, which judges it, or,
 * when no bridge runs, to nginx's JSON 502); and that nginx names no version in its Server
 * header. Whether a bridge runs behind it does not matter: nothing here is posted that parses.
 */
import { BULK_BODY_BYTES_MAX } from '../../../bridge/src/journal/routes';
import { stackSettings } from '../../support/infra/settings';

const MIB = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/** A body of `size` bytes that is not JSON: whoever reads it refuses it, nothing is written. */
function garbage(size: number): Uint8Array {
  return new Uint8Array(size).fill(0x20);
}

async function postBulk(body: Uint8Array) {
  const res = await fetch(`${stackSettings.lbUrl}/api/journals/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

it('refuses a 9 MiB body itself, with a JSON 413 and no version in Server', async () => {
  const res = await postBulk(garbage(9 * MIB));
  expect(res.status).toBe(413);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(JSON.parse(res.text)).toEqual({
    error: { code: 'payload_too_large', message: expect.any(String) },
  });
  expect(res.headers.get('server')).toBe('nginx');
});

it("lets a body under the API's bulk limit through to the bridge", async () => {
  const res = await postBulk(garbage(BULK_BODY_BYTES_MAX - 64 * 1024));
  expect(res.status).not.toBe(413);
  // The bridge's answer (401: no key; 400: a body that is not JSON), or nginx's when no bridge
  // runs: JSON either way, in the API's error shape.
  expect([400, 401, 502]).toContain(res.status);
  expect(JSON.parse(res.text)).toEqual({
    error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
  });
  expect(res.headers.get('server')).toBe('nginx');
});
