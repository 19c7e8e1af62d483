/**
 * PostgreSQL connection pools: the primary through PgBouncer (transaction pooling) for ordinary
 * statements, and the primary directly for what needs a session (migrations, advisory locks).
 *
 * Through PgBouncer in transaction mode a server connection is lent for one transaction only, so
 * nothing here relies on session state, and statements are always unnamed (PgBouncer 1.18 breaks
 * named prepared statements): `Queryable` takes text and values only, never a statement name.
 * PgBouncer also refuses startup parameters it does not know, so the PgBouncer pool sends none
 * (no `options`, no `statement_timeout`); its statements are bounded on the client side.
 *
 * Every pool parses INT8 as bigint and NUMERIC as a decimal string, through its own `types`
 * (never the process-global parsers, which other code may change): money is never a float.
 */
import pg from 'pg';
import type { Logger } from '../logger';

/** What store code needs from a pool or a client: unnamed, parameterised statements. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/** PostgreSQL type oids whose default parsing we replace. */
const OID_INT8 = 20;
const OID_NUMERIC = 1700;
const OID_INT8_ARRAY = 1016;
const OID_NUMERIC_ARRAY = 1231;
const OID_TEXT_ARRAY = 1009;

/** Longest wait for a new connection before the query fails (ms). */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Longest a statement may run (ms): server side on the direct pool, client side on both. */
export const STATEMENT_TIMEOUT_MS = 30_000;
/** The client-side bound is a little longer, so the server's cleaner error usually wins. */
const QUERY_TIMEOUT_MARGIN_MS = 1_000;
/** A session left idle inside a transaction is ended by the server after this long (ms). */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
/** Idle connections are closed after this long (ms), so a quiet process holds few. */
export const IDLE_TIMEOUT_MS = 30_000;

type NestedArray<T> = (T | null | NestedArray<T>)[];

function mapNested<T>(values: NestedArray<string>, parse: (text: string) => T): NestedArray<T> {
  return values.map((value) =>
    value === null ? null : Array.isArray(value) ? mapNested(value, parse) : parse(value),
  );
}

/**
 * Type parsers for one pool: INT8 → bigint, NUMERIC → string (exact, may carry a fraction),
 * and their arrays likewise; every other type keeps pg's default text parser.
 */
export function ledgerTypes(): pg.CustomTypesConfig {
  const base = pg.types;
  const defaultTextParser = (oid: number) => base.getTypeParser(oid, 'text');
  // pg's own NUMERIC[] parser goes through parseFloat: split both arrays as text[], exactly.
  const textArray = defaultTextParser(OID_TEXT_ARRAY) as (text: string) => NestedArray<string>;
  const overrides: Record<number, (text: string) => unknown> = {
    [OID_INT8]: (text) => BigInt(text),
    [OID_NUMERIC]: (text) => text,
    [OID_INT8_ARRAY]: (text) => mapNested(textArray(text), BigInt),
    [OID_NUMERIC_ARRAY]: (text) => textArray(text),
  };
  const getTypeParser = (oid: number, format?: 'text' | 'binary') => {
    const override = overrides[oid];
    if (override !== undefined && format !== 'binary') return override;
    return format === 'binary' ? base.getTypeParser(oid, 'binary') : defaultTextParser(oid);
  };
  return { getTypeParser } as pg.CustomTypesConfig;
}

export interface PoolSettings {
  url: string;
  /** Most connections this pool opens. */
  max: number;
  /** Shown in pg_stat_activity (PgBouncer passes it through). */
  applicationName?: string;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  idleTimeoutMs?: number;
  logger?: Logger;
}

export interface DirectPoolSettings extends PoolSettings {
  /** Schemas to search, in order (tests use one schema each). Direct connections only. */
  searchPath?: string[];
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function searchPathOption(schemas: string[]): string {
  for (const schema of schemas) {
    if (!SCHEMA_NAME.test(schema)) throw new Error(`unsafe schema name in search_path: ${schema}`);
  }
  return `-c search_path=${schemas.join(',')}`;
}

function baseConfig(settings: PoolSettings): pg.PoolConfig {
  const statementTimeoutMs = settings.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
  return {
    connectionString: settings.url,
    max: settings.max,
    application_name: settings.applicationName ?? 'ledger-bridge',
    connectionTimeoutMillis: settings.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: settings.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    keepAlive: true,
    types: ledgerTypes(),
  };
}

/**
 * An idle client that loses its connection (server restart, PgBouncer reload) emits 'error' on
 * the pool; without a listener that would crash the process. The pool replaces the client.
 *
 * A checked-out client has no pool listener: one that loses its connection between two queries
 * (a transaction awaiting other work when PostgreSQL restarts) emitted an unhandled 'error' and
 * killed the projection worker in the chaos run. Every client gets a listener of its own for its
 * whole life; its holder meets the error on its next query and releases it as broken.
 */
function watch(pool: pg.Pool, kind: string, logger: Logger | undefined): pg.Pool {
  pool.on('error', (error) => {
    logger?.warn({ err: error, pool: kind }, 'idle PostgreSQL connection failed; pool replaces it');
  });
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      logger?.debug({ err: error, pool: kind }, 'PostgreSQL connection failed while in use');
    });
  });
  return pool;
}

/** The primary through PgBouncer (`DATABASE_URL`): no startup options, no session state. */
export function createPrimaryPool(settings: PoolSettings): pg.Pool {
  return watch(new pg.Pool(baseConfig(settings)), 'primary', settings.logger);
}

/** The primary directly (`DATABASE_DIRECT_URL`): sessions, advisory locks, server-side timeouts. */
export function createDirectPool(settings: DirectPoolSettings): pg.Pool {
  const config: pg.PoolConfig = {
    ...baseConfig(settings),
    statement_timeout: settings.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
  if (settings.searchPath !== undefined) config.options = searchPathOption(settings.searchPath);
  return watch(new pg.Pool(config), 'direct', settings.logger);
}

/** The two pools a bridge process uses, from its configuration. */
export interface Pools {
  primary: pg.Pool;
  direct: pg.Pool;
}

export interface PoolsConfig {
  DATABASE_URL: string;
  DATABASE_DIRECT_URL: string;
  DATABASE_POOL_MAX: number;
}

/** Migrations and locks need few sessions: the direct pool stays small. */
const DIRECT_POOL_MAX = 2;

export function createPools(config: PoolsConfig, logger?: Logger): Pools {
  return {
    primary: createPrimaryPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, logger }),
    direct: createDirectPool({ url: config.DATABASE_DIRECT_URL, max: DIRECT_POOL_MAX, logger }),
  };
}

export async function closePools(pools: Pools): Promise<void> {
  await Promise.all([pools.primary.end(), pools.direct.end()]);
}

/**
 * Runs `fn` inside one transaction on one client: COMMIT when it resolves, ROLLBACK when it
 * throws (and the error is rethrown). A client whose rollback fails, or whose connection broke,
 * is destroyed rather than returned to the pool. Safe through PgBouncer: the transaction is the
 * unit PgBouncer lends a server connection for.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
