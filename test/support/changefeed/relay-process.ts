/**
 * `node --import tsx test/support/changefeed/relay-process.ts`: the change relay as a process of
 * its own, for tests that kill it. The same service as changefeed/main.ts (`npm run relay`), on
 * the queue and topic its environment names, plus what a test's queue on the live exchange needs
 * and main.ts does not give: an expiry (RELAY_TEST_QUEUE_EXPIRES_MS, default 120 s), so a run
 * that dies before its clean-up leaves nothing bound to `ledger.cdc` for long. Logs as main.ts
 * does; its source logs `consuming` on every (re)connection.
 */
import { startRelayService } from '../../../changefeed/service';
import { loadConfig } from '../../../core/config';
import { createLogger } from '../../../core/logger';
import { exitOnSignals } from '../../../core/shutdown';

/** As main.ts: a stop that hangs must not keep the process forever (ms). */
const STOP_TIMEOUT_MS = 30_000;
const QUEUE_EXPIRES_MS_DEFAULT = 120_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL).child({ process: 'change-relay' });
  const queueExpiresMs = Number(
    process.env.RELAY_TEST_QUEUE_EXPIRES_MS ?? QUEUE_EXPIRES_MS_DEFAULT,
  );
  if (!Number.isInteger(queueExpiresMs) || queueExpiresMs <= 0) {
    throw new Error(`RELAY_TEST_QUEUE_EXPIRES_MS=${queueExpiresMs}: a positive integer (ms)`);
  }
  const service = await startRelayService({
    config,
    logger,
    defaultMetrics: false,
    queueExpiresMs,
  });
  exitOnSignals(logger, () => service.stop(), STOP_TIMEOUT_MS);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
