/**
 * RabbitMQ readiness check for infra/stack.sh: succeeds once the application's user opens an
 * AMQP connection and a channel on its vhost, which `rabbitmqctl await_startup` alone does not
 * prove (the vhost, the user or its permissions could be missing).
 *
 * Usage: tsx infra/rabbitmq/ready.ts AMQP_URL
 * Exit code 0 = ready, 1 = not ready, 2 = bad usage.
 */
import amqp from 'amqplib';

/** A refused or silent broker must not hold `stack.sh up` in one probe. */
const CONNECT_TIMEOUT_MS = 3_000;

async function main(): Promise<number> {
  const [url] = process.argv.slice(2);
  if (!url) {
    console.error('usage: ready.ts AMQP_URL');
    return 2;
  }
  const connection = await amqp.connect(url, { timeout: CONNECT_TIMEOUT_MS });
  try {
    const channel = await connection.createChannel();
    await channel.close();
    const server = connection.connection.serverProperties;
    console.log(`rabbitmq ready: ${server.product ?? '?'} ${server.version ?? '?'}`);
    return 0;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`rabbitmq not ready: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
