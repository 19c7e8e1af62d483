/**
 * Proves `rebuildProjection(name, { from: 'kafka' })` against the real local broker and
 * PostgreSQL (a schema of this file's own): a seeded history (holds, partial posts, voids,
 * rejections, republished duplicates) plus one undecodable record is published to a fresh
 * 3-partition topic; each read model is built incrementally, then rebuilt from Kafka on top of
 * it, and every table's tableDigest is identical before and after; a rebuild of an unknown name
 * is refused with nothing changed. The topic and the temporary consumer groups are deleted.
 */
import fc from 'fast-check';
import type { Admin, Kafka } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import pino from 'pino';
import type pg from 'pg';
import { loadConfig } from '../../../core/config';
import { createKafkaClient } from '../../../events/kafka';
import { encodeOutcome } from '../../../events/schema';
import { READ_MODELS } from '../../../projections/src/read-models';
import { parseRebuildArgs } from '../../../projections/src/rebuild/cli';
import { rebuildProjection, RebuildError } from '../../../projections/src/rebuild/rebuild';
import {
  applyInBatches,
  createModelSchema,
  digests,
  historyArbitrary,
  type ModelSchema,
  projected,
} from '../../support/projections/read-models-fixtures';

const BROKERS = loadConfig().KAFKA_BROKERS;
const TOPIC = `test.rebuild.${process.pid}-${Date.now()}`;
const SEED = 20251122;
const silent = pino({ level: 'silent' });

let schema: ModelSchema;
let db: pg.Pool;
let kafka: Kafka;
let admin: Admin;
let published = 0;
/** The longest of a few seeded histories (journal ids are unique within one history). */
const HISTORY = fc
  .sample(historyArbitrary, { seed: SEED, numRuns: 8 })
  .reduce((a, b) => (b.length > a.length ? b : a));

beforeAll(async () => {
  schema = await createModelSchema('rebuild');
  db = schema.pool;
  kafka = createKafkaClient(BROKERS, 'test-rebuild', silent);
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true });
  const events = projected(HISTORY);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = HISTORY.map((outcome) => {
    const { key, value, headers } = encodeOutcome(outcome);
    return { key, value, headers: { ...headers } };
  });
  messages.splice(3, 0, { key: 'garbage', value: Buffer.from('not json'), headers: {} });
  await producer.send({ topic: TOPIC, acks: -1, messages });
  await producer.disconnect();
  published = messages.length;

  // The incremental build: the same events, in batches, in publish order.
  for (const model of READ_MODELS) await applyInBatches(db, model, events, [3, 1, 5]);
}, 60_000);

afterAll(async () => {
  await admin?.deleteTopics({ topics: [TOPIC] }).catch(() => undefined);
  await admin?.disconnect();
  await schema?.drop();
});

describe.each(READ_MODELS.map((model) => [model.name, model] as const))('%s', (name, model) => {
  it('rebuilt from Kafka equals the incremental build, table for table', async () => {
    const before = await digests(db, model);
    expect(before.some((line) => !line.includes(':0:'))).toBe(true);
    const report = await rebuildProjection(name, { from: 'kafka', db, kafka, topic: TOPIC });
    expect(report.undecodable).toBe(1);
    expect(report.events).toBe(published - 1);
    expect(await digests(db, model)).toEqual(before);
    expect(report.digests.map((d) => `${d.table}:${d.rows}:${d.md5}`)).toEqual(before);
  }, 60_000);
});

it('refuses an unknown projection and bad arguments', async () => {
  await expect(
    rebuildProjection('nope', { from: 'kafka', db, kafka, topic: TOPIC }),
  ).rejects.toThrow(RebuildError);
  expect(parseRebuildArgs(['statement', '--from', 'events'])).toEqual({
    name: 'statement',
    from: 'events',
  });
  expect(parseRebuildArgs(['statement'])).toEqual({ name: 'statement', from: 'kafka' });
  expect(parseRebuildArgs(['statement', '--from=disk'])).toBeNull();
  expect(parseRebuildArgs([])).toBeNull();
});
