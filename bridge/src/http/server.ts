/**
 * The HTTP listener: hot routes (journals, balances, transfer batches, health) on the lean router,
 * everything else (the account control plane) on express.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccountService } from '../accounts/service';
import type { JournalService } from '../journal/service';
import type { ReadRouteDeps } from '../journals/consistency';
import type { BalanceReader } from '../balances/reader';
import { cachedBalanceRoutes } from '../balances/route';
import { journalReadRoutes } from '../journals/routes';
import { statementRoutes } from '../statements/routes';
import type { Ledger } from '../ledger/port';
import type { Logger } from '../logger';
import { sendError, sendJson } from './respond';
import { Router } from './router';
import { controlPlaneRoute, observeResponse } from '../monitor/http-hook';
import type { Monitor } from '../monitor/monitor';
import { monitorRoutes } from '../monitor/routes';
import { accountsApp } from './routes/accounts';
import { journalRoutes } from './routes/journal';
import { transferRoutes } from './routes/transfers';

export interface ApiDeps {
  journals: JournalService;
  accounts: AccountService;
  ledger: Ledger;
  balances: BalanceReader;
  /** Reads of the projections (journals, statements) and their consistency tokens. */
  reads: ReadRouteDeps;
  /** For /health: which ledger, and where. */
  ledgerInfo: { kind: string; at: string };
  /**
   * For /ready: rejects with the first dependency that does not answer; resolves with the ones
   * that work degraded (the service still answers).
   */
  ready: () => Promise<string[]>;
  log: Logger;
  monitor?: Monitor;
}

export interface HttpServer {
  url: string;
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
}

/** While stopping, how often connections that went idle are closed. */
const IDLE_SWEEP_MS = 20;

export function createHandler(deps: ApiDeps): http.RequestListener {
  const router = new Router();
  router.on('GET', '/health', async ({ res }) => {
    sendJson(res, 200, { status: 'ok', ledger: deps.ledgerInfo });
  });
  router.on('GET', '/ready', async ({ res }) => {
    const degraded = await deps.ready();
    sendJson(
      res,
      200,
      degraded.length === 0 ? { status: 'ready' } : { status: 'degraded', degraded },
    );
  });
  journalRoutes(router, deps.journals, deps.log);
  cachedBalanceRoutes(router, deps.balances);
  transferRoutes(router, deps.ledger, deps.balances);
  journalReadRoutes(router, deps.reads);
  statementRoutes(router, { ...deps.reads, accounts: deps.accounts });
  if (deps.monitor !== undefined) monitorRoutes(router, deps.monitor);
  const fallback = accountsApp(deps.accounts, deps.balances, deps.log);

  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    const route = router.match(method, path);
    if (deps.monitor !== undefined) {
      observeResponse(deps.monitor, res, route?.pattern ?? controlPlaneRoute(method, path), method);
    }
    if (route === null) {
      fallback(req, res);
      return;
    }
    route.handler({ req, res, params: route.params, path }).catch((error: unknown) => {
      sendError(res, error, deps.log, { method: req.method, path });
    });
  };
}

export function listen(
  handler: http.RequestListener,
  host: string,
  port: number,
): Promise<HttpServer> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            // Keep-alive connections become idle as their last answers go out; close them as they
            // do, or server.close() would wait for the clients to hang up.
            const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
            server.close((error) => {
              clearInterval(sweep);
              if (error) fail(error);
              else done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
