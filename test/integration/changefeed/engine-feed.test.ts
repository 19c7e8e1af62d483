/**
 * Proves the engine's CDC job (changefeed/engine-feed.ts) behaves as `tigerbeetle amqp` does, on
 * the stack's RabbitMQ with run-unique exchanges and engine ids (removed afterwards): it publishes
 * every event once and in order with its progress recorded; a restart resumes after the last
 * confirmed timestamp with nothing lost or repeated; the timestamp override replays; and it ends
 * with a typed error, recording no progress past what RabbitMQ confirmed, when the exchange is
 * missing, when a message comes back unroutable, when another job holds the lock, when the
 * progress message is unreadable, and when its connection is cut under it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { decodeChange } from '../../../events/change';
import {
  EngineFeedError,
  type EngineFeed,
  feedQueues,
  startEngineFeed,
} from '../../../changefeed/engine-feed';
import { FEED_RELEASE } from '../../../changefeed/engine-feed-queues';
import { EmbeddedLedger } from '../../../ledger/engine/ledger';
import { CHANGE_EVENTS_MAX } from '../../../ledger/engine/changes';
import { account, transfer } from '../../support/conformance/fixtures';
import { ExchangeTap } from '../../support/conformance/changes';
import { runName } from '../../support/changefeed/harness';
import { stackSettings } from '../../support/infra/settings';

const WAIT_MS = 20_000;

let dataDir: string;
let ledger: EmbeddedLedger;
let admin: ChannelModel;
let channel: Channel;
const exchanges: string[] = [];
const queues: string[] = [];
const connections: ChannelModel[] = [];
let runs = 0;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-feed-'));
  ledger = await EmbeddedLedger.open({ dataDir, fsync: false });
  admin = await amqp.connect(stackSettings.amqpUrl);
  channel = await admin.createChannel();
  channel.on('error', () => undefined);
});

afterAll(async () => {
  for (const c of connections) await c.close().catch(() => undefined);
  const cleanup = await admin.createChannel();
  for (const q of queues) await cleanup.deleteQueue(q).catch(() => undefined);
  for (const e of exchanges) await cleanup.deleteExchange(e).catch(() => undefined);
  await admin.close();
  await ledger.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh exchange (fanout) with a tap on it, and a fresh engine id. */
async function setting(
  bound = true,
): Promise<{ exchange: string; engineId: string; tap?: ExchangeTap }> {
  runs += 1;
  const exchange = runName('cdc', `engine-feed-${runs}`);
  const engineId = `test-${process.pid}-${Date.now()}-${runs}`;
  await channel.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
  exchanges.push(exchange);
  queues.push(feedQueues(engineId).progress);
  return bound
    ? { exchange, engineId, tap: await ExchangeTap.open(stackSettings.amqpUrl, exchange) }
    : { exchange, engineId };
}

async function connect(): Promise<ChannelModel> {
  const connection = await amqp.connect(stackSettings.amqpUrl);
  connection.on('error', () => undefined);
  connections.push(connection);
  return connection;
}

async function feed(
  exchange: string,
  engineId: string,
  timestampLast?: bigint,
): Promise<EngineFeed> {
  return startEngineFeed({
    source: ledger,
    connection: await connect(),
    engineId,
    exchange,
    idleIntervalMs: 10,
    ...(timestampLast === undefined ? {} : { timestampLast }),
  });
}

/** `count` single-phase transfers between two new accounts; their ids in order. */
async function transfers(count: number): Promise<bigint[]> {
  const [a, b] = [account(), account()];
  await ledger.createAccounts([a, b]);
  const batch = Array.from({ length: count }, () =>
    transfer({ debit_account_id: a.id, credit_account_id: b.id, amount: 1n }),
  );
  const results = await ledger.createTransfers(batch);
  expect(results.every((r) => r.status === 0xffff_ffff)).toBe(true);
  return batch.map((t) => t.id);
}

async function published(tap: ExchangeTap, count: number): Promise<bigint[]> {
  const deadline = Date.now() + WAIT_MS;
  while (tap.messages.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return tap.messages.map((m) => decodeChange(m.body).transfer.id);
}

async function progress(engineId: string): Promise<Record<string, unknown> | null> {
  const message = await channel.get(feedQueues(engineId).progress, { noAck: false });
  if (message === false) return null;
  channel.nack(message, false, true);
  return message.properties.headers as Record<string, unknown>;
}

async function rejection(promise: Promise<unknown>): Promise<EngineFeedError> {
  const error = await promise.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineFeedError);
  return error as EngineFeedError;
}

