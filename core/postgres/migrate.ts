/**
 * The migration runner: applies `store/migrations/` in order, records each in
 * `schema_migrations(version, name, checksum, applied_at)`, and reverts them with their down
 * scripts. It needs a session, so it takes the DIRECT pool (never PgBouncer's).
 *
 * - Each migration runs in its own transaction together with its `schema_migrations` row, so a
 *   crash leaves it either fully applied and recorded or not at all.
 * - Everything happens under a session advisory lock keyed by the current schema: two processes
 *   starting at once serialise, and the second finds nothing left to do.
 * - Before changing anything, every applied migration is checked against its file: a changed up
 *   script, a deleted file, or a new file numbered below an applied one stops the run.
 * - Applied versions newer than every file (a newer release already migrated this database) are
 *   left alone, so an older process can still start during a rolling deploy.
 */
import type pg from 'pg';
import type { Queryable } from './pool';
import type { Logger } from '../logger';
import {
  loadMigrations,
  MigrationError,
  MIGRATIONS_DIR,
  type MigrationFile,
} from './migration-files';

export { MigrationError, type MigrationErrorCode } from './migration-files';

/** First key of the two-key advisory lock: constant for "schema migrations" in this project. */
export const MIGRATION_LOCK_CLASS = 0x4c42_4d31; // "LBM1"
/** How long a second process waits for the first one's migrations (ms). */
export const LOCK_WAIT_MS = 120_000;
/** A migration statement may rewrite a table: bounded, but far above an ordinary statement (ms). */
export const MIGRATION_STATEMENT_TIMEOUT_MS = 600_000;

export interface MigrateOptions {
  /** Directory of the SQL files (tests point it at a copy). */
  dir?: string;
  lockWaitMs?: number;
  statementTimeoutMs?: number;
  logger?: Logger;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
}

export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing_file' | 'future';

export interface MigrationStatus {
  version: number;
  name: string;
  state: MigrationState;
  appliedAt: Date | null;
}

/** The migration session: every statement bounded by the migration timeouts, not the pool's. */
type Session = Queryable;

/** The client-side bound sits a little above the server's, so the server's error usually wins. */
const CLIENT_TIMEOUT_MARGIN_MS = 5_000;

const CREATE_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY CHECK (version > 0),
    name       text        NOT NULL,
    checksum   text        NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

async function currentSchema(session: Session): Promise<string> {
  const { rows } = await session.query<{ schema: string | null }>(
    'SELECT current_schema() AS schema',
  );
  const schema = rows[0]?.schema ?? null;
  if (schema === null) {
    throw new MigrationError('no_schema', 'no schema of search_path exists to migrate into');
  }
  return schema;
}

async function lock(client: Session, schema: string, waitMs: number): Promise<void> {
  await client.query(`SET lock_timeout = ${waitMs}`);
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new MigrationError('lock_timeout', `another migrator held the lock over ${waitMs} ms`);
    }
    throw error;
  }
  await client.query('RESET lock_timeout');
}

async function unlock(client: Session, schema: string): Promise<void> {
  try {
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [
      MIGRATION_LOCK_CLASS,
      schema,
    ]);
  } catch {
    // The session is closed next, which releases the lock anyway.
  }
}

/**
 * Runs `fn` on a dedicated direct session holding the migration lock. The session is destroyed
 * afterwards rather than pooled, so its settings and lock never leak to another user.
 */
async function underLock<T>(
  pool: pg.Pool,
  options: MigrateOptions,
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  const timeoutMs = Math.floor(options.statementTimeoutMs ?? MIGRATION_STATEMENT_TIMEOUT_MS);
  const waitMs = Math.max(1, Math.floor(options.lockWaitMs ?? LOCK_WAIT_MS));
  // pg honours a per-query `query_timeout` (missing from @types/pg) over the pool's, which is
  // sized for short statements: here a statement may wait for the lock or rewrite a table.
  const session: Session = {
    query: (text, values) =>
      client.query({
        text,
        values,
        query_timeout: Math.max(timeoutMs, waitMs) + CLIENT_TIMEOUT_MARGIN_MS,
      } as pg.QueryConfig),
  };
  try {
    const schema = await currentSchema(session);
    await session.query(`SET statement_timeout = ${timeoutMs}`);
    await lock(session, schema, waitMs);
    try {
      await session.query(CREATE_TABLE);
      return await fn(session);
    } finally {
      await unlock(session, schema);
    }
  } finally {
    client.release(true);
  }
}

async function readApplied(db: Queryable): Promise<AppliedMigration[]> {
  const { rows } = await db.query<{
    version: number;
    name: string;
    checksum: string;
    applied_at: Date;
  }>('SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version');
  return rows.map((row) => ({
    version: row.version,
    name: row.name,
    checksum: row.checksum,
    appliedAt: row.applied_at,
  }));
}

