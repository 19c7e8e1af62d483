/**
 * The Kafka side of the outcome publisher: a kafkajs client logging through pino, the topic made
 * sure of at start, and an idempotent acks=all producer that is replaced after any failed send.
 *
 * Why replace it: kafkajs rolls a partition's sequence number back when a produce request fails,
 * and reuses it for the next batch. If the failed request had in fact reached the log (a timeout
 * after the broker wrote it), the next batch of the same size carries the same sequence range and
 * the broker acknowledges it as a duplicate without writing it: an acknowledged event lost. A new
 * producer gets a new producer id from the broker, whose sequences start afresh.
 *
 * Retries are bounded on purpose (kafkajs warns that this weakens idempotence across failures;
 * the replacement above is the answer): a dead broker must fail a publish in seconds, so the HTTP
 * layer can answer 503 + Retry-After, rather than hold requests for minutes.
 */
import {
  type Admin,
  CompressionTypes,
  ConfigResourceTypes,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type RecordMetadata,
  type RetryOptions,
} from 'kafkajs';
import type { Logger } from '../core/logger';
import { EventPublishError } from './errors';
import type { EventPosition, KafkaTuning, OutcomeSink, PublisherOptions } from './sink';

export type { KafkaTuning };
import type { OutcomeRecordFormat } from './envelope';
import { loadRdkafka, RdkafkaOutcomeSink, type RdkafkaModule } from './rdkafka';
import { OutcomePartitioner, planSend, positionsOf } from './records';
import type { OutcomeMessage } from './schema';

export const KAFKA_TUNING_DEFAULT: KafkaTuning = {
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 5_000,
  ackTimeoutMs: 5_000,
  // 100 + 200 + 400 + 800 ms of backoff (±20%): a refused connection fails a send in ~2 s.
  retries: 4,
  retryInitialMs: 100,
  retryMaxMs: 1_000,
  logLevel: 'warn',
  topicMessageBytesMax: 8 * 1024 * 1024,
  topicRetentionMs: -1,
};

export function retryOf(tuning: KafkaTuning): RetryOptions {
  return {
    retries: tuning.retries,
    initialRetryTime: tuning.retryInitialMs,
    maxRetryTime: tuning.retryMaxMs,
    factor: 0.2,
    multiplier: 2,
  };
}

const KAFKAJS_LEVEL: Record<KafkaTuning['logLevel'], logLevel> = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** Logged once per producer; this module limits retries deliberately (see the header). */
const EXPECTED_WARNING = 'Limiting retries for the idempotent producer';

function pinoLogCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const context = { kafkajs: namespace, ...extra };
      if (level === logLevel.ERROR) logger.error(context, message);
      else if (level === logLevel.WARN && !message.startsWith(EXPECTED_WARNING)) {
        logger.warn(context, message);
      } else if (level === logLevel.INFO) logger.info(context, message);
      else logger.debug(context, message);
    };
}

export function createKafkaClient(
  brokers: string[],
  clientId: string,
  logger: Logger,
  tuning: KafkaTuning = KAFKA_TUNING_DEFAULT,
): Kafka {
  return new Kafka({
    brokers,
    clientId,
    connectionTimeout: tuning.connectionTimeoutMs,
    requestTimeout: tuning.requestTimeoutMs,
    retry: retryOf(tuning),
    logLevel: KAFKAJS_LEVEL[tuning.logLevel],
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
  });
}

export interface TopicInfo {
  created: boolean;
  partitions: number;
  /** The topic's `max.message.bytes`: no record batch (one send's share of a partition) above. */
  messageBytesMax: number;
}

/** How often a starter asks again while a topic another starter creates gets its leaders. */
const TOPIC_LEADER_POLL_MS = 100;
/** Longest a starter waits for a new topic's leaders: a loaded 3-broker cluster takes seconds. */
const TOPIC_LEADER_WAIT_MS = 30_000;

/**
 * The topic's partition count and `max.message.bytes`, once every partition has a leader. A topic
 * just created (by this starter or a racing one) is listed before every broker hosts it, and
 * metadata or config requests then answer UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE
 * (both retriable) for a moment: wait that out, bounded, rather than fail the start.
 */
