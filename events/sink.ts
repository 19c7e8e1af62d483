/**
 * What the outcome publisher (./publisher.ts) and the Kafka sink (./kafka.ts) agree on: where an
 * acknowledged event landed, the sink interface, the publisher's limits and options, and the
 * Kafka client's tuning. Apart from both, so neither imports the other's types.
 */
import type { Logger } from '../core/logger';
import type { OutcomeRecordFormat } from './envelope';
import type { OutcomeMessage } from './schema';

export type OutcomeProducerClient = 'kafkajs' | 'librdkafka';
/** `auto`: librdkafka when its package loads, else kafkajs (logged). */
export type OutcomeProducerChoice = OutcomeProducerClient | 'auto';

export interface KafkaTuning {
  /** TCP connect per broker. */
  connectionTimeoutMs: number;
  /** Client-side wait for any response. */
  requestTimeoutMs: number;
  /** Broker-side wait for the in-sync replicas to acknowledge a produce (acks=all). */
  ackTimeoutMs: number;
  /** kafkajs retries per operation, with exponential backoff from `retryInitialMs`. */
  retries: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** kafkajs's own log level (it logs every retry at error level). */
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** `max.message.bytes` of a topic this code creates: a journal of 8189 transfers must fit. */
  topicMessageBytesMax: number;
  /**
   * `retention.ms` of a topic this code creates. -1 (forever): the topic is the log the
   * projections are built and rebuilt from; an outcome must not expire before they read it.
   */
  topicRetentionMs: number;
}

/** Where an acknowledged event landed in the log: the consistency token is made of this. */
export interface EventPosition {
  partition: number;
  /** Kafka offset (int64) as a decimal string. */
  offset: string;
}

/**
 * Where batches go. `send` resolves once every message is acknowledged by all in-sync replicas,
 * with each message's position, in the order of `messages`.
 */
export interface OutcomeSink {
  send(messages: OutcomeMessage[]): Promise<EventPosition[]>;
  close(): Promise<void>;
}

export interface PublisherLimits {
  /** Longest an outcome waits for company while no send is in flight (0: the same tick only). */
  lingerMs: number;
  /** Queued (not yet sent) outcomes; beyond this `publish` fails fast with `overloaded`. */
  queueEventsMax: number;
  /** Outcomes per send. */
  batchEventsMax: number;
  /** Estimated record bytes per send; at most the topic's message limit (see `kafka.ts`). */
  batchBytesMax: number;
  /** Largest single event; a larger one fails with `event_too_large`. */
  eventBytesMax: number;
  /** Longest a caller waits for its batch's acknowledgement before `kafka_unavailable`. */
  sendTimeoutMs: number;
}

export const PUBLISHER_LIMITS_DEFAULT: PublisherLimits = {
  lingerMs: 2,
  // Four bulk requests of 8189 journals (~32 MB encoded). A healthy broker keeps the queue near
  // empty, so a full queue means Kafka cannot keep up: shed load (503), don't buffer seconds.
  queueEventsMax: 32_768,
  // kafkajs groups a send's messages per partition by copying an array per message (quadratic in
  // the messages per partition) and a send's CPU (~40 µs an event here) is latency for every
  // caller in it: 2048 amortises a request's round trip without long sends.
  batchEventsMax: 2_048,
  batchBytesMax: 4 * 1024 * 1024,
  eventBytesMax: 4 * 1024 * 1024,
  // Above the client's own bounded retries (about 2 s against a dead broker, see kafka.ts), so
  // the client's error, with its cause, is what callers normally see.
  sendTimeoutMs: 8_000,
};

/** What one send did; for metrics (latency histogram, batch sizes, failures). */
export interface BatchReport {
  events: number;
  bytes: number;
  latencyMs: number;
  ok: boolean;
}

export interface PublisherStats {
  eventsPublished: number;
  batchesSent: number;
  sendFailures: number;
  eventsFailed: number;
  /** Refused before queueing: overloaded, closed or too large. */
  eventsRefused: number;
  queueDepth: number;
  inFlightEvents: number;
  lastBatchEvents: number;
  lastBatchBytes: number;
  lastSendLatencyMs: number;
}

export interface PublisherOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  partitions: number;
  /** 1 on a single local broker; 3 in production (min.insync.replicas is then 2). */
  replicationFactor: number;
  logger: Logger;
  limits?: Partial<PublisherLimits>;
  /** Measured in README.md: gzip costs CPU on this 2-core box for little gain on a local link. */
  compression?: 'none' | 'gzip';
  /** `batch` (v2 envelopes, the default) or `single` (one v1 record per event): ./envelope.ts. */
  format?: OutcomeRecordFormat;
  /** Which client writes: kafkajs (./kafka.ts), librdkafka (./rdkafka.ts) or auto (default). */
  producer?: OutcomeProducerChoice;
  kafka?: Partial<KafkaTuning>;
  onBatch?: (report: BatchReport) => void;
}
