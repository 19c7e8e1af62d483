/**
 * What the change relay's tests share: synthetic change events (encoded exactly as
 * `tigerbeetle amqp` would), run-unique RabbitMQ and Kafka names that are removed afterwards
 * (`useFeedRun`), publishing to an exchange the way TigerBeetle does, and reading a topic back
 * from its start.
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { Admin, IHeaders, Kafka } from 'kafkajs';
import {
  type ChangeAccount,
  changeAmqpProperties,
  type ChangeType,
  encodeChange,
  type LedgerChange,
} from '../../../events/change';
import pino from 'pino';
import { changeTopology, type ChangeTopology } from '../../../changefeed/topology';
import { createKafkaClient } from '../../../events/kafka';
import { stackSettings } from '../infra/settings';

const silent = pino({ level: 'silent' });

/** An account as of an event; balances are not what these tests look at. */
function account(id: bigint, timestamp: bigint): ChangeAccount {
  return {
    id,
    debitsPending: 0n,
    debitsPosted: 0n,
    creditsPending: 0n,
    creditsPosted: 0n,
    userData128: 0n,
    userData64: 0n,
    userData32: 0,
    code: 1,
    flags: 0,
    timestamp,
  };
}

/** A valid change event of `amount` from `debit` to `credit` at `timestamp` (ns). */
export function syntheticChange(
  timestamp: bigint,
  debit: bigint,
  credit: bigint,
  type: ChangeType = 'single_phase',
): LedgerChange {
  return {
    timestamp,
    type,
    ledger: 7,
    transfer: {
      id: timestamp,
      amount: 10n,
      pendingId: 0n,
      userData128: 0n,
      userData64: 0n,
      userData32: 0,
      timeout: 0,
      code: 1,
      flags: type === 'single_phase' ? 0 : 2,
      timestamp,
    },
    debitAccount: account(debit, timestamp - 1_000n),
    creditAccount: account(credit, timestamp - 999n),
  };
}

/**
 * `count` events over `accounts` accounts (ids from `base`), each between two neighbours in turn,
 * with strictly increasing timestamps from `t0`: every account sees many events, on both sides.
 */
export function syntheticFeed(count: number, accounts: number, base: bigint, t0: bigint) {
  return Array.from({ length: count }, (_, i) => {
    const debit = base + BigInt(i % accounts);
    const credit = base + BigInt((i + 1 + (i % 3)) % accounts);
    return syntheticChange(t0 + BigInt(i), debit, credit === debit ? debit + 1n : credit);
  });
}

/** A run-unique name under `test.cdc.` (RabbitMQ) or `test.changes.` (Kafka). */
export function runName(kind: 'cdc' | 'changes', what: string): string {
  return `test.${kind}.${what}.${process.pid}-${Date.now()}`;
}

export class AmqpHarness {
  private constructor(
    readonly connection: ChannelModel,
    readonly channel: Channel,
  ) {}

  static async open(): Promise<AmqpHarness> {
    const connection = await amqp
      .connect(stackSettings.amqpUrl, { timeout: 5_000 })
      .catch((error: unknown) => {
        throw new Error(`RabbitMQ at ${stackSettings.amqpUrl} is not answering: ${error}`);
      });
    const channel = await connection.createConfirmChannel();
    return new AmqpHarness(connection, channel);
  }

  /** Publishes as TigerBeetle does (its properties, persistent, mandatory), confirmed. */
  async publishChanges(exchange: string, changes: LedgerChange[]): Promise<void> {
    for (const change of changes) {
      this.channel.publish(exchange, '', encodeChange(change), {
        ...changeAmqpProperties(change),
        mandatory: true,
      });
    }
    await (this.channel as amqp.ConfirmChannel).waitForConfirms();
  }

  async publishRaw(exchange: string, body: Buffer): Promise<void> {
    this.channel.publish(exchange, '', body, { deliveryMode: 2, contentType: 'application/json' });
    await (this.channel as amqp.ConfirmChannel).waitForConfirms();
  }

