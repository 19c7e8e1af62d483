/**
 * `tsx core/postgres/migrate-cli.ts up | down [n] | status` against DATABASE_DIRECT_URL.
 * Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 bad usage.
 */
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { migrateDown, MigrationError, migrateUp, migrationStatus } from './migrate';
import { createDirectPool } from './pool';

const USAGE = 'usage: migrate-cli.ts up | down [n] | status';

type Command = { kind: 'up' } | { kind: 'down'; steps: number } | { kind: 'status' };

function parseArgs(args: string[]): Command | null {
  const [kind, count, ...rest] = args;
  if (rest.length > 0) return null;
  if ((kind === 'up' || kind === 'status') && count === undefined) return { kind };
  if (kind !== 'down') return null;
  if (count === undefined) return { kind, steps: 1 };
  return /^[1-9]\d{0,5}$/.test(count) ? { kind, steps: Number(count) } : null;
}

function pad(version: number): string {
  return String(version).padStart(4, '0');
}

async function run(command: Command): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const pool = createDirectPool({
    url: config.DATABASE_DIRECT_URL,
    max: 1,
    applicationName: 'ledger-bridge-migrate',
    logger,
  });
  try {
    if (command.kind === 'up') {
      const applied = await migrateUp(pool, { logger });
      console.log(applied.length === 0 ? 'up to date' : `applied ${applied.length} migration(s)`);
      for (const row of applied) console.log(`  up    ${pad(row.version)}_${row.name}`);
    } else if (command.kind === 'down') {
      const reverted = await migrateDown(pool, command.steps, { logger });
      console.log(`reverted ${reverted.length} migration(s)`);
      for (const row of reverted) console.log(`  down  ${pad(row.version)}_${row.name}`);
    } else {
      for (const row of await migrationStatus(pool)) {
        const when = row.appliedAt === null ? '' : row.appliedAt.toISOString();
        console.log(`${pad(row.version)}_${row.name.padEnd(32)} ${row.state.padEnd(12)} ${when}`);
      }
    }
  } finally {
    await pool.end();
  }
}

/** `ledger-bridge migrate …`: the arguments after `migrate`; resolves with the exit status. */
export async function runMigrate(argv: string[]): Promise<number> {
  const command = parseArgs(argv);
  if (command === null) {
    console.error(USAGE);
    return 2;
  }
  try {
    await run(command);
    return 0;
  } catch (error) {
    if (error instanceof MigrationError) {
      console.error(`migrations refused (${error.code}): ${error.message}`);
      return 1;
    }
    console.error(error);
    return 1;
  }
}

if (require.main === module) {
  void runMigrate(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
