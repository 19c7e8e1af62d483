/**
 * Empties a disposable database — the tests' (`*_test`) or the load runs' (`*_load`) — by dropping
 * and recreating its `public` schema, so the next start migrates from nothing. Any other database
 * is refused loudly: this must never reach the service's data.
 */
import pg from 'pg';

const DISPOSABLE = /_(test|load)$/;

export async function resetDisposableDatabase(directUrl: string): Promise<void> {
  const database = decodeURIComponent(new URL(directUrl).pathname.slice(1));
  if (!DISPOSABLE.test(database)) {
    throw new Error(`refusing to empty database "${database}": not a *_test or *_load database`);
  }
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
}