it('publishes every event once, in order, and resumes after a restart from its progress', async () => {
  const { exchange, engineId, tap } = await setting();
  const all = await ledger.changes(0n, CHANGE_EVENTS_MAX);
  const first = await feed(exchange, engineId);
  const ids = [...all.map((e) => e.transfer.id), ...(await transfers(30))];
  expect(await published(tap!, ids.length)).toEqual(ids);
  const last = (await ledger.changes(0n, CHANGE_EVENTS_MAX)).at(-1)!.timestamp;
  await first.stop();
  expect(first.timestampLast()).toBe(last);
  expect(await progress(engineId)).toEqual({ release: FEED_RELEASE, timestamp: String(last) });
  // Written while no job runs; a new job takes them from the recorded progress.
  const later = await transfers(20);
  const second = await feed(exchange, engineId);
  expect(await published(tap!, ids.length + later.length)).toEqual([...ids, ...later]);
  await second.stop();
  await tap!.close();
});

it('the timestamp override replays from there (--timestamp-last)', async () => {
  const { exchange, engineId, tap } = await setting();
  const all = await ledger.changes(0n, CHANGE_EVENTS_MAX);
  const from = all[all.length - 5]!.timestamp;
  const job = await feed(exchange, engineId, from);
  expect(await published(tap!, 4)).toEqual(all.slice(-4).map((e) => e.transfer.id));
  await job.stop();
  await tap!.close();
});

it('a second job for the same engine is refused while the first holds the lock', async () => {
  const { exchange, engineId, tap } = await setting();
  const first = await feed(exchange, engineId);
  expect((await rejection(feed(exchange, engineId))).code).toBe('locked');
  await first.stop();
  // The lock went with the first job.
  const again = await feed(exchange, engineId);
  await again.stop();
  await tap!.close();
});

it('a missing exchange ends it at start', async () => {
  const error = await rejection(feed(runName('cdc', 'missing'), `test-missing-${Date.now()}`));
  expect(error.code).toBe('exchange_not_found');
});

it('a message nobody can receive ends it, with no progress recorded', async () => {
  const { exchange, engineId } = await setting(false);
  const job = await feed(exchange, engineId);
  expect((await rejection(job.done)).code).toBe('unroutable');
  expect(job.timestampLast()).toBe(0n);
  expect(await progress(engineId)).toBeNull();
});

it('an unreadable progress message ends it at start', async () => {
  const { exchange, engineId, tap } = await setting();
  const queue = feedQueues(engineId).progress;
  await channel.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-overflow': 'drop-head',
      'x-max-length': 1,
      'x-max-length-bytes': 0,
      'x-single-active-consumer': true,
    },
  });
  channel.sendToQueue(queue, Buffer.alloc(0), { headers: { release: FEED_RELEASE, timestamp: 5 } });
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect((await rejection(feed(exchange, engineId))).code).toBe('progress_invalid');
  await tap!.close();
});

it('a connection cut under it ends it: its supervisor restarts it', async () => {
  const { exchange, engineId, tap } = await setting();
  const connection = await connect();
  const job = await startEngineFeed({
    source: ledger,
    connection,
    engineId,
    exchange,
    idleIntervalMs: 10,
  });
  await connection.close();
  expect((await rejection(job.done)).code).toBe('amqp_closed');
  // The exclusive lock died with the connection: a new job starts and catches up.
  const all = await ledger.changes(0n, CHANGE_EVENTS_MAX);
  const next = await feed(exchange, engineId);
  const ids = await published(tap!, all.length);
  expect(new Set(ids)).toEqual(new Set(all.map((e) => e.transfer.id)));
  await next.stop();
  await tap!.close();
});

it('a source that fails or answers out of order ends it, with nothing published', async () => {
  const { exchange, engineId, tap } = await setting();
  const all = await ledger.changes(0n, CHANGE_EVENTS_MAX);
  const failing = await startEngineFeed({
    source: { changes: () => Promise.reject(new Error('engine gone')) },
    connection: await connect(),
    engineId,
    exchange,
  });
  expect((await rejection(failing.done)).code).toBe('source_failed');
  const reversed = await startEngineFeed({
    source: { changes: async () => [all[1]!, all[0]!] },
    connection: await connect(),
    engineId: `${engineId}-2`,
    exchange,
  });
  queues.push(feedQueues(`${engineId}-2`).progress);
  expect((await rejection(reversed.done)).code).toBe('source_out_of_order');
  expect(tap!.messages).toEqual([]);
  await tap!.close();
});
