/**
 * The baseline's storage: its own PostgreSQL schema with three tables (account with its balance
 * columns, journal, journal_entry), created at start if missing, or dropped and recreated when
 * asked (the benchmark resets it per run). Also the asset and account-type vocabulary, which the
 * bridge keeps in a registry table and the baseline keeps as constants (the same codes).
 */
import pg from 'pg';
import type { NormalSide } from '../../bridge/src/accounts/model';
import type { Logger } from '../../core/logger';
import { ledgerTypes } from '../../core/postgres/pool';

/** A schema name we can put in DDL and search_path without quoting. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Balances and amounts are bigint: faster than numeric(39,0), and 2^63-1 minor units is ample. */
export const I64_MAX = (1n << 63n) - 1n;

/** Longest a statement may run, server side (ms); lock waits on a hot account count. */
const STATEMENT_TIMEOUT_MS = 30_000;
/** A session left idle inside a transaction is ended by the server after this long (ms). */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
/** Longest wait for a new connection before a request fails with 503 (ms). */
const CONNECT_TIMEOUT_MS = 5_000;
/** The client-side bound sits a little above the server's, so the cleaner server error wins. */
const QUERY_TIMEOUT_MARGIN_MS = 1_000;

/** Minor-unit scale per asset code: the rows seeded by core/postgres/migrations/0001. */
export const ASSETS: ReadonlyMap<string, { scale: number }> = new Map([
  ['USD', { scale: 2 }],
  ['EUR', { scale: 2 }],
  ['JPY', { scale: 0 }],
  ['BTC', { scale: 8 }],
]);

/**
 * Account types (same migration): the side the balance grows on, and whether the balance on that
 * side may go below zero by default (the bridge's `liability` has debits_must_not_exceed_credits).
 */
export const ACCOUNT_TYPES: ReadonlyMap<
  string,
  { normalSide: NormalSide; mustNotGoNegative: boolean }
> = new Map([
  ['asset', { normalSide: 'DEBIT', mustNotGoNegative: false }],
  ['liability', { normalSide: 'CREDIT', mustNotGoNegative: true }],
  ['equity', { normalSide: 'CREDIT', mustNotGoNegative: false }],
  ['revenue', { normalSide: 'CREDIT', mustNotGoNegative: false }],
  ['expense', { normalSide: 'DEBIT', mustNotGoNegative: false }],
  ['house', { normalSide: 'CREDIT', mustNotGoNegative: false }],
  ['fee', { normalSide: 'CREDIT', mustNotGoNegative: false }],
  ['world', { normalSide: 'DEBIT', mustNotGoNegative: false }],
]);

// Unqualified names: every connection's search_path is the baseline's schema.
// fillfactor 80 on account leaves room on each page, so balance updates (no indexed column
// changes) stay HOT updates: no index writes per posting, and the hot row's page is not split.
const TABLES = `
CREATE TABLE IF NOT EXISTS account (
  account_id           text        PRIMARY KEY,
  name                 text        NOT NULL,
  holder_id            text        NOT NULL,
  account_type         text        NOT NULL,
  normal_side          text        NOT NULL CHECK (normal_side IN ('DEBIT', 'CREDIT')),
  asset                text        NOT NULL,
  must_not_go_negative boolean     NOT NULL,
  history              boolean     NOT NULL,
  metadata             jsonb       NOT NULL DEFAULT '{}',
  debits_posted        bigint      NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_posted       bigint      NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  version              bigint      NOT NULL DEFAULT 0,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 80);

CREATE TABLE IF NOT EXISTS journal (
  journal_id   text        PRIMARY KEY,
  -- SHA-256 of the bridge's canonical journal (journal.v1): same id, other content is a 409.
  content_hash bytea       NOT NULL,
  date         text        NOT NULL,
  description  text        NOT NULL,
  source       text        NOT NULL,
  posted_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS journal_entry (
  journal_id  text    NOT NULL REFERENCES journal (journal_id),
  line_number integer NOT NULL,
  account_id  text    NOT NULL REFERENCES account (account_id),
  side        text    NOT NULL CHECK (side IN ('DEBIT', 'CREDIT')),
  amount      bigint  NOT NULL CHECK (amount > 0),
  PRIMARY KEY (journal_id, line_number)
);

-- Statements read an account's entries; a conventional schema pays for this index on every write.
CREATE INDEX IF NOT EXISTS journal_entry_account_idx ON journal_entry (account_id);
`;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`unsafe schema name: ${schema}`);
  return schema;
}

/**
 * Connections straight to PostgreSQL (not PgBouncer: named prepared statements need a session),
 * with the schema alone on the search_path and synchronous_commit on, whatever the server's
 * default: every COMMIT waits for its WAL flush. INT8 parses as bigint, NUMERIC as a string.
 */
export function createBaselinePool(
  databaseUrl: string,
  schema: string,
  max: number,
  log: Logger,
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    application_name: 'ledger-baseline',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
    options: `-c search_path=${checkSchemaName(schema)} -c synchronous_commit=on`,
    types: ledgerTypes(),
  });
  // An idle client that loses its connection emits 'error' on the pool; the pool replaces it.
  pool.on('error', (error) => {
    log.warn({ err: error }, 'idle PostgreSQL connection failed; the pool replaces it');
  });
  return pool;
}

/** Creates the schema and its tables if missing; `reset` drops the schema first. */
export async function prepareSchema(pool: pg.Pool, schema: string, reset: boolean): Promise<void> {
  const name = checkSchemaName(schema);
  const client = await pool.connect();
  try {
    // One session at a time: concurrent starts would race on CREATE ... IF NOT EXISTS.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`ledger-baseline:${name}`]);
    try {
      if (reset) await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${name}`);
      await client.query(TABLES);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`ledger-baseline:${name}`]);
    }
  } finally {
    client.release();
  }
}
