/**
 * `tsx projections/src/main.ts`: the projection worker process. SIGTERM or SIGINT finishes the
 * batch in progress, leaves the consumer group and exits 0; a failure to start exits 1.
 * `PROJECTIONS_WORKERS=N` (N > 1) makes it the parent of N such workers (./workers.ts).
 */
import { exitOnSignals } from '../../core/shutdown';
import os from 'node:os';
import { type Config, loadConfig } from '../../core/config';
import { createLogger, type Logger } from '../../core/logger';
import { migrateUp } from '../../core/postgres/migrate';
import { createDirectPool } from '../../core/postgres/pool';
import { loadProjectionsConfig } from './config';
import { startWorker } from './worker';
import { startWorkerFleet, WORKER_INDEX_ENV } from './workers';

/** A stop that hangs (a broker gone mid-leave) must not keep the process forever (ms). */
const STOP_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL).child({ process: 'projections' });
  const projectionsConfig = loadProjectionsConfig();
  if (projectionsConfig.PROJECTIONS_NICENESS !== 0) {
    // On a host shared with the API, the projections (asynchronous by design) yield the CPU.
    os.setPriority(projectionsConfig.PROJECTIONS_NICENESS);
  }
  if (projectionsConfig.PROJECTIONS_WORKERS > 1) {
    // Migrations once, here; then N workers, each this script with PROJECTIONS_WORKERS=1.
    if (projectionsConfig.PROJECTIONS_MIGRATE) {
      await migrateOnce(config, projectionsConfig.PROJECTIONS_DATABASE_SCHEMA, logger);
    }
    const fleet = startWorkerFleet(__filename, projectionsConfig, logger);
    exitOnSignals(logger, () => fleet.stop(), STOP_TIMEOUT_MS);
    return;
  }
  const worker = await startWorker({ config, projectionsConfig, logger });
  logger.info({ index: process.env[WORKER_INDEX_ENV] ?? '0' }, 'projection worker running');
  exitOnSignals(logger, () => worker.stop(), STOP_TIMEOUT_MS);
}

async function migrateOnce(
  config: Config,
  schema: string | undefined,
  logger: Logger,
): Promise<void> {
  const searchPath = schema === undefined ? {} : { searchPath: [schema] };
  const pool = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1, logger, ...searchPath });
  try {
    await migrateUp(pool, { logger });
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
