/**
 * `tsx changefeed/engine-main.ts`: the embedded engine's CDC job as a process of its own, as
 * `tigerbeetle amqp` is for a cluster: a client of the engine server (get_change_events over its
 * wire) that publishes every change event to RabbitMQ (changefeed/engine-feed.ts). The engine
 * server runs it beside itself and restarts it whenever it exits (ledger/engine/server-main.ts,
 * ENGINE_CHANGE_FEED), so `npm start` without a TigerBeetle cluster feeds the same exchange the
 * stack's `tigerbeetle amqp` feeds when there is one.
 *
 * Settings (env): ENGINE_ADDRESS (the engine server, host:port), ENGINE_SECRET (its handshake
 * secret) and ENGINE_ID (its identity, which names the feed's queues), all set by the server; AMQP_URL, AMQP_CDC_EXCHANGE and
 * LOG_LEVEL (core/config.ts). With ENGINE_FEED_WITH_PARENT=1 it also stops when its stdin closes:
 * the server that started it has gone, even by kill -9.
 *
 * Exit status: 0 after SIGTERM or SIGINT (the batch in flight is confirmed first); 1 on any AMQP
 * or engine trouble, as TigerBeetle's job does, for its supervisor to restart it.
 */
import amqp from 'amqplib';
import { loadConfig } from '../core/config';
import { createLogger, type Logger } from '../core/logger';
import { openEngineClient } from '../ledger/engine/client';
import { connectOptions } from './amqp-source';
import { startEngineFeed } from './engine-feed';

/** As the stack runs `tigerbeetle amqp` (infra/lib/tigerbeetle-cdc.sh): at most 50 ms between a
 * commit and its publication while idle; asking the engine costs a few µs, not a consensus op. */
const IDLE_INTERVAL_MS = 50;
/** TigerBeetle's --tigerbeetle-timeout-seconds default: an engine silent this long ends the job. */
const ENGINE_TIMEOUT_MS = 30_000;
/** A refused or silent broker must not hold the start (ms). */
const CONNECT_TIMEOUT_MS = 5_000;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} must be set`);
  return value;
}

async function main(logger: Logger): Promise<number> {
  const config = loadConfig(process.env);
  const engineId = required('ENGINE_ID');
  const source = await openEngineClient({
    address: required('ENGINE_ADDRESS'),
    secret: required('ENGINE_SECRET'),
    requestTimeoutMs: ENGINE_TIMEOUT_MS,
  });
  const connection = await amqp.connect(connectOptions(config.AMQP_URL), {
    timeout: CONNECT_TIMEOUT_MS,
  });
  connection.on('error', (error: unknown) => logger.warn({ err: error }, 'RabbitMQ connection'));
  try {
    const feed = await startEngineFeed({
      source,
      connection,
      engineId,
      exchange: config.AMQP_CDC_EXCHANGE,
      idleIntervalMs: IDLE_INTERVAL_MS,
      logger,
    });
    const stop = (reason: string): void => {
      logger.info({ reason }, 'engine change feed: stopping');
      void feed.stop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (process.env.ENGINE_FEED_WITH_PARENT === '1') {
      process.stdin.on('close', () => stop('the engine server is gone'));
      process.stdin.resume();
    }
    await feed.done;
    logger.info({ timestampLast: String(feed.timestampLast()) }, 'engine change feed: stopped');
    return 0;
  } finally {
    await connection.close().catch(() => undefined);
    await source.close();
  }
}

const logger = createLogger(process.env.LOG_LEVEL ?? 'info').child({ process: 'engine-feed' });
main(logger).then(
  (code) => process.exit(code),
  (error: unknown) => {
    logger.error({ err: error }, 'engine change feed failed');
    process.exit(1);
  },
);
