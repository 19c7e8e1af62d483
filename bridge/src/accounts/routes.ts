/**
 * The control plane on express: POST /api/accounts (idempotent on accountId: 201 when created,
 * 200 when it already existed with the same content) and GET /api/accounts/:accountId (metadata
 * and balance). Not a hot path, so express's conveniences are worth their cost here.
 */
import express from 'express';
import type { AccountRecord } from './model';
import type { AccountService } from './service';
import type { Logger } from '../../../core/logger';
import { ApiError } from '../http/api-error';
import { sendError, sendJson } from '../http/respond';
import type { BalanceReader } from '../balances/reader';

export const ACCOUNT_BODY_BYTES_MAX = 16 * 1024;

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
  app.use(express.json({ limit: ACCOUNT_BODY_BYTES_MAX, type: ['application/json', '+json'] }));

  app.post('/api/accounts', async (req, res) => {
    const { account, created } = await accounts.createAccount(req.body);
    sendJson(res, created ? 201 : 200, accountJson(account));
  });

  app.get('/api/accounts/:accountId', async (req, res) => {
    const record = await accounts.requireAccount(req.params.accountId);
    const { view } = await balances.read(record.accountId);
    sendJson(res, 200, { ...accountJson(record), balance: view });
  });

  app.use((req, _res, next) => {
    next(new ApiError(404, 'route_not_found', `no route for ${req.method} ${req.path}`));
  });

  // express 5 forwards rejected promises from handlers here.
  app.use(
    (error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      sendError(res, bodyParserError(error) ?? error, log, { method: req.method, path: req.path });
    },
  );
  return app;
}

/** express.json()'s failures, in the API's words. */
function bodyParserError(error: unknown): ApiError | null {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') {
    return new ApiError(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (type === 'entity.too.large') {
    return new ApiError(
      413,
      'payload_too_large',
      `the body exceeds ${ACCOUNT_BODY_BYTES_MAX} bytes`,
    );
  }
  return null;
}
