/**
 * The outcome sink on librdkafka (`@confluentinc/kafka-javascript`, its native producer API):
 * `KAFKA_PRODUCER=librdkafka`. Same contract as the kafkajs sink (./kafka.ts): idempotent,
 * acks=all, the records ./records.ts plans, each event's position from its record's delivery
 * report, a failure typed by the publisher as `kafka_unavailable` within seconds.
 *
 * Why: measured in one run (load/bench/kafka-clients.ts), librdkafka takes about 4× less client
 * CPU per event than kafkajs with batch envelopes (3.4 vs 13.8 µs) and has lower tails.
 *
 * The package is not an npm dependency: its install script downloads a prebuilt binary from
 * GitHub, which is not reachable here. infra/setup.sh builds it (librdkafka from source, against
 * Debian's libraries) into the machine-level cache and links it into node_modules; elsewhere
 * `npm install @confluentinc/kafka-javascript` does. `loadRdkafka` says why when it cannot load.
 *
 * Bounded failure: librdkafka retries a message until `message.timeout.ms`; it is set to the
 * tuning's request timeout (5 s), so a dead broker fails a send in about that, and a failed send
 * replaces the producer, as with kafkajs, so no later send inherits its state.
 */
import { createRequire } from 'node:module';
import type { Logger } from '../core/logger';
import type { OutcomeRecordFormat } from './envelope';
import { OutcomePartitioner, type OutcomeRecord, planSend, positionsOf } from './records';
import type { OutcomeMessage } from './schema';
import type { EventPosition, KafkaTuning, OutcomeSink } from './sink';

interface DeliveryReport {
  partition: number;
  offset: number;
  opaque: unknown;
}

/** The part of the native producer API used here (types/rdkafka.d.ts of the package). */
interface NativeProducer {
  connect(options: { timeout: number }, callback: (error: unknown) => void): void;
  disconnect(timeout: number, callback: (error: unknown) => void): void;
  produce(
    topic: string,
    partition: number,
    value: Buffer,
    key: string | null,
    timestamp: number | null,
    opaque: unknown,
    headers: Record<string, string>[],
  ): unknown;
  setPollInterval(ms: number): void;
  on(event: 'delivery-report', listener: (error: unknown, report: DeliveryReport) => void): void;
  on(event: 'event.error', listener: (error: unknown) => void): void;
}

export interface RdkafkaModule {
  librdkafkaVersion: string;
  Producer: new (
    config: Record<string, unknown>,
    topicConfig: Record<string, unknown>,
  ) => NativeProducer;
}

export const RDKAFKA_PACKAGE = '@confluentinc/kafka-javascript';

/** The package, or why it cannot be loaded. */
export function loadRdkafka(): { module: RdkafkaModule } | { reason: string } {
  try {
    const load = createRequire(__filename);
    return { module: load(RDKAFKA_PACKAGE) as RdkafkaModule };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return { reason: `${RDKAFKA_PACKAGE} cannot be loaded (infra/setup.sh builds it): ${reason}` };
  }
}

export interface RdkafkaSinkOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  partitions: number;
  tuning: KafkaTuning;
  compression: 'none' | 'gzip';
  format: OutcomeRecordFormat;
  logger: Logger;
}

/** Delivery reports resolve their record's waiter, carried as the message's opaque. */
type Waiter = (error: unknown, offset: string | null) => void;

/** How often delivery reports are polled (ms) while the producer is connected. */
const POLL_MS = 1;

export class RdkafkaOutcomeSink implements OutcomeSink {
  private producer: NativeProducer | null = null;
  private healthy = false;
  /** Producers created so far: 1 after open(), one more after each failed send. */
  generation = 0;
  private readonly partitioner: OutcomePartitioner;

  constructor(
    private readonly rdkafka: RdkafkaModule,
    private readonly options: RdkafkaSinkOptions,
  ) {
    this.partitioner = new OutcomePartitioner(options.topic, options.partitions);
  }

  async open(): Promise<void> {
    await this.renew();
  }

