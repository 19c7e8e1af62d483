/**
 * `tsx load/baseline/main.ts`: the PostgreSQL-only baseline of the journal API, for benchmarks
 * against the bridge (load/baseline/README.md). Prints `baseline listening on <url>` once it
 * listens; SIGTERM or SIGINT close the server (requests in flight finish) and the pool.
 *
 * Env: BASELINE_PORT (3300), BASELINE_DATABASE_URL (the local stack's PostgreSQL, directly, not
 * PgBouncer: postgres://ledger:ledger@127.0.0.1:55432/ledger_load), BASELINE_POOL_SIZE (16
 * connections), BASELINE_SCHEMA (baseline), BASELINE_RESET (1: drop and recreate the schema at
 * start), LOG_LEVEL (info).
 */
import { DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, startBaseline } from './server';

const DEFAULT_PORT = 3300;
const DEFAULT_DATABASE_URL = 'postgres://ledger:ledger@127.0.0.1:55432/ledger_load';

function integer(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${text}: must be an integer from ${min} to ${max}`);
  }
  return value;
}

function flag(name: string): boolean {
  const text = process.env[name] ?? '0';
  if (text !== '0' && text !== '1') throw new Error(`${name}=${text}: must be 0 or 1`);
  return text === '1';
}

async function main(): Promise<void> {
  const baseline = await startBaseline({
    port: integer('BASELINE_PORT', DEFAULT_PORT, 0, 65_535),
    databaseUrl: process.env.BASELINE_DATABASE_URL || DEFAULT_DATABASE_URL,
    poolSize: integer('BASELINE_POOL_SIZE', DEFAULT_POOL_SIZE, 1, 1_000),
    schema: process.env.BASELINE_SCHEMA || DEFAULT_SCHEMA,
    reset: flag('BASELINE_RESET'),
    logLevel: process.env.LOG_LEVEL || 'info',
  });
  console.log(`baseline listening on ${baseline.url}`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      baseline.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('baseline: stop failed', error);
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  console.error('baseline: failed to start', error);
  process.exit(1);
});
