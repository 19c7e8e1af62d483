/**
 * A Kafka round trip for infra/containers/smoke-images.sh: creates a topic, produces one message
 * (acks=all, idempotent, as the relays write) and consumes it back from the beginning, with the
 * application's own client (kafkajs). The broker is a throwaway; the topic is left on it.
 *
 * Usage: tsx infra/kafka/roundtrip.ts HOST:PORT TOPIC [TIMEOUT_MS]
 * Prints the message read back; exit code 0 = it matched, 1 = it did not in time, 2 = bad usage.
 */
import { Kafka, logLevel } from 'kafkajs';

async function roundTrip(broker: string, topic: string, timeoutMs: number): Promise<string> {
  const kafka = new Kafka({
    clientId: 'ledger-bridge-smoke',
    brokers: [broker],
    // Retriable errors (a coordinator still loading) are retried; a failure is thrown.
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  const sent = `written at ${new Date().toISOString()}`;
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'smoke', value: sent }] });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nothing read within ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(message.value?.toString() ?? '');
          },
        })
        .catch(reject);
    });
    if (received !== sent) throw new Error(`read '${received}', wrote '${sent}'`);
    return received;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const [broker, topic, timeoutArg = '60000'] = process.argv.slice(2);
  const timeoutMs = Number(timeoutArg);
  if (!broker || !topic || !Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    console.error('usage: roundtrip.ts HOST:PORT TOPIC [TIMEOUT_MS]');
    return 2;
  }
  try {
    console.log(`kafka: ${topic}: read back '${await roundTrip(broker, topic, timeoutMs)}'`);
    return 0;
  } catch (error) {
    console.error(`kafka: round trip on ${broker} failed: ${(error as Error).message}`);
    return 1;
  }
}

main().then((code) => process.exit(code));
