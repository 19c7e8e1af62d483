/**
 * `tsx projections/src/main.ts`: the projection worker process. SIGTERM or SIGINT finishes the
 * batch in progress, leaves the consumer group and exits 0; a failure to start exits 1.
 */
import { exitOnSignals } from '../../core/shutdown';
import os from 'node:os';
import { loadConfig } from '../../core/config';
import { createLogger } from '../../core/logger';
import { loadProjectionsConfig } from './config';
import { startWorker } from './worker';

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
  const worker = await startWorker({ config, projectionsConfig, logger });
  logger.info('projection worker running');
  exitOnSignals(logger, () => worker.stop(), STOP_TIMEOUT_MS);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
