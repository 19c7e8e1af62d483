/**
 * The API one bridge serves: every feature's routes on one router and one listener. The account
 * control plane's routes hand their requests on to its express app; every other route is served
 * by the router directly. The only file that knows every feature room; the HTTP room (./http)
 * knows none.
 */
import type http from 'node:http';
import type { AccountService } from './accounts/service';
import type { BalanceReader } from './balances/reader';
import { cachedBalanceRoutes } from './balances/routes';
import { sendJson } from './http/respond';
import { Router } from './http/router';
import { createHandler } from './http/dispatch';
import { ACCOUNT_ROUTES, accountsApp } from './accounts/routes';
import { journalRoutes } from './journal/routes';
import { transferRoutes } from './transfers/routes';
import type { RawTransferService } from './transfers/service';
import type { JournalService } from './journal/service';
import type { ReadRouteDeps } from './journal/consistency';
import { journalReadRoutes } from './journal/read-routes';
import type { Ledger } from '../../ledger/port';
import type { Logger } from '../../core/logger';
import { controlPlaneRoute, observeResponse } from './monitor/http-hook';
import type { Monitor } from './monitor/monitor';
import { monitorRoutes } from './monitor/routes';
import { statementRoutes } from './statements/routes';
import { contractRoutes } from './contract/routes';
import type { AccessCheck } from './access/authorize';
import { isScope } from './access/scopes';
import { assert } from '../../core/assert';

export interface ApiDeps {
  journals: JournalService;
  accounts: AccountService;
  ledger: Ledger;
  /** Raw transfers, through the batcher beside journals. */
  transfers: RawTransferService;
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
  /** The API-key check every route with a scope runs behind (./access). */
  authorize: AccessCheck;
  log: Logger;
  monitor?: Monitor;
}

export function createApi(deps: ApiDeps): http.RequestListener {
  const monitor = deps.monitor;
  const router = apiRouter(deps);
  // A route naming a scope no key can hold would refuse everyone: refused at start instead.
  for (const { method, pattern, access } of router.routes()) {
    assert(access === 'public' || isScope(access.scope), `${method} ${pattern}: unknown scope`);
  }
  return createHandler({
    router,
    authorize: deps.authorize,
    log: deps.log,
    observe:
      monitor === undefined
        ? undefined
        : (res, pattern, method, path) =>
            observeResponse(monitor, res, pattern ?? controlPlaneRoute(method, path), method),
  });
}

/** Every route of the API. */
export function apiRouter(deps: ApiDeps): Router {
  const router = new Router();
  router.on('GET', '/health', 'public', async ({ res }) => {
    sendJson(res, 200, { status: 'ok', ledger: deps.ledgerInfo });
  });
  router.on('GET', '/ready', 'public', async ({ res }) => {
    const degraded = await deps.ready();
    sendJson(
      res,
      200,
      degraded.length === 0 ? { status: 'ready' } : { status: 'degraded', degraded },
    );
  });
  journalRoutes(router, deps.journals, deps.accounts, deps.log);
  cachedBalanceRoutes(router, deps.balances, deps.accounts);
  transferRoutes(router, deps.transfers, deps.accounts);
  journalReadRoutes(router, deps.reads, deps.accounts);
  statementRoutes(router, { ...deps.reads, accounts: deps.accounts });
  if (deps.monitor !== undefined) monitorRoutes(router, deps.monitor);
  contractRoutes(router);
  const controlPlane = accountsApp(deps.accounts, deps.balances, deps.log);
  for (const { method, pattern, access } of ACCOUNT_ROUTES) {
    router.on(method, pattern, access, async ({ req, res }) => controlPlane(req, res));
  }
  return router;
}
