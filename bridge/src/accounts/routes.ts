/**
 * The control plane on express: POST /api/accounts (idempotent on accountId: 201 when created,
 * 200 when it already existed with the same content) and GET /api/accounts/:accountId (metadata
 * and balance). Not a hot path, so express's conveniences are worth their cost here. The API's
 * router matches these routes (ACCOUNT_ROUTES) and hands their requests to this app, and the body
 * is read by the HTTP room's reader, so one target, media-type and body policy holds for every
 * route (../http/body.ts).
 */
import express from 'express';
import type { AccountRecord } from './model';
import type { AccountService } from './service';
import type { Logger } from '../../../core/logger';
import { readJsonBody } from '../http/body';
import { edgeError } from '../http/edge-errors';
import { sendError, sendJson } from '../http/respond';
import type { BalanceReader } from '../balances/reader';

export const ACCOUNT_BODY_BYTES_MAX = 16 * 1024;

/** The routes this app serves, for the API's router (which hands their requests over). */
export const ACCOUNT_ROUTES = [
  { method: 'POST', pattern: '/api/accounts', access: { scope: 'accounts:write' } },
  { method: 'GET', pattern: '/api/accounts/:accountId', access: { scope: 'accounts:read' } },
] as const;

export function accountJson(account: AccountRecord): Record<string, unknown> {
  return {
    accountId: account.accountId,
    ledgerId: account.ledgerId.toString(),
    name: account.name,
    holderId: account.holderId,
    accountType: account.accountType,
    normalSide: account.normalSide,
    asset: account.asset,
    ledger: account.ledger,
    scale: account.scale,
    flags: account.flags,
    createdAt: account.createdAt.toISOString(),
    metadata: account.metadata,
  };
}

export function accountsApp(
  accounts: AccountService,
  balances: BalanceReader,
  log: Logger,
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  app.post('/api/accounts', async (req, res) => {
    const body = await readJsonBody(req, ACCOUNT_BODY_BYTES_MAX);
    const { account, created } = await accounts.createAccount(body);
    sendJson(res, created ? 201 : 200, accountJson(account));
  });

  app.get('/api/accounts/:accountId', async (req, res) => {
    const record = await accounts.requireAccount(req.params.accountId);
    const { view } = await balances.read(record.accountId);
    sendJson(res, 200, { ...accountJson(record), balance: view });
  });

  // Only reached when the app is used without the API's router in front.
  app.use((req, _res, next) => {
    next(edgeError('route_not_found', { field: 'path' }, `no route for ${req.method} ${req.path}`));
  });

  // express 5 forwards rejected promises from handlers here.
  app.use(
    (error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      sendError(res, error, log, { method: req.method, path: req.path });
    },
  );
  return app;
}
