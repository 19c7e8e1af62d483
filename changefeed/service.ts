/**
 * One relay process, composed: the Kafka sink, the relay, the RabbitMQ source feeding it, the
 * queue-depth poll and the metrics listener. `startRelayService` returns once the listener is up
 * and the source's connect loop has begun (it does not wait for either broker: both are retried
 * for as long as the process lives); `stop()` finishes the send in flight, acknowledges it, and
 * closes everything, leaving the rest of the window to be redelivered.
 */
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';
import { createKafkaClient, type KafkaTuning } from '../events/kafka';
import { AmqpSource } from './amqp-source';
import { ChangeSink } from './kafka-sink';
import { createRelayMetrics, listenMetrics, type MetricsListener } from './metrics';
import { ChangeRelay, RELAY_LIMITS_DEFAULT, type RelayLimits } from './relay';
import { changeTopology } from './topology';

/** How often the change queue's depth is read for the gauge (ms). */
const QUEUE_POLL_MS = 5_000;

export type RelayConfig = Pick<
  Config,
  | 'AMQP_URL'
  | 'AMQP_CDC_EXCHANGE'
  | 'AMQP_CDC_QUEUE'
  | 'KAFKA_BROKERS'
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_CHANGES_TOPIC'
  | 'KAFKA_CHANGES_PARTITIONS'
  | 'RELAY_PREFETCH'
  | 'RELAY_METRICS_HOST'
  | 'RELAY_METRICS_PORT'
>;

export interface RelayServiceOptions {
  config: RelayConfig;
  logger: Logger;
  /** Kafka replicas of the topics it creates; default: 3 with 3 brokers or more, else 1. */
  replicationFactor?: number;
  limits?: Partial<RelayLimits>;
  kafka?: Partial<KafkaTuning>;
  /** Default process metrics (off in tests that start several relays in one process). */
  defaultMetrics?: boolean;
  /** Tests' queues on the live exchange: deleted by RabbitMQ once unused this long (ms). */
  queueExpiresMs?: number;
}

export interface RelayService {
  relay: ChangeRelay;
  source: AmqpSource;
  metricsUrl: string;
  /** Resolves once the relay consumes the queue (the active consumer, or a standby's turn). */
  consuming: Promise<void>;
  stop(): Promise<void>;
}

export async function startRelayService(options: RelayServiceOptions): Promise<RelayService> {
  const { config } = options;
  const logger = options.logger.child({ component: 'change-relay' });
  const kafka = createKafkaClient(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-relay`, logger);
  const sink = new ChangeSink(
    kafka,
    {
      topic: config.KAFKA_CHANGES_TOPIC,
      partitions: config.KAFKA_CHANGES_PARTITIONS,
      replicationFactor: options.replicationFactor ?? Math.min(3, config.KAFKA_BROKERS.length),
      tuning: options.kafka,
    },
    logger,
  );
  const limits: Partial<RelayLimits> = {
    // Half the window per send: the next batch fills while one is in flight.
    batchEventsMax: Math.min(RELAY_LIMITS_DEFAULT.batchEventsMax, config.RELAY_PREFETCH / 2),
    ...options.limits,
  };
  let depth: number | null = null;
  let relay: ChangeRelay | null = null;
  const source = new AmqpSource({
    url: config.AMQP_URL,
    topology: changeTopology({
      exchange: config.AMQP_CDC_EXCHANGE,
      queue: config.AMQP_CDC_QUEUE,
      expiresMs: options.queueExpiresMs,
    }),
    prefetch: config.RELAY_PREFETCH,
    onDelivery: (delivery) => relay!.accept(delivery),
    onLost: (generation) => relay!.lost(generation),
    logger,
  });
  const metrics = createRelayMetrics(
    {
      relay: { stats: () => relay!.stats() },
      queueDepth: () => depth,
      consuming: () => source.consumingNow(),
    },
    { defaultMetrics: options.defaultMetrics },
  );
  relay = new ChangeRelay(source, sink, { limits, logger, onBatch: metrics.onBatch });
  const listener: MetricsListener = await listenMetrics(
    metrics.registry,
    config.RELAY_METRICS_HOST,
    config.RELAY_METRICS_PORT,
  );
  const poll = setInterval(() => {
    void source.queueDepth().then((value) => (depth = value));
  }, QUEUE_POLL_MS);
  poll.unref();
  const consuming = source.start();
  logger.info(
    { queue: config.AMQP_CDC_QUEUE, topic: config.KAFKA_CHANGES_TOPIC, metrics: listener.url },
    'change relay started',
  );
  const stop = async (): Promise<void> => {
    clearInterval(poll);
    await source.pause();
    await relay!.stop();
    await source.stop();
    await sink.close();
    await listener.close();
    logger.info(relay!.stats(), 'change relay stopped');
  };
  return { relay, source, metricsUrl: listener.url, consuming, stop };
}