function label(migration: { version: number; name: string }): string {
  return `${String(migration.version).padStart(4, '0')}_${migration.name}`;
}

/** Throws unless every applied migration still matches its file and nothing is out of order. */
function verify(files: MigrationFile[], applied: AppliedMigration[]): void {
  const byVersion = new Map(files.map((file) => [file.version, file]));
  const lastFile = files.at(-1)?.version ?? 0;
  for (const row of applied) {
    const file = byVersion.get(row.version);
    if (file === undefined) {
      if (row.version > lastFile) continue; // a newer release's migration
      throw new MigrationError('missing_file', `${label(row)} is applied but its file is gone`);
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationError(
        'checksum_mismatch',
        `${label(file)}.up.sql changed after it was applied (checksum ${row.checksum} in ` +
          `schema_migrations, ${file.checksum} on disk); add a new migration instead`,
      );
    }
  }
  const appliedVersions = new Set(applied.map((row) => row.version));
  const lastApplied = applied.at(-1)?.version ?? 0;
  for (const file of files) {
    if (!appliedVersions.has(file.version) && file.version < lastApplied) {
      throw new MigrationError(
        'out_of_order',
        `${label(file)} is pending but ${lastApplied} is already applied; renumber it`,
      );
    }
  }
}

async function inTransaction(client: Session, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await fn();
    await client.query('COMMIT');
  } catch (error) {
    // A failed ROLLBACK means a broken session, which is destroyed next: the first error counts.
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Applies every pending migration, in order. Returns the ones applied by this call. */
export async function migrateUp(
  direct: pg.Pool,
  options: MigrateOptions = {},
): Promise<AppliedMigration[]> {
  const files = loadMigrations(options.dir ?? MIGRATIONS_DIR);
  return underLock(direct, options, async (session) => {
    const applied = await readApplied(session);
    verify(files, applied);
    const done = new Set(applied.map((row) => row.version));
    const result: AppliedMigration[] = [];
    for (const file of files.filter((candidate) => !done.has(candidate.version))) {
      const startedMs = Date.now();
      let appliedAt = new Date();
      await inTransaction(session, async () => {
        await session.query(file.up);
        const { rows } = await session.query<{ applied_at: Date }>(
          'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3) ' +
            'RETURNING applied_at',
          [file.version, file.name, file.checksum],
        );
        appliedAt = rows[0]!.applied_at;
      });
      options.logger?.info({ migration: label(file), ms: Date.now() - startedMs }, 'migrated up');
      result.push({ version: file.version, name: file.name, checksum: file.checksum, appliedAt });
    }
    return result;
  });
}

/** Reverts the last `steps` applied migrations, newest first. Returns the ones reverted. */
export async function migrateDown(
  direct: pg.Pool,
  steps: number,
  options: MigrateOptions = {},
): Promise<AppliedMigration[]> {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  }
  const files = loadMigrations(options.dir ?? MIGRATIONS_DIR);
  const byVersion = new Map(files.map((file) => [file.version, file]));
  return underLock(direct, options, async (session) => {
    const applied = await readApplied(session);
    verify(files, applied);
    const reverted: AppliedMigration[] = [];
    for (const row of applied.reverse().slice(0, steps)) {
      const file = byVersion.get(row.version);
      if (file === undefined) {
        throw new MigrationError('missing_file', `${label(row)}: no down script in this release`);
      }
      await inTransaction(session, async () => {
        await session.query(file.down);
        await session.query('DELETE FROM schema_migrations WHERE version = $1', [row.version]);
      });
      options.logger?.info({ migration: label(row) }, 'migrated down');
      reverted.push(row);
    }
    return reverted;
  });
}

/** Every known migration (files and applied rows) with its state; changes nothing. */
export async function migrationStatus(
  direct: pg.Pool,
  options: Pick<MigrateOptions, 'dir'> = {},
): Promise<MigrationStatus[]> {
  const files = loadMigrations(options.dir ?? MIGRATIONS_DIR);
  const { rows } = await direct.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  const applied = rows[0]?.exists === true ? await readApplied(direct) : [];
  const appliedByVersion = new Map(applied.map((row) => [row.version, row]));
  const lastFile = files.at(-1)?.version ?? 0;
  const statuses: MigrationStatus[] = files.map((file) => {
    const row = appliedByVersion.get(file.version);
    const state: MigrationState =
      row === undefined ? 'pending' : row.checksum === file.checksum ? 'applied' : 'changed';
    return { version: file.version, name: file.name, state, appliedAt: row?.appliedAt ?? null };
  });
  const fileVersions = new Set(files.map((file) => file.version));
  for (const row of applied.filter((candidate) => !fileVersions.has(candidate.version))) {
    const state: MigrationState = row.version > lastFile ? 'future' : 'missing_file';
    statuses.push({ version: row.version, name: row.name, state, appliedAt: row.appliedAt });
  }
  return statuses.sort((a, b) => a.version - b.version);
}
