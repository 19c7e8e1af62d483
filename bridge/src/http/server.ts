/**
 * The HTTP listener. Health routes for now: `/health` says the process is up and which ledger it
 * uses; `/ready` proves the ledger answers a request within its timeout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpenedLedger } from '../ledger/open';
import type { Logger } from '../logger';

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

interface Deps {
  ledger: OpenedLedger;
  log: Logger;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

async function ready(deps: Deps, res: http.ServerResponse): Promise<void> {
  try {
    // Any id will do: the point is a round trip through the ledger.
    await deps.ledger.ledger.lookupAccounts([1n]);
    sendJson(res, 200, { status: 'ready', ledger: deps.ledger.kind });
  } catch (error) {
    deps.log.warn({ err: error }, 'readiness check failed');
    sendJson(res, 503, {
      error: { code: 'ledger_unavailable', message: (error as Error).message },
    });
  }
}

function route(deps: Deps, req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method === 'GET' && path === '/health') {
    sendJson(res, 200, { status: 'ok', ledger: { kind: deps.ledger.kind, at: deps.ledger.where } });
    return;
  }
  if (req.method === 'GET' && path === '/ready') {
    void ready(deps, res);
    return;
  }
  sendJson(res, 404, {
    error: { code: 'route_not_found', message: `no route for ${req.method} ${path}` },
  });
}

export function listen(deps: Deps, host: string, port: number): Promise<HttpServer> {
  const server = http.createServer((req, res) => route(deps, req, res));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            server.closeIdleConnections();
          }),
      });
    });
  });
}
