/**
 * Declares the change feed's RabbitMQ topology (changefeed/topology.ts) and exits: run by
 * `infra/stack.sh up` before it starts `tigerbeetle amqp`, whose exchange must pre-exist, and by
 * the production compose file as a one-shot service the CDC job waits for.
 *
 * Usage: tsx changefeed/declare.ts   (AMQP_URL, AMQP_CDC_EXCHANGE, AMQP_CDC_QUEUE from the env)
 * Exit code 0 = declared, 1 = failed (the reason on stderr).
 */
import amqp from 'amqplib';
import { loadConfig } from '../core/config';
import { changeTopology, declareTopology } from './topology';

/** A silent broker must not hold the stack's start-up. */
const CONNECT_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const topology = changeTopology({
    exchange: config.AMQP_CDC_EXCHANGE,
    queue: config.AMQP_CDC_QUEUE,
  });
  const connection = await amqp.connect(config.AMQP_URL, { timeout: CONNECT_TIMEOUT_MS });
  try {
    const channel = await connection.createChannel();
    const declared = await declareTopology(channel, topology);
    await channel.close();
    console.log(
      `change feed topology: exchange ${topology.exchange} -> queue ${topology.queue} ` +
        `(${declared.queueMessages} ready, ${declared.queueConsumers} consumers); ` +
        `dead letters ${topology.deadLetterExchange} -> ${topology.deadLetterQueue} ` +
        `(${declared.deadLetterMessages})`,
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`declaring the change feed topology failed: ${String(error)}`);
    process.exit(1);
  },
);
