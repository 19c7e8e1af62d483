/**
 * Proves the relay is safe to kill at any moment: while events stream into RabbitMQ, a relay
 * process (`changefeed/main.ts`, the real entry point) is SIGKILLed mid-stream, holding
 * deliveries it had not acknowledged, and a second one takes over. Counting what reaches Kafka:
 * every event arrives (at least once; the duplicates are the killed relay's unacknowledged
 * window), each account's events, duplicates dropped, are still in order, RabbitMQ's queue ends
 * empty, and the survivor stops cleanly on SIGTERM (exit 0). Own exchange, queue and topics.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { changeKeys, decodeChange, type LedgerChange } from '../../../events/change';
import { declareTopology } from '../../../changefeed/topology';
import {
  type ReadRecord,
  readTopic,
  syntheticFeed,
  useFeedRun,
} from '../../support/changefeed/harness';
import { stackSettings } from '../../support/infra/settings';
import { nowNs } from '../../support/ledger';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EVENTS = 8_000;
const CHUNK = 200;
const ACCOUNTS = 40;
const children: ChildProcess[] = [];
const feedRun = useFeedRun('restart', {
  beforeCleanup: async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
  },
});

interface Relay {
  child: ChildProcess;
  metricsUrl: Promise<string>;
}

/** `tsx changefeed/main.ts` on this run's names; resolves its metrics URL from its log. */
function startRelay(): Relay {
  const { exchange, queue, topic } = feedRun();
  const child = spawn(process.execPath, ['--import', 'tsx', 'changefeed/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      AMQP_URL: stackSettings.amqpUrl,
      KAFKA_BROKERS: stackSettings.kafkaBrokers.join(','),
      AMQP_CDC_EXCHANGE: exchange,
      AMQP_CDC_QUEUE: queue,
      KAFKA_CHANGES_TOPIC: topic,
      RELAY_PREFETCH: '256',
      RELAY_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    },
  });
  children.push(child);
  const lines = readline.createInterface({ input: child.stdout! });
  const metricsUrl = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; metrics?: string };
      if (entry.msg === 'change relay started') resolve(entry.metrics!);
    });
  });
  return { child, metricsUrl };
}

async function scrape(relay: Relay): Promise<{ eventsOut: number; held: number }> {
  const text = await (await fetch(await relay.metricsUrl)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    eventsOut: value('ledger_relay_events_out_total'),
    held: value('ledger_relay_held_messages'),
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

beforeAll(async () => {
  await declareTopology(feedRun().amqp.channel, feedRun().topology);
});

/** Publishes the feed in chunks, pausing between them, so relays meet it mid-stream. */
async function stream(feed: LedgerChange[]): Promise<void> {
  const { amqp: amqpHarness, exchange } = feedRun();
  for (let i = 0; i < feed.length; i += CHUNK) {
    await amqpHarness.publishChanges(exchange, feed.slice(i, i + CHUNK));
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it('loses nothing when the relay is killed mid-stream and another takes over', async () => {
  const { exchange, queue, topic, amqp: amqpHarness, kafka } = feedRun();
  const base = nowNs();
  const feed = syntheticFeed(EVENTS, ACCOUNTS, base, base);
  // A backlog, so the first relay is busy (holding unacknowledged deliveries) when it is killed.
  await amqpHarness.publishChanges(exchange, feed.slice(0, EVENTS / 2));
  const first = startRelay();
  let atKill = { eventsOut: 0, held: 0 };
  await until(
    'the first relay to be mid-stream',
    async () => {
      atKill = await scrape(first);
      return atKill.eventsOut >= 1_000 && atKill.held > 0;
    },
    30_000,
  );
  first.child.kill('SIGKILL');
  await exited(first.child);
  expect(atKill.eventsOut).toBeLessThan(EVENTS / 2);
  const publishing = stream(feed.slice(EVENTS / 2));
  const second = startRelay();
  await publishing;

  // Done when both copies of every event are in: (key, timestamp) pairs, duplicates aside.
  const copies = new Set<string>();
  const records = await readTopic(
    kafka,
    topic,
    (r) => {
      const last = r.at(-1)!;
      copies.add(`${last.key}/${decodeChange(last.value).timestamp}`);
      return copies.size >= 2 * EVENTS;
    },
    60_000,
  );
  expect(copies.size).toBe(2 * EVENTS);
  expect(new Set(records.map((r) => decodeChange(r.value).timestamp)).size).toBe(EVENTS);
  expect(records.length).toBeGreaterThanOrEqual(2 * EVENTS);
  expectOrderPerAccount(records, feed);
  await until('an empty queue', async () => (await amqpHarness.queueDepth(queue)) === 0, 10_000);

  second.child.kill('SIGTERM');
  expect(await exited(second.child)).toBe(0);
  console.log(
    `relay killed after ${atKill.eventsOut} events holding ${atKill.held} deliveries; ` +
      `${records.length - 2 * EVENTS} duplicate records of ${2 * EVENTS}`,
  );
}, 120_000);

/** Per key: the first copy of each event, in offset order, is the feed's order for that account. */
function expectOrderPerAccount(records: ReadRecord[], feed: LedgerChange[]): void {
  const firsts = new Map<string, bigint[]>();
  const seen = new Set<string>();
  for (const record of records) {
    const timestamp = decodeChange(record.value).timestamp;
    const id = `${record.key}/${timestamp}`;
    if (seen.has(id)) continue;
    seen.add(id);
    firsts.set(record.key!, [...(firsts.get(record.key!) ?? []), timestamp]);
  }
  for (const [key, timestamps] of firsts) {
    const expected = feed
      .filter((c) => Object.values(changeKeys(c)).includes(key))
      .map((c) => c.timestamp);
    expect(timestamps).toEqual(expected);
  }
}
