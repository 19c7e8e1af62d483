/**
 * The two Kafka clients that load/bench/kafka-clients.ts compares, behind one small interface:
 *
 * - kafkajs, configured exactly as the outcome publisher configures it (events/kafka.ts:
 *   idempotent, acks=all, one request in flight per broker, Java's partitioner);
 * - @confluentinc/kafka-javascript (librdkafka under N-API) through its KafkaJS-compatible API,
 *   the API an adoption would use: idempotent, acks=all; librdkafka pipelines up to 5 requests
 *   per partition with idempotence and keeps their order, and partitions keys with murmur2 as
 *   Java does.
 *
 * The confluent client is not an npm dependency: infra/setup.sh builds it (librdkafka from source)
 * into the machine-level cache and names the directory in .run/confluent-kafka-javascript-dir.
 * `loadConfluent` finds it there (or in CONFLUENT_KAFKA_JS_DIR, or in node_modules) and says why
 * not when it cannot, so the benchmark can still measure kafkajs alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import kafkajsPackage from 'kafkajs/package.json';
import type { Logger } from '../../core/logger';
import {
  connectIdempotentProducer,
  createKafkaClient,
  KAFKA_TUNING_DEFAULT,
} from '../../events/kafka';

/** One Kafka record as the benchmark hands it to a client; `partition` unset: by key. */
export interface BenchRecord {
  key: string | null;
  value: Buffer;
  headers: Readonly<Record<string, string>>;
  partition?: number;
}

export interface BenchClient {
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  send(records: BenchRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ClientKind {
  name: string;
  /** Description for the report: version and the settings that matter. */
  detail: string;
  /**
   * Sends the open loop lets overlap: 1 for kafkajs, as the outcome publisher does (its
   * idempotent producer allows one request in flight; more sends would only queue inside it);
   * more for librdkafka, which queues messages and pipelines requests itself.
   */
  sendsInFlightMax: number;
  open(topic: string): Promise<BenchClient>;
}

/** A fresh record object per send: the confluent client rewrites the messages it is given. */
function messagesOf(records: BenchRecord[]) {
  return records.map((record) => ({
    key: record.key,
    value: record.value,
    headers: { ...record.headers },
    ...(record.partition === undefined ? {} : { partition: record.partition }),
  }));
}

export function kafkajsKind(brokers: string[], logger: Logger): ClientKind {
  const tuning = KAFKA_TUNING_DEFAULT;
  const kafka = createKafkaClient(brokers, 'kafka-clients-bench', logger, tuning);
  return {
    name: 'kafkajs',
    detail: `kafkajs ${kafkajsPackage.version} (events/kafka.ts: idempotent, acks=all, 1 request in flight)`,
    sendsInFlightMax: 1,
    async open(topic: string): Promise<BenchClient> {
      const producer: Producer = await connectIdempotentProducer(kafka, tuning);
      return {
        async send(records) {
          await producer.send({
            topic,
            acks: -1,
            timeout: tuning.ackTimeoutMs,
            messages: messagesOf(records),
          });
        },
        close: () => producer.disconnect(),
      };
    },
  };
}

/** The part of @confluentinc/kafka-javascript's KafkaJS-compatible API used here. */
interface ConfluentProducer {
  connect(): Promise<void>;
  send(record: { topic: string; messages: ReturnType<typeof messagesOf> }): Promise<unknown>;
  disconnect(): Promise<void>;
}
interface ConfluentModule {
  librdkafkaVersion: string;
  KafkaJS: {
    Kafka: new (config: Record<string, unknown>) => {
      producer(config: Record<string, unknown>): ConfluentProducer;
    };
    logLevel: { ERROR: number };
  };
}

export type ConfluentLoad =
  | { ok: true; module: ConfluentModule; dir: string; version: string }
  | { ok: false; reason: string };

const POINTER = path.resolve(__dirname, '../../.run/confluent-kafka-javascript-dir');

function confluentCandidates(): { dir: string; from: string }[] {
  const found: { dir: string; from: string }[] = [];
  const fromEnv = process.env.CONFLUENT_KAFKA_JS_DIR;
  if (fromEnv) found.push({ dir: fromEnv, from: 'CONFLUENT_KAFKA_JS_DIR' });
  if (existsSync(POINTER)) {
    found.push({ dir: readFileSync(POINTER, 'utf8').trim(), from: POINTER });
  }
  try {
    const manifest = require.resolve('@confluentinc/kafka-javascript/package.json');
    found.push({ dir: path.dirname(manifest), from: 'node_modules' });
  } catch {
    // Not installed as a package: the usual case (see the header).
  }
  return found;
}

/** Loads the confluent client, or says why it cannot. */
export function loadConfluent(): ConfluentLoad {
  const candidates = confluentCandidates();
  if (candidates.length === 0) {
    return {
      ok: false,
      reason:
        `not built: no ${POINTER} (infra/setup.sh writes it after building the client; ` +
        'see its warning and ~/.cache/ledger-bridge/confluent-kafka-javascript-build.log)',
    };
  }
  const failures: string[] = [];
  for (const { dir, from } of candidates) {
    try {
      const load = createRequire(path.join(dir, 'package.json'));
      const module = load(dir) as ConfluentModule;
      const version = (load(path.join(dir, 'package.json')) as { version: string }).version;
      return { ok: true, module, dir, version };
    } catch (error) {
      failures.push(
        `${dir} (from ${from}): ${String(error instanceof Error ? error.message : error).split('\n')[0]}`,
      );
    }
  }
  return { ok: false, reason: `cannot load it: ${failures.join('; ')}` };
}

export function confluentKind(
  loaded: Extract<ConfluentLoad, { ok: true }>,
  brokers: string[],
  lingerMs: number,
): ClientKind {
  const { KafkaJS } = loaded.module;
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers, clientId: 'kafka-clients-bench', logLevel: KafkaJS.logLevel.ERROR },
  });
  return {
    name: 'confluent',
    detail:
      `@confluentinc/kafka-javascript ${loaded.version}, librdkafka ` +
      `${loaded.module.librdkafkaVersion} (KafkaJS-compatible API: idempotent, acks=all, ` +
      `linger.ms ${lingerMs})`,
    sendsInFlightMax: 64,
    async open(topic: string): Promise<BenchClient> {
      const producer = kafka.producer({
        kafkaJS: { idempotent: true, acks: -1, allowAutoTopicCreation: false },
        'linger.ms': lingerMs,
      });
      await producer.connect();
      return {
        async send(records) {
          await producer.send({ topic, messages: messagesOf(records) });
        },
        close: () => producer.disconnect(),
      };
    },
  };
}
