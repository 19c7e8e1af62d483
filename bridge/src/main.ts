/**
 * The bridge process: configuration, the ledger (TigerBeetle or the embedded engine), the HTTP
 * API. SIGINT/SIGTERM close the listener first, then the ledger, so nothing in flight is cut.
 */
import { loadConfig } from './config';
import { listen } from './http/server';
import { openLedger } from './ledger/open';
import { createLogger } from './logger';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const ledger = await openLedger(config);
  log.info({ ledger: ledger.kind, at: ledger.where }, 'ledger open');
  const server = await listen({ ledger, log }, config.HOST, config.PORT);
  log.info({ url: server.url }, 'listening');
  console.log(`Ledger Bridge API: ${server.url} (ledger: ${ledger.kind} at ${ledger.where})`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await server.close();
    await ledger.ledger.close();
    log.info('stopped');
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop(signal).then(
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
