/**
 * Proves the outcome publisher against the real local Kafka broker (infra/stack.sh, KAFKA_BROKERS):
 * outcomes published concurrently are read back by a fresh consumer group exactly once each, with
 * every field of the event and one journal's events in publish order on one partition, both as
 * batch envelopes (version 2, the default: few records, each event at its envelope's offset) and
 * as single records (version 1, the journal id as key); the topic is created once and found afterwards; a failed send is followed by a
 * fresh producer that delivers; and an unreachable broker fails connect and publish with a typed
 * EventPublishError within seconds. Each run uses uniquely named topics and deletes them.
 */
import { randomUUID } from 'node:crypto';
import { CompressionTypes, type Admin, type Kafka } from 'kafkajs';
import pino from 'pino';
import { loadConfig } from '../../../core/config';
import { EventPublishError } from '../../../events/errors';
import {
  createKafkaClient,
  ensureTopic,
  KAFKA_TUNING_DEFAULT,
  KafkaOutcomeSink,
} from '../../../events/kafka';
import { type EventPosition, OutcomePublisher } from '../../../events/publisher';
import { decodeOutcomeRecord, type OutcomeRecordFormat } from '../../../events/envelope';
import { loadRdkafka, RdkafkaOutcomeSink, type RdkafkaSinkOptions } from '../../../events/rdkafka';
import { OutcomePartitioner } from '../../../events/records';
import type { OutcomeProducerClient } from '../../../events/sink';
import {
  type JournalOutcomeEventV1,
  OUTCOME_HEADERS,
  toOutcomeEvent,
} from '../../../events/schema';
import type { JournalOutcome, OutcomeKind } from '../../../events/journal-model';
import { TransferFlags } from '../../../ledger/port';
import { sampleOutcome } from '../../support/events/fixtures';

const BROKERS = loadConfig().KAFKA_BROKERS;
const DEAD_BROKER = ['127.0.0.1:1'];
const RUN = `${process.pid}-${Date.now()}`;
const silent = pino({ level: 'silent' });

let kafka: Kafka;
let admin: Admin;
let connected = false;
const topics: string[] = [];
const groups: string[] = [];

function freshTopic(what: string): string {
  const topic = `test.events.${what}.${RUN}`;
  topics.push(topic);
  return topic;
}