  async send(messages: OutcomeMessage[]): Promise<EventPosition[]> {
    if (!this.healthy) await this.renew();
    const plan = planSend(messages, this.partitioner, this.options.format);
    try {
      const offsets = await Promise.all(plan.records.map((record) => this.produce(record)));
      return positionsOf(plan, offsets);
    } catch (error) {
      this.healthy = false;
      throw error;
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    this.healthy = false;
    if (producer !== null) await disconnect(producer, this.options.tuning.requestTimeoutMs);
  }

  private produce(record: OutcomeRecord): Promise<string> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = (error, offset) => {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else if (offset === null) reject(new Error('Kafka answered without an offset'));
        else resolve(offset);
      };
      const headers = Object.entries(record.headers).map(([name, value]) => ({ [name]: value }));
      try {
        this.producer!.produce(
          this.options.topic,
          record.partition,
          record.value,
          record.key,
          null,
          waiter,
          headers,
        );
      } catch (error) {
        // A full local queue or a message above message.max.bytes: refused before sending.
        waiter(error, null);
      }
    });
  }

  private async renew(): Promise<void> {
    const old = this.producer;
    this.producer = null;
    if (old !== null) {
      this.options.logger.info('replacing the Kafka producer after a failed send');
      await disconnect(old, 2_000);
    }
    this.generation += 1;
    this.producer = await connectProducer(this.rdkafka, this.options);
    this.healthy = true;
  }
}

function producerConfig(options: RdkafkaSinkOptions): Record<string, unknown> {
  const { tuning } = options;
  return {
    'bootstrap.servers': options.brokers.join(','),
    'client.id': options.clientId,
    // Implies acks=all, retries, and at most 5 requests in flight per partition kept in order.
    'enable.idempotence': true,
    'request.required.acks': -1,
    'request.timeout.ms': tuning.ackTimeoutMs,
    'message.timeout.ms': tuning.requestTimeoutMs,
    'socket.connection.setup.timeout.ms': Math.max(1_000, tuning.connectionTimeoutMs),
    'retry.backoff.ms': tuning.retryInitialMs,
    'retry.backoff.max.ms': tuning.retryMaxMs,
    // The publisher coalesces already (one send in flight): librdkafka need not wait for more.
    'linger.ms': 0,
    // A batch envelope is up to the topic's max.message.bytes (./publisher.ts keeps it below).
    'message.max.bytes': tuning.topicMessageBytesMax + 64 * 1024,
    'compression.codec': options.compression,
    'allow.auto.create.topics': false,
    // A missing topic fails its messages after this, not after 30 s (the default): the topic is
    // made sure of at start, so missing later means deleted, and a send must fail in seconds.
    'topic.metadata.propagation.max.ms': tuning.connectionTimeoutMs,
    dr_cb: true,
    'log.connection.close': false,
  };
}

async function connectProducer(
  rdkafka: RdkafkaModule,
  options: RdkafkaSinkOptions,
): Promise<NativeProducer> {
  const producer = new rdkafka.Producer(producerConfig(options), {});
  producer.on('delivery-report', (error, report) => {
    (report.opaque as Waiter)(error, error ? null : String(report.offset));
  });
  producer.on('event.error', (error) => {
    options.logger.warn({ err: error }, 'librdkafka reported an error');
  });
  const timeout = options.tuning.requestTimeoutMs;
  try {
    await new Promise<void>((resolve, reject) => {
      producer.connect({ timeout }, (error) => (error ? reject(asError(error)) : resolve()));
    });
  } catch (error) {
    await disconnect(producer, 1_000);
    throw error;
  }
  producer.setPollInterval(POLL_MS);
  return producer;
}

function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  const message = (error as { message?: unknown } | null)?.message;
  return new Error(typeof message === 'string' ? message : String(error));
}

/** Disconnects, waiting at most `timeoutMs`; a failure to disconnect is not the caller's. */
function disconnect(producer: NativeProducer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs + 500).unref();
    try {
      producer.disconnect(timeoutMs, () => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
