/**
 * Disposable databases — the tests' (`*_test`) and the load runs' (`*_load`): the settings that
 * point a bridge at one, and emptying one (its `public` schema dropped and recreated, so the next
 * start migrates from nothing). Any other database is refused loudly: this must never reach the
 * service's data.
 */
import pg from 'pg';
import type { Config } from '../config';

const DISPOSABLE = /_(test|load)$/;

function assertDisposable(database: string): void {
  if (!DISPOSABLE.test(database)) {
    throw new Error(`refusing to empty database "${database}": not a *_test or *_load database`);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** The DATABASE_* settings of `config`, each pointed at the disposable `database`. */
export function disposableDatabaseEnv(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_DIRECT_URL' | 'DATABASE_REPLICA_URLS'>,
  database: string,
): { DATABASE_URL: string; DATABASE_DIRECT_URL: string; DATABASE_REPLICA_URLS: string } {
  assertDisposable(database);
  return {
    DATABASE_URL: withDatabase(config.DATABASE_URL, database),
    DATABASE_DIRECT_URL: withDatabase(config.DATABASE_DIRECT_URL, database),
    DATABASE_REPLICA_URLS: config.DATABASE_REPLICA_URLS.map((url) =>
      withDatabase(url, database),
    ).join(','),
  };
}

export async function resetDisposableDatabase(directUrl: string): Promise<void> {
  assertDisposable(decodeURIComponent(new URL(directUrl).pathname.slice(1)));
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
}
