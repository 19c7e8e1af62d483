/**
 * Proves the change relay against the stack's real RabbitMQ and Kafka: change events published
 * to an exchange as `tigerbeetle amqp` publishes them come out of Kafka as exactly two records
 * each, TigerBeetle's bytes unchanged, keyed by the debit and the credit account id, with the
 * change headers, and each account's events in order on its partition; a poison message in the
 * middle goes to `<topic>.dlq` with its reason while the events after it flow; nothing is left
 * unacknowledged in RabbitMQ; and the metrics say so. Each run has its own exchange, queue and
 * topics (run-unique names), removed afterwards.
 */
import pino from 'pino';
import { loadConfig } from '../../../core/config';
import {
  CHANGE_HEADERS,
  CHANGE_SCHEMA,
  changeKeys,
  decodeChange,
  encodeChange,
} from '../../../events/change';
import { RELAY_DLQ_HEADERS } from '../../../changefeed/records';
import { type RelayService, startRelayService } from '../../../changefeed/service';
import {
  type ReadRecord,
  readTopic,
  syntheticFeed,
  useFeedRun,
} from '../../support/changefeed/harness';
import { nowNs } from '../../support/ledger';
import { stackSettings } from '../../support/infra/settings';

const silent = pino({ level: process.env.TEST_LOG ?? 'silent' });
const EVENTS = 600;
const ACCOUNTS = 12;

let service: RelayService | null = null;
const feedRun = useFeedRun('relay', { beforeCleanup: async () => service?.stop() });

function byKey(records: ReadRecord[]): Map<string, ReadRecord[]> {
  const map = new Map<string, ReadRecord[]>();
  for (const record of records) {
    const key = record.key ?? '';
    map.set(key, [...(map.get(key) ?? []), record]);
  }
  return map;
}

it('relays each event twice, keyed by each account, in order, around poison', async () => {
  const { exchange, queue, topic, amqp: amqpHarness, kafka } = feedRun();
  service = await startRelayService({
    config: {
      ...loadConfig({ ...process.env, KAFKA_BROKERS: stackSettings.kafkaBrokers.join(',') }),
      AMQP_URL: stackSettings.amqpUrl,
      AMQP_CDC_EXCHANGE: exchange,
      AMQP_CDC_QUEUE: queue,
      KAFKA_CHANGES_TOPIC: topic,
      RELAY_PREFETCH: 64,
      RELAY_METRICS_PORT: 0,
    },
    logger: silent,
    defaultMetrics: false,
    // Should the run die before afterAll, RabbitMQ drops the queue by itself.
    queueExpiresMs: 120_000,
  });
  await service.consuming;
  const base = nowNs();
  const feed = syntheticFeed(EVENTS, ACCOUNTS, base, base);
  await amqpHarness.publishChanges(exchange, feed.slice(0, EVENTS / 2));
  await amqpHarness.publishRaw(exchange, Buffer.from('{"timestamp":1,"type":"nonsense"}'));
  await amqpHarness.publishChanges(exchange, feed.slice(EVENTS / 2));

  const records = await readTopic(kafka, topic, (r) => r.length >= 2 * EVENTS, 30_000);
  expect(records).toHaveLength(2 * EVENTS);
  const sent = new Map(feed.map((change) => [change.timestamp, change]));
  const keysOf = new Map<bigint, string[]>();
  for (const record of records) {
    const { timestamp } = decodeChange(record.value);
    const original = sent.get(timestamp)!;
    // TigerBeetle's bytes, unchanged.
    expect(record.value.equals(encodeChange(original))).toBe(true);
    expect(record.headers[CHANGE_HEADERS.schema]?.toString()).toBe(CHANGE_SCHEMA);
    expect(record.headers[CHANGE_HEADERS.contentType]?.toString()).toBe('application/json');
    keysOf.set(timestamp, [...(keysOf.get(timestamp) ?? []), record.key ?? '']);
  }
  // Both copies of each event: one keyed by its debit, one by its credit account.
  for (const change of feed) {
    const { debit, credit } = changeKeys(change);
    expect(keysOf.get(change.timestamp)?.sort()).toEqual([debit, credit].sort());
  }
  // Each account on one partition, its events in the order TigerBeetle published them.
  for (const [key, list] of byKey(records)) {
    expect(new Set(list.map((r) => r.partition)).size).toBe(1);
    const expected = feed
      .filter((c) => Object.values(changeKeys(c)).includes(key))
      .map((c) => c.timestamp);
    expect(list.map((r) => decodeChange(r.value).timestamp)).toEqual(expected);
  }

  const dead = await readTopic(kafka, `${topic}.dlq`, (r) => r.length >= 1, 10_000);
  expect(dead).toHaveLength(1);
  expect(dead[0]!.value.toString()).toBe('{"timestamp":1,"type":"nonsense"}');
  expect(dead[0]!.headers[RELAY_DLQ_HEADERS.reason]?.toString()).toBe('invalid_event');
  expect(dead[0]!.headers[RELAY_DLQ_HEADERS.queue]?.toString()).toBe(queue);

  expect(service.relay.stats()).toMatchObject({
    messagesIn: EVENTS + 1,
    eventsOut: EVENTS,
    recordsOut: 2 * EVENTS,
    deadLetteredKafka: 1,
    held: 0,
  });
  expect(await amqpHarness.queueDepth(queue)).toBe(0);
  const metrics = await (await fetch(service.metricsUrl)).text();
  expect(metrics).toContain(`ledger_relay_records_out_total ${2 * EVENTS}`);
  expect(metrics).toContain('ledger_relay_dead_letters_total{via="kafka"} 1');
  expect(metrics).toMatch(/ledger_relay_lag_seconds_count \d+/);
}, 60_000);