async function describeTopic(
  admin: Admin,
  topic: string,
  waitMs: number,
): Promise<{ partitions: number; messageBytesMax: number; led: boolean }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = metadata.topics[0]?.partitions ?? [];
      const led = partitions.length > 0 && partitions.every((p) => p.leader >= 0);
      if (led || Date.now() >= deadline) {
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] },
          ],
        });
        const entry = described.resources[0]?.configEntries.find(
          (config) => config.configName === 'max.message.bytes',
        );
        return { partitions: partitions.length, messageBytesMax: Number(entry?.configValue), led };
      }
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, TOPIC_LEADER_POLL_MS));
  }
}

/**
 * Creates the topic when missing, and reports what the topic is. Idempotent and safe when several
 * bridges start at once (kafkajs answers `false` to an "already exists"). An existing topic is
 * never altered: a different partition count is logged, not fixed, because repartitioning moves
 * keys and so breaks per-journal order.
 */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  replicationFactor: number,
  options: { logger?: Logger; tuning?: KafkaTuning } = {},
): Promise<TopicInfo> {
  const tuning = options.tuning ?? KAFKA_TUNING_DEFAULT;
  let created = false;
  if (!(await admin.listTopics()).includes(topic)) {
    created = await admin.createTopics({
      // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker answers until the
      // controller's metadata reaches it: describeTopic below waits for the leaders instead.
      waitForLeaders: false,
      timeout: tuning.requestTimeoutMs,
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor,
          configEntries: [
            // With one replica acks=all means the leader; from 3 replicas on, two must have it.
            { name: 'min.insync.replicas', value: String(Math.max(1, replicationFactor - 1)) },
            { name: 'max.message.bytes', value: String(tuning.topicMessageBytesMax) },
            { name: 'retention.ms', value: String(tuning.topicRetentionMs) },
            { name: 'cleanup.policy', value: 'delete' },
          ],
        },
      ],
    });
  }
  const {
    partitions: actual,
    messageBytesMax,
    led,
  } = await describeTopic(admin, topic, Math.max(tuning.requestTimeoutMs, TOPIC_LEADER_WAIT_MS));
  if (!(led && Number.isSafeInteger(messageBytesMax) && messageBytesMax > 0)) {
    throw new Error(
      `topic ${topic}: unreadable metadata (${actual} partitions, ${led ? 'led' : 'some without a leader'}, max.message.bytes ${messageBytesMax})`,
    );
  }
  if (actual !== partitions) {
    options.logger?.warn(
      { topic, partitions: actual, configured: partitions },
      'topic exists with another partition count; left as it is',
    );
  }
  if (created) options.logger?.info({ topic, partitions, replicationFactor }, 'topic created');
  return { created, partitions: actual, messageBytesMax };
}

const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

/** Longest a failed producer's disconnect may take before it is abandoned. */
const PRODUCER_DISCONNECT_MS = 2_000;

/**
 * A connected idempotent producer as every writer of ours uses it: one request in flight per
 * broker (kafkajs's idempotence is only sound so), no topic auto-creation, Java's partitioner
 * (murmur2 of the key: any Kafka client puts a key on the same partition), bounded retries. A
 * failed connect leaves nothing open.
 */
export async function connectIdempotentProducer(
  kafka: Kafka,
  tuning: KafkaTuning,
): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: retryOf(tuning),
  });
  try {
    await producer.connect();
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  return producer;
}

/** Disconnects a producer given up on, waiting at most PRODUCER_DISCONNECT_MS. */
export async function abandonProducer(producer: Producer): Promise<void> {
  await Promise.race([
    producer.disconnect().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, PRODUCER_DISCONNECT_MS).unref()),
  ]);
}

