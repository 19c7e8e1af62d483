/**
 * The PostgreSQL-only baseline of the journal API, served the way the bridge serves its hot
 * routes: node:http, the bridge's lean router, body reader, validation, error mapping and answer
 * writers, so a benchmark of the two measures their storage designs, not their HTTP stacks.
 * A benchmark fixture, not product code (load/baseline/README.md).
 *
 * Routes: POST /api/accounts, POST /api/journal, GET /api/accounts/:accountId/balance (and the
 * bridge's own path for it, GET /api/balance/:accountId), GET /health.
 */
import type http from 'node:http';
import type pg from 'pg';
import { ApiError } from '../../bridge/src/http/api-error';
import { readJsonBody } from '../../bridge/src/http/body';
import { sendError, sendJson } from '../../bridge/src/http/respond';
import { Router } from '../../bridge/src/http/router';
import { JOURNAL_BODY_BYTES_MAX } from '../../bridge/src/journal/routes';
import { connectionLimitsOf } from '../../bridge/src/http/connection';
import { listen } from '../../bridge/src/http/server';
import { loadConfig } from '../../core/config';
import { parseJournal } from '../../bridge/src/journal/schema';
import { createLogger, type Logger } from '../../core/logger';
import { createAccount, readBalance } from './accounts';
import { type JournalStats, postJournal } from './journal';
import { checkSchemaName, createBaselinePool, prepareSchema } from './schema';

/** The bridge's limit for POST /api/accounts (bridge/src/accounts/routes.ts). */
const ACCOUNT_BODY_BYTES_MAX = 16 * 1024;
/** Connections to PostgreSQL: as many as journals in flight at once. */
export const DEFAULT_POOL_SIZE = 16;
export const DEFAULT_SCHEMA = 'baseline';

export interface BaselineOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** PostgreSQL itself (not PgBouncer): the statements are named and prepared per session. */
  databaseUrl: string;
  poolSize?: number;
  schema?: string;
  /** Drop and recreate the schema at start (a fresh benchmark run). */
  reset?: boolean;
  host?: string;
  /** pino level; `silent` in tests. */
  logLevel?: string;
}

export interface RunningBaseline {
  url: string;
  /** Counters since start (a transaction retry means PostgreSQL aborted one: a deadlock). */
  stats(): Readonly<JournalStats>;
  /** Stops accepting connections, waits for requests in flight, closes the pool (once). */
  stop(): Promise<void>;
}

function routes(pool: pg.Pool, where: string, stats: JournalStats): Router {
  // The comparison ledger takes no API keys (every route public): the bridge's key check and
  // rate limit (~7 µs a request, `npm run bench:limiter`) are part of what a comparison measures.
  const router = new Router();
  router.on('GET', '/health', 'public', async ({ res }) => {
    const ledger = { kind: 'postgresql-baseline', at: where };
    sendJson(res, 200, { status: 'ok', ledger, stats });
  });
  router.on('POST', '/api/accounts', 'public', async ({ req, res }) => {
    const { account, created } = await createAccount(
      pool,
      await readJsonBody(req, ACCOUNT_BODY_BYTES_MAX),
    );
    sendJson(res, created ? 201 : 200, account);
  });
  router.on('POST', '/api/journal', 'public', async ({ req, res }) => {
    const journal = parseJournal(await readJsonBody(req, JOURNAL_BODY_BYTES_MAX));
    sendJson(res, 201, await postJournal(pool, journal, stats));
  });
  for (const pattern of ['/api/accounts/:accountId/balance', '/api/balance/:accountId']) {
    router.on('GET', pattern, 'public', async ({ res, params }) => {
      sendJson(res, 200, await readBalance(pool, params[0]!));
    });
  }
  return router;
}

function handler(router: Router, log: Logger): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const route = router.match(req.method ?? 'GET', path);
    const where = { method: req.method, path };
    if (route === null) {
      req.resume();
      sendError(
        res,
        new ApiError(404, 'route_not_found', `no route for ${req.method} ${path}`),
        log,
        where,
      );
      return;
    }
    route.handler({ req, res, params: route.params, path }).catch((error: unknown) => {
      sendError(res, error, log, where);
    });
  };
}

/** Where the data is, for /health and the log: host, port, database and schema, no password. */
function describe(databaseUrl: string, schema: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || '5432'}${url.pathname} schema ${schema}`;
}

export async function startBaseline(options: BaselineOptions): Promise<RunningBaseline> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new Error(`pool size ${poolSize}`);
  const log = createLogger(options.logLevel ?? 'info').child({ component: 'baseline' });
  const pool = createBaselinePool(options.databaseUrl, schema, poolSize, log);
  try {
    await prepareSchema(pool, schema, options.reset ?? false);
    const where = describe(options.databaseUrl, schema);
    const stats: JournalStats = { transactionRetries: 0 };
    const router = routes(pool, where, stats);
    // The bridge's connection limits, from the same settings: only the storage differs.
    const limits = connectionLimitsOf(loadConfig());
    const host = options.host ?? '127.0.0.1';
    const server = await listen(handler(router, log), host, options.port, limits);
    log.info({ url: server.url, where, poolSize }, 'baseline listening');
    let stopping: Promise<void> | null = null;
    const stop = async (): Promise<void> => {
      await server.close();
      await pool.end();
    };
    return { url: server.url, stats: () => ({ ...stats }), stop: () => (stopping ??= stop()) };
  } catch (error) {
    await pool.end();
    throw error;
  }
}
