/**
 * `tsx changefeed/main.ts` (`npm run relay`): the change relay process, RabbitMQ's change queue →
 * Kafka's change topic (changefeed/README.md). It never exits on a broker failure: both are
 * retried with backoff. SIGTERM or SIGINT finishes the Kafka send in flight, acknowledges it, and
 * exits 0 (what it held and had not sent is redelivered to the next relay); a bad configuration
 * exits 1. SIGKILL at any moment loses nothing either.
 */
import { loadConfig } from '../core/config';
import { createLogger } from '../core/logger';
import { exitOnSignals } from '../core/shutdown';
import { startRelayService } from './service';

/** A stop that hangs (a broker gone mid-close) must not keep the process forever (ms). */
const STOP_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL).child({ process: 'change-relay' });
  const service = await startRelayService({ config, logger });
  exitOnSignals(logger, () => service.stop(), STOP_TIMEOUT_MS);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