beforeAll(async () => {
  kafka = createKafkaClient(BROKERS, 'test-events', silent);
  admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Kafka at ${BROKERS} is not answering (bash infra/stack.sh up): ${error}`);
  });
  connected = true;
}, 20_000);

afterAll(async () => {
  if (!connected) return;
  const existing = new Set(await admin.listTopics());
  const ours = topics.filter((topic) => existing.has(topic));
  if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 10_000 });
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();
}, 30_000);

interface Consumed {
  key: string | null;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  event: JournalOutcomeEventV1;
}

/** Reads the topic from the beginning with a new group until `count` events, then a bit more. */
async function consume(topic: string, count: number, timeoutMs: number): Promise<Consumed[]> {
  const groupId = `test-events-${randomUUID()}`;
  groups.push(groupId);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const seen: Consumed[] = [];
  records = 0;
  let reached: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          headers[name] = String(value);
        }
        records += 1;
        for (const event of decodeOutcomeRecord(message.value)) {
          const key = message.key === null ? null : String(message.key);
          seen.push({ key, partition, offset: message.offset, headers, event });
        }
        if (seen.length >= count) reached();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      enough,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`read ${seen.length} of ${count} in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    // Anything beyond `count` would be a duplicate or a stray: give it time to show up.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/** A librdkafka sink; the package must load (infra/setup.sh builds it and links it). */
function rdkafkaSink(options: Pick<RdkafkaSinkOptions, 'brokers' | 'topic'>): RdkafkaOutcomeSink {
  const loaded = loadRdkafka();
  if (!('module' in loaded)) throw new Error(loaded.reason);
  return new RdkafkaOutcomeSink(loaded.module, {
    ...options,
    clientId: 'test-events',
    partitions: 1,
    tuning: KAFKA_TUNING_DEFAULT,
    compression: 'none',
    format: 'batch',
    logger: silent,
  });
}

/** Records the last `consume` read (an envelope is one record of many events). */
let records = 0;

/** A journal's life: the kinds it goes through, in order. */
const LIVES: OutcomeKind[][] = [
  ['posted'],
  ['held', 'hold_posted'],
  ['held', 'hold_voided'],
  ['rejected'],
  ['held', 'hold_posted', 'rejected'], // a second post of the hold, refused
];

describe('OutcomePublisher on the local broker', () => {
  it.each<[OutcomeRecordFormat, OutcomeProducerClient]>([
    ['batch', 'kafkajs'],
    ['single', 'kafkajs'],
    ['batch', 'librdkafka'],
    ['single', 'librdkafka'],
  ])(
    'delivers every outcome once, with all metadata, in per-journal order (%s records, %s)',
    async (format, producer) => {
      const topic = freshTopic(`roundtrip-${format}-${producer}`);
      const publisher = await OutcomePublisher.connect({
        brokers: BROKERS,
        clientId: 'test-events',
        topic,
        partitions: 3,
        replicationFactor: 1,
        logger: silent,
        format,
        producer,
        limits: { lingerMs: 2, batchEventsMax: 200 },
      });
      const journals = 400;
      const published = new Map<string, JournalOutcome>();
      const order = new Map<string, string[]>();
      const acks: Array<Promise<EventPosition>> = [];
      const positions = new Map<string, EventPosition>();
      try {
        // Journals interleave; each journal's own outcomes are published in its order.
        for (let step = 0; step < 3; step++) {
          for (let j = 0; j < journals; j++) {
            const kind = LIVES[j % LIVES.length]![step];
            if (kind === undefined) continue;
            const journalId = `01JTEST${RUN}-${j}`;
            // Half the holds' second steps come as the service sends them: without the journal.
            const bare = step > 0 && j % 2 === 0;
            const outcome = sampleOutcome(journalId, j * 10 + step, kind, bare);
            if (kind === 'rejected' && step > 0) {
              outcome.transfers[0]!.transfer.flags = TransferFlags.post_pending_transfer;
            }
            const eventId = toOutcomeEvent(outcome).eventId;
            published.set(eventId, outcome);
            order.set(journalId, [...(order.get(journalId) ?? []), eventId]);
            const ack = publisher.publish(outcome);
            acks.push(ack.then((position) => positions.set(eventId, position).get(eventId)!));
          }
        }
        await Promise.all(acks);
        const stats = publisher.stats();
        expect(stats.eventsPublished).toBe(acks.length);
        expect(stats.batchesSent).toBeLessThan(acks.length / 5); // coalesced, not one send each
      } finally {
        await publisher.close();
      }

      const consumed = await consume(topic, acks.length, 30_000);
      expect(consumed).toHaveLength(acks.length);
      expect(new Set(consumed.map((c) => c.event.eventId)).size).toBe(acks.length);
      // An envelope per partition per send: far fewer records than events.
      if (format === 'batch') expect(records).toBeLessThan(acks.length / 5);
      else expect(records).toBe(acks.length);
      const partitionOf = new Map<string, number>();
      const readOrder = new Map<string, string[]>();
      for (const { key, partition, offset, headers, event } of consumed) {
        const { journalId } = event;
        expect(event).toEqual(toOutcomeEvent(published.get(event.eventId)!));
        // The position publish() answered is where the event really is (the consistency token).
        expect(positions.get(event.eventId)).toEqual({ partition, offset });
        expect(key).toBe(format === 'batch' ? null : journalId);
        expect(headers).toEqual({
          [OUTCOME_HEADERS.schema]: 'ledger-bridge.journal-outcome',
          [OUTCOME_HEADERS.version]: format === 'batch' ? '2' : '1',
          [OUTCOME_HEADERS.contentType]: 'application/json',
        });
        // Java's partitioner on the journal id, whichever the format.
        expect(partition).toBe(new OutcomePartitioner(topic, 3).partitionOf(journalId));
        partitionOf.set(journalId, partition);
        readOrder.set(journalId, [...(readOrder.get(journalId) ?? []), event.eventId]);
      }
      expect(readOrder).toEqual(order);
      expect(new Set(partitionOf.values()).size).toBe(3); // keys spread over every partition
    },
    60_000,
  );

  it('publishes a retried outcome again under the same event id (consumers dedupe)', async () => {
    const topic = freshTopic('retry');
    const publisher = await OutcomePublisher.connect({
      brokers: BROKERS,
      clientId: 'test-events',
      topic,
      partitions: 1,
      replicationFactor: 1,
      logger: silent,
    });
    const first = sampleOutcome(`01JRETRY${RUN}`, 1);
    const retry = structuredClone(first);
    retry.transfers[0]!.status = 46; // exists: the ledger's answer to the retry
    try {
      await publisher.publish(first);
      await publisher.publish(retry);
    } finally {
      await publisher.close();
    }
    const consumed = await consume(topic, 2, 20_000);
    expect(consumed.map((c) => c.event.eventId)).toEqual([
      `01JRETRY${RUN}:posted`,
      `01JRETRY${RUN}:posted`,
    ]);
    expect(consumed.map((c) => c.event.transfers[0]!.status)).toEqual(['created', 'exists']);
  }, 40_000);
});

describe('ensureTopic', () => {
  it('creates the topic once, then reports it as it is', async () => {
    const topic = freshTopic('ensure');
    const first = await ensureTopic(admin, topic, 2, 1);
    expect(first).toEqual({ created: true, partitions: 2, messageBytesMax: 8 * 1024 * 1024 });
    const again = await ensureTopic(admin, topic, 4, 1, { logger: silent });
    expect(again).toEqual({ created: false, partitions: 2, messageBytesMax: 8 * 1024 * 1024 });
  }, 30_000);

  it('is safe when several starters race', async () => {
    const topic = freshTopic('race');
    const results = await Promise.all([1, 2, 3].map(() => ensureTopic(admin, topic, 2, 1)));
    expect(results.filter((r) => r.created).length).toBeLessThanOrEqual(1);
    expect(results.every((r) => r.partitions === 2)).toBe(true);
  }, 30_000);
});

describe('failures', () => {
  it('replaces the producer after a failed send and then delivers', async () => {
    const topic = freshTopic('renew');
    const tuning = { ...KAFKA_TUNING_DEFAULT, retries: 1 };
    const sink = new KafkaOutcomeSink(kafka, topic, CompressionTypes.None, tuning, silent);
    const publisher = new OutcomePublisher(sink, {}, silent);
    try {
      await sink.open(1);
      // The topic does not exist yet and the broker does not create topics: the send fails.
      const failed = await publisher.publish(sampleOutcome('J-renew', 1)).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(EventPublishError);
      expect((failed as EventPublishError).code).toBe('kafka_unavailable');
      await ensureTopic(admin, topic, 1, 1);
      await publisher.publish(sampleOutcome('J-renew', 2));
      expect(sink.generation).toBe(2);
    } finally {
      await publisher.close();
    }
    const consumed = await consume(topic, 1, 20_000);
    expect(consumed.map((c) => c.event.journal?.description)).toEqual([
      sampleOutcome('J-renew', 2).journal?.description,
    ]);
  }, 40_000);

  it('librdkafka: fails a send to a missing topic within seconds, then delivers on a new producer', async () => {
    const topic = freshTopic('renew-rdkafka');
    const sink = rdkafkaSink({ brokers: BROKERS, topic });
    const publisher = new OutcomePublisher(sink, {}, silent);
    try {
      await sink.open();
      const started = Date.now();
      const failed = await publisher.publish(sampleOutcome('J-renew', 1)).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(EventPublishError);
      expect((failed as EventPublishError).code).toBe('kafka_unavailable');
      expect(Date.now() - started).toBeLessThan(10_000);
      await ensureTopic(admin, topic, 1, 1);
      await publisher.publish(sampleOutcome('J-renew', 2));
      expect(sink.generation).toBe(2);
    } finally {
      await publisher.close();
    }
    const consumed = await consume(topic, 1, 20_000);
    expect(consumed.map((c) => c.event.journal?.description)).toEqual([
      sampleOutcome('J-renew', 2).journal?.description,
    ]);
  }, 40_000);

  it('librdkafka: fails to open on an unreachable broker within seconds', async () => {
    const started = Date.now();
    const error = await rdkafkaSink({ brokers: DEAD_BROKER, topic: 'never.created' })
      .open()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);

  it('fails connect to an unreachable broker with kafka_unavailable within seconds', async () => {
    const started = Date.now();
    const error = await OutcomePublisher.connect({
      brokers: DEAD_BROKER,
      clientId: 'test-events',
      topic: freshTopic('dead'),
      partitions: 1,
      replicationFactor: 1,
      logger: silent,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as EventPublishError).code).toBe('kafka_unavailable');
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);

  it('fails publish to an unreachable broker with kafka_unavailable within seconds', async () => {
    const dead = createKafkaClient(DEAD_BROKER, 'test-events', silent);
    const sink = new KafkaOutcomeSink(
      dead,
      'never.created',
      CompressionTypes.None,
      KAFKA_TUNING_DEFAULT,
      silent,
    );
    const publisher = new OutcomePublisher(sink, {}, silent);
    const started = Date.now();
    const outcomes = [1, 2, 3].map((n) => publisher.publish(sampleOutcome(`J-dead-${n}`, n)));
    const errors = await Promise.all(outcomes.map((p) => p.catch((e: unknown) => e)));
    const elapsed = Date.now() - started;
    for (const error of errors) {
      expect(error).toBeInstanceOf(EventPublishError);
      expect((error as EventPublishError).code).toBe('kafka_unavailable');
    }
    expect(elapsed).toBeLessThan(10_000);
    expect(publisher.stats()).toMatchObject({ sendFailures: 1, eventsFailed: 3 });
    await publisher.close();
  }, 20_000);
});
