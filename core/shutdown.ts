/**
 * How a long-running process of ours stops: the first SIGTERM or SIGINT runs `stop()`, and the
 * process exits 0 once it resolves, 1 when it rejects or outlasts `timeoutMs` (a broker gone in
 * the middle of a close must not keep the process forever).
 */
import type { Logger } from './logger';

export function exitOnSignals(logger: Logger, stop: () => Promise<void>, timeoutMs: number): void {
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.error({ timeoutMs }, 'stop timed out; exiting');
      process.exit(1);
    }, timeoutMs).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
