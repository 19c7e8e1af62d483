/**
 * Shared by the projection runner and journal store tests: a PostgreSQL schema of the test file's
 * own with migrations 0001–0002 only (other engineers' later migrations cannot break these
 * tests), uniquely named Kafka topics deleted afterwards, outcome builders and a poller.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Admin, type Kafka, Partitioners, type Producer } from 'kafkajs';
import pino from 'pino';
import { createKafkaClient, ensureTopic } from '../../../events/kafka';
import { encodeOutcome } from '../../../events/schema';
import type { JournalOutcome, OutcomeKind } from '../../../events/journal-model';
import { CreateTransferStatus, TransferFlags } from '../../../ledger/port';
import { migrateUp } from '../../../core/postgres/migrate';
import { MIGRATIONS_DIR } from '../../../core/postgres/migration-files';
import { sampleOutcome } from '../events/fixtures';
import { config, createTestSchema, type TestSchema } from '../store/schema';

export const silent = pino({ level: 'silent' });
export const BROKERS = config.KAFKA_BROKERS;

/** A copy of the migrations the journal store and its reads depend on: 0001, 0002, 0005. */
export function ownMigrationsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-proj-migrations-'));
  for (const file of fs.readdirSync(MIGRATIONS_DIR)) {
    if (/^000[125]_.*\.sql$/.test(file)) {
      fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
    }
  }
  return dir;
}

export async function migratedSchema(prefix: string): Promise<TestSchema> {
  const schema = await createTestSchema(prefix);
  await migrateUp(schema.pool, { dir: ownMigrationsDir() });
  return schema;
}

/** A record as given: a change record's value is TigerBeetle's bytes, a dead letter has no key. */
export interface RawMessage {
  key: string | null;
  value: Buffer | string | null;
  headers?: Record<string, string>;
}

export interface KafkaFixture {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  topic(what: string, partitions?: number): Promise<string>;
  group(what: string): string;
  publish(topic: string, outcomes: JournalOutcome[]): Promise<void>;
  publishRaw(topic: string, messages: RawMessage[]): Promise<void>;
  highWatermarks(topic: string): Promise<Map<number, bigint>>;
  close(): Promise<void>;
}

const RUN = `${process.pid}-${Date.now()}`;

export async function kafkaFixture(): Promise<KafkaFixture> {
  const kafka = createKafkaClient(BROKERS, 'test-projections', silent);
  const admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Kafka at ${BROKERS} is not answering (bash infra/stack.sh up): ${error}`);
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const topics: string[] = [];
  const groups: string[] = [];
  let counter = 0;
  const sendChunked = async (topic: string, messages: RawMessage[]) => {
    for (let i = 0; i < messages.length; i += 1_000) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1_000) });
    }
  };
  return {
    kafka,
    admin,
    producer,
    async topic(what, partitions = 3) {
      const topic = `test.projections.${what}.${RUN}.${counter++}`;
      topics.push(topic, `${topic}.dlq`);
      await ensureTopic(admin, topic, partitions, 1);
      return topic;
    },
    group(what) {
      const group = `test-projections-${what}-${RUN}-${counter++}`;
      groups.push(group);
      return group;
    },
    async publish(topic, outcomes) {
      await sendChunked(
        topic,
        outcomes.map((outcome) => {
          const message = encodeOutcome(outcome);
          return { key: message.key, value: message.value, headers: { ...message.headers } };
        }),
      );
    },
    async publishRaw(topic, messages) {
      await sendChunked(topic, messages);
    },
    async highWatermarks(topic) {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    },
    async close() {
      await producer.disconnect();
      const existing = new Set(await admin.listTopics());
      const ours = topics.filter((topic) => existing.has(topic));
      if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 10_000 });
      await admin.deleteGroups(groups).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** Polls `check` every 50 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The id of the (single) transfer of `sampleOutcome(_, sequence)`. */
export function sampleTransferId(sequence: number): bigint {
  return (1n << 120n) + BigInt(sequence) * 4n + 1n;
}

/**
 * An outcome of `kind` for journal `journalId`. Sequences give distinct transfer ids and
 * TigerBeetle timestamps. A hold's post/void (`pendingOf` = the held outcome's sequence) names the
 * held transfer and, like the service, carries no journal and no line numbers.
 */
export function outcome(
  journalId: string,
  sequence: number,
  kind: OutcomeKind = 'posted',
  options: { pendingOf?: number; rejectedStep?: 'post' | 'void' } = {},
): JournalOutcome {
  if (kind === 'hold_posted' || kind === 'hold_voided' || options.rejectedStep !== undefined) {
    const step = options.rejectedStep ?? (kind === 'hold_posted' ? 'post' : 'void');
    const result = sampleOutcome(journalId, sequence, kind === 'rejected' ? 'posted' : kind, true);
    result.kind = kind;
    const transfer = result.transfers[0]!;
    transfer.transfer.flags =
      step === 'post' ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer;
    transfer.transfer.pending_id = sampleTransferId(options.pendingOf ?? 0);
    if (kind === 'rejected') transfer.status = CreateTransferStatus.pending_transfer_expired;
    return result;
  }
  return sampleOutcome(journalId, sequence, kind);
}
