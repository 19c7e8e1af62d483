/**
 * Kafka readiness check for infra/stack.sh: succeeds once the broker answers a Metadata and a
 * DescribeCluster request, lists itself, and grants an idempotent producer its producer id,
 * which a bare open port does not prove.
 *
 * Usage: tsx infra/kafka/ready.ts HOST:PORT[,HOST:PORT...] [TIMEOUT_MS]
 * TIMEOUT_MS = 0 tries once. Exit code 0 = ready, 1 = not ready in time, 2 = bad usage.
 */
import { Kafka, logLevel } from 'kafkajs';

const POLL_INTERVAL_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 5_000;

async function probeOnce(brokers: string[]): Promise<string> {
  const kafka = new Kafka({
    clientId: 'ledger-bridge-stack-ready',
    brokers,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // kafkajs requires retries for an idempotent producer; the outer loop does the waiting.
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
  });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const advertised = cluster.brokers.map((broker) => `${broker.host}:${broker.port}`);
    const missing = brokers.filter((broker) => !advertised.includes(broker));
    if (missing.length > 0) {
      throw new Error(`brokers ${missing.join(',')} not in metadata (${advertised.join(',')})`);
    }
    await admin.listTopics();
    // An idempotent producer's InitProducerId fails with "coordinator is loading" until the
    // broker holds a block of producer ids from the controller: wait for that too, so that the
    // application's first acks=all producer does not meet it.
    await producer.connect();
    return `cluster ${cluster.clusterId}, brokers ${advertised.join(',')}, controller ${cluster.controller}`;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const [brokerList, timeoutArg = '0'] = process.argv.slice(2);
  const timeoutMs = Number(timeoutArg);
  if (!brokerList || !Number.isInteger(timeoutMs) || timeoutMs < 0) {
    console.error('usage: ready.ts HOST:PORT[,HOST:PORT...] [TIMEOUT_MS]');
    return 2;
  }
  const brokers = brokerList.split(',');
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      console.log(`kafka ready: ${await probeOnce(brokers)} (attempt ${attempt})`);
      return 0;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (Date.now() + POLL_INTERVAL_MS > deadline) {
        console.error(`kafka not ready after ${attempt} attempt(s): ${message}`);
        return 1;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
