/**
 * The bridge process. SIGINT/SIGTERM stop it gracefully: the listener first, then the batcher and
 * the publisher drain, then the ledger and the pools close.
 */
import { startBridge } from './bridge';
import { loadConfig } from '../../core/config';
import { createLogger } from '../../core/logger';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const bridge = await startBridge(config, log);
  console.log(
    `Ledger Bridge API: ${bridge.url} (ledger: ${bridge.ledger.kind} at ${bridge.ledger.where})`,
  );
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      bridge.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
