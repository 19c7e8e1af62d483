/**
 * The control plane on express: POST /api/accounts (idempotent on accountId: 201 when created,
 * 200 when it already existed with the same content), GET /api/accounts/:accountId (metadata
 * and balance), and the registry: GET /api/assets and /api/account-types (sorted by code), and
 * their admin POSTs (idempotent by content, as accounts are). Not a hot path, so express's
 * conveniences are worth their cost here. The API's router matches these routes (ACCOUNT_ROUTES)
 * and hands their requests to this app, and the body is read by the HTTP room's reader, so one
 * target, media-type and body policy holds for every route (../http/body.ts).
 */
import express from 'express';
import type { AccountRecord } from './model';
import type { AccountService } from './service';
import { accountTypeJson, assetJson } from './registry-admin';
import type { Logger } from '../../../core/logger';
import { readJsonBody } from '../http/body';
import { requireTouch, type TenantFacts } from '../access/caller';
import { edgeError } from '../http/edge-errors';
import { sendError, sendJson } from '../http/respond';
import type { BalanceReader } from '../balances/reader';

export const ACCOUNT_BODY_BYTES_MAX = 16 * 1024;
/**
 * The largest valid asset or account type, its 200-character name or description written as
 * \\u escapes throughout, is under 3 KiB; the control plane's one bound serves it as well.
 */
export const REGISTRY_BODY_BYTES_MAX = ACCOUNT_BODY_BYTES_MAX;

/** The routes this app serves, for the API's router (which hands their requests over). */
export const ACCOUNT_ROUTES = [
  { method: 'POST', pattern: '/api/accounts', access: { scope: 'accounts:write' } },
  { method: 'GET', pattern: '/api/accounts/:accountId', access: { scope: 'accounts:read' } },
  { method: 'GET', pattern: '/api/assets', access: { scope: 'accounts:read' } },
  { method: 'POST', pattern: '/api/assets', access: { scope: 'registry:write' } },
  { method: 'GET', pattern: '/api/account-types', access: { scope: 'accounts:read' } },
  { method: 'POST', pattern: '/api/account-types', access: { scope: 'registry:write' } },
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
    flags: { ...account.flags, closed: account.closed },
    createdAt: account.createdAt.toISOString(),
    metadata: account.metadata,
  };
}

/** What a new account's body says of its tenant (before validation: strings or nothing). */
function tenantFactsOf(body: unknown): TenantFacts {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : '(none)');
  return { asset: text(fields.asset), holderId: text(fields.holderId) };
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
    requireTouch(req, tenantFactsOf(body), { asset: 'asset', holderId: 'holderId' });
    const { account, created } = await accounts.createAccount(body);
    sendJson(res, created ? 201 : 200, accountJson(account));
  });

  app.get('/api/accounts/:accountId', async (req, res) => {
    const record = await accounts.requireAccount(req.params.accountId);
    requireTouch(req, record, 'accountId');
    const { view } = await balances.read(record.accountId);
    sendJson(res, 200, { ...accountJson(record), balance: view });
  });

  registryRoutes(app, accounts);

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

/** The registry's reads and admin writes. */
function registryRoutes(app: express.Express, accounts: AccountService): void {
  // Looked up per request, as the account routes use `accounts`: the app can be built without one.
  const admin = () => accounts.registryAdmin;
  app.get('/api/assets', async (_req, res) => {
    sendJson(res, 200, { assets: (await admin().listAssets()).map(assetJson) });
  });
  app.get('/api/account-types', async (_req, res) => {
    const types = await admin().listAccountTypes();
    sendJson(res, 200, { accountTypes: types.map(accountTypeJson) });
  });
  app.post('/api/assets', async (req, res) => {
    const body = await readJsonBody(req, REGISTRY_BODY_BYTES_MAX);
    const { record, created } = await admin().createAsset(body);
    sendJson(res, created ? 201 : 200, assetJson(record));
  });
  app.post('/api/account-types', async (req, res) => {
    const body = await readJsonBody(req, REGISTRY_BODY_BYTES_MAX);
    const { record, created } = await admin().createAccountType(body);
    sendJson(res, created ? 201 : 200, accountTypeJson(record));
  });
}
