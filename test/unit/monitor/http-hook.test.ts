// Proves the HTTP hook reports each answer once with its route pattern, status and latency, that
// a client hanging up before the answer counts as 499 rather than a server error, and that the
// express control plane's paths are labelled by pattern, never by raw path.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { controlPlaneRoute, observeResponse } from '../../../bridge/src/monitor/http-hook';

test('reports route, method, status and latency when the answer finishes; 499 on hang-up', async () => {
  const seen: Array<[string, string, number, number]> = [];
  const monitor = { observeHttp: (...args: [string, string, number, number]) => seen.push(args) };
  const server = http.createServer((req, res) => {
    observeResponse(monitor, res, '/api/balance/:accountId', req.method ?? 'GET');
    if (req.url === '/slow') return; // never answers: the client gives up
    setTimeout(() => res.writeHead(404).end('{}'), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const res = await fetch(`${base}/api/balance/acct-1`);
    await res.text();
    await expect(
      fetch(`${base}/slow`, { signal: AbortSignal.timeout(100) }).then((r) => r.text()),
    ).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toHaveLength(2);
    const [ok, gone] = seen;
    expect(ok!.slice(0, 3)).toEqual(['/api/balance/:accountId', 'GET', 404]);
    expect(ok![3]).toBeGreaterThanOrEqual(15);
    expect(gone![2]).toBe(499);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test.each([
  ['POST', '/api/accounts', '/api/accounts'],
  ['GET', '/api/accounts/acct-42', '/api/accounts/:accountId'],
  ['GET', '/api/accounts/', 'unmatched'],
  ['DELETE', '/api/accounts/acct-42', 'unmatched'],
  ['GET', '/wp-login.php', 'unmatched'],
])('controlPlaneRoute(%s %s) = %s', (method, path, label) => {
  expect(controlPlaneRoute(method, path)).toBe(label);
});