/** One idempotent acks=all producer, replaced after a failed send (see the header). */
export class KafkaOutcomeSink implements OutcomeSink {
  private producer: Producer | null = null;
  private healthy = false;
  /** Producers created so far: 1 after open(), one more after each failed send. */
  generation = 0;
  private partitioner: OutcomePartitioner | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly compression: CompressionTypes,
    private readonly tuning: KafkaTuning,
    private readonly logger: Logger,
    private readonly format: OutcomeRecordFormat = 'batch',
  ) {}

  /** `partitions`: the topic's partition count (keys hash over all of them, as Java's do). */
  async open(partitions: number): Promise<void> {
    this.partitioner = new OutcomePartitioner(this.topic, partitions);
    await this.renew();
  }

  async send(messages: OutcomeMessage[]): Promise<EventPosition[]> {
    if (!this.healthy) await this.renew();
    // Partitions are chosen here, so each record's offset is known from its partition's base
    // offset: kafkajs keeps a send's records in order within a partition.
    const plan = planSend(messages, this.partitioner!, this.format);
    let metadata: RecordMetadata[];
    try {
      metadata = await this.producer!.send({
        topic: this.topic,
        acks: -1,
        timeout: this.tuning.ackTimeoutMs,
        compression: this.compression,
        messages: plan.records.map((record) => ({ ...record })),
      });
    } catch (error) {
      this.healthy = false;
      throw error;
    }
    const next = new Map<number, bigint>();
    for (const record of metadata) {
      if (record.baseOffset === undefined) throw new Error('Kafka answered without a base offset');
      next.set(record.partition, BigInt(record.baseOffset));
    }
    const offsets = plan.records.map(({ partition }) => {
      const offset = next.get(partition);
      if (offset === undefined) throw new Error(`no acknowledgement for partition ${partition}`);
      next.set(partition, offset + 1n);
      return offset.toString();
    });
    return positionsOf(plan, offsets);
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    this.healthy = false;
    await producer?.disconnect();
  }

  private async renew(): Promise<void> {
    const old = this.producer;
    this.producer = null;
    if (old !== null) {
      this.logger.info('replacing the Kafka producer after a failed send');
      await abandonProducer(old);
    }
    this.generation += 1;
    this.producer = await connectIdempotentProducer(this.kafka, this.tuning);
    this.healthy = true;
  }
}

/**
 * The librdkafka package when the options want it and it loads (`auto`: logged and null when it
 * does not); null for kafkajs. Throws when librdkafka was asked for by name and cannot load.
 */
function chooseRdkafka(options: PublisherOptions, logger: Logger): RdkafkaModule | null {
  const choice = options.producer ?? 'auto';
  if (choice === 'kafkajs') return null;
  const loaded = loadRdkafka();
  if ('module' in loaded) return loaded.module;
  if (choice === 'librdkafka') throw new Error(loaded.reason);
  logger.warn({ reason: loaded.reason }, 'librdkafka unavailable: publishing with kafkajs');
  return null;
}

/** The sink for `OutcomePublisher.connect`: client, topic, producer; any failure is typed. */
export async function openKafkaOutcomeSink(
  options: PublisherOptions,
): Promise<{ sink: OutcomeSink; messageBytesMax: number }> {
  const tuning = { ...KAFKA_TUNING_DEFAULT, ...options.kafka };
  const logger = options.logger.child({ component: 'outcome-publisher', topic: options.topic });
  const kafka = createKafkaClient(options.brokers, options.clientId, logger, tuning);
  const admin = kafka.admin({ retry: retryOf(tuning) });
  const format = options.format ?? 'batch';
  const compression = options.compression ?? 'none';
  let sink: KafkaOutcomeSink | RdkafkaOutcomeSink | null = null;
  let topic: TopicInfo;
  try {
    const rdkafka = chooseRdkafka(options, logger);
    await admin.connect();
    topic = await ensureTopic(admin, options.topic, options.partitions, options.replicationFactor, {
      logger,
      tuning,
    });
    if (rdkafka !== null) {
      const partitions = topic.partitions;
      sink = new RdkafkaOutcomeSink(rdkafka, {
        ...options,
        partitions,
        tuning,
        compression,
        format,
        logger,
      });
      await sink.open();
    } else {
      sink = new KafkaOutcomeSink(
        kafka,
        options.topic,
        COMPRESSION[compression],
        tuning,
        logger,
        format,
      );
      await sink.open(topic.partitions);
    }
  } catch (cause) {
    await sink?.close().catch(() => undefined);
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new EventPublishError('kafka_unavailable', `Kafka at ${options.brokers}: ${reason}`, {
      cause,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const producer = sink instanceof RdkafkaOutcomeSink ? 'librdkafka' : 'kafkajs';
  logger.info(
    { ...topic, brokers: options.brokers, producer, format },
    'outcome publisher connected',
  );
  return { sink, messageBytesMax: topic.messageBytesMax };
}