  async queueDepth(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /** Deletes queues and exchanges, ignoring the ones that are gone. */
  /**
   * Unbinds a queue from an exchange before it is deleted: RabbitMQ 3.10 can crash the channel of a
   * publisher (the stack's CDC job) when a bound quorum queue is deleted under its publish.
   */
  async unbind(queue: string, exchange: string): Promise<void> {
    await this.channel.unbindQueue(queue, exchange, '').catch(() => undefined);
  }

  async remove(queues: string[], exchanges: string[]): Promise<void> {
    for (const queue of queues) await this.channel.deleteQueue(queue).catch(() => undefined);
    for (const exchange of exchanges) {
      await this.channel.deleteExchange(exchange).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: IHeaders;
}

/**
 * Reads `topic` from its beginning with a fresh consumer group until `done(records)` holds or
 * `timeoutMs` passes; returns what it read either way, in partition order.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  done: (records: ReadRecord[]) => boolean,
  timeoutMs: number,
): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  await waitForTopic(kafka, topic, timeoutMs);
  const consumer = kafka.consumer({ groupId: `${topic}.reader.${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const timer = setTimeout(finish, timeoutMs);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      records.push({
        partition,
        offset: message.offset,
        key: message.key?.toString('utf8') ?? null,
        value: message.value ?? Buffer.alloc(0),
        headers: message.headers ?? {},
      });
      if (done(records)) finish();
    },
  });
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return records;
}

/** Waits until `topic` exists: the relay creates its topics at its first send. */
async function waitForTopic(kafka: Kafka, topic: string, timeoutMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await admin.listTopics()).includes(topic)) {
      if (Date.now() > deadline) throw new Error(`topic ${topic} not created in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the topics among `topics` that exist. */
export async function deleteTopics(admin: Admin, topics: string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const ours = topics.filter((topic) => existing.has(topic));
  if (ours.length > 0) await admin.deleteTopics({ topics: ours });
}

/** One test file's change feed: its RabbitMQ names and Kafka topic, and clients to both. */
export interface FeedRun {
  exchange: string;
  queue: string;
  topic: string;
  topology: ChangeTopology;
  amqp: AmqpHarness;
  kafka: Kafka;
}

/**
 * Opens RabbitMQ and Kafka before the file's tests and removes what the run made after them:
 * its queues, its exchanges unless `exchange` names one the run does not own (the stack's), and
 * its topics. `beforeCleanup` runs first (stop the relays), so nothing is re-declared after.
 */
export function useFeedRun(
  what: string,
  options: { exchange?: string; beforeCleanup?: () => Promise<void> } = {},
): () => FeedRun {
  const exchange = options.exchange ?? runName('cdc', what);
  const queue = options.exchange === undefined ? `${exchange}.relay` : `${runName('cdc', what)}.q`;
  const topology = changeTopology({ exchange, queue });
  let run: FeedRun | null = null;
  let admin: Admin | null = null;
  beforeAll(async () => {
    const amqp = await AmqpHarness.open();
    const kafka = createKafkaClient(stackSettings.kafkaBrokers, `test-${what}`, silent);
    admin = kafka.admin();
    await admin.connect();
    run = { exchange, queue, topic: runName('changes', what), topology, amqp, kafka };
  }, 20_000);
  afterAll(async () => {
    await options.beforeCleanup?.();
    if (run === null || admin === null) return;
    const owned = options.exchange === undefined;
    await run.amqp.remove(
      [topology.queue, topology.deadLetterQueue],
      owned ? [topology.exchange, topology.deadLetterExchange] : [],
    );
    await run.amqp.close();
    await deleteTopics(admin, [run.topic, `${run.topic}.dlq`]);
    await admin.disconnect();
  }, 30_000);
  return () => {
    if (run === null) throw new Error('useFeedRun: used outside its tests');
    return run;
  };
}
