/**
 * kafkajs against @confluentinc/kafka-javascript (librdkafka), in one run against the local broker
 * (issue 17): the same journal outcome events (events/synthetic.ts, encoded by events/schema.ts),
 * acks=all and idempotent, each measurement on a fresh 6-partition topic, deleted at the end.
 *
 *   npm run bench:kafka-clients                  both clients, the whole matrix, ~1.5 minutes
 *   npm run bench:kafka-clients -- --rounds 3 --closed-seconds 8 --linger-ms 1
 *
 * Loads: (a) closed loop, the bulk path: `--callers` callers each sending `--batch` events per
 * send and sending again when acknowledged (kafkajs queues overlapping sends behind its one
 * request in flight; librdkafka pipelines them); (b) open loop at `--rate` events/s whatever the
 * latency, coalescing what arrived while sends are in flight (at most `--batch-open` events a
 * send, and as many sends in flight as the client allows: see kafka-clients-adapters.ts).
 * Payloads: one Kafka record per event (key, value and the three v1 headers, as the publisher
 * sends them), or envelopes: a send's events grouped by partition (Java's murmur2 of the key)
 * into one record per partition, `{"schema":"ledger-bridge.journal-outcomes","version":2,
 * "events":[...]}`, built by joining the already encoded values.
 *
 * Rounds alternate the clients (A B A B, per load and payload) so the machine's noise hits both.
 * Latency is publish to acknowledgement (closed loop: per send; open loop: per event, from when it
 * was due). CPU is the whole process's (process.cpuUsage: librdkafka's threads included) over the
 * measurement, per event. Events are encoded once before measuring (the cost is printed
 * separately), so CPU per event is the client's plus the benchmark's small, equal share.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { type ICustomPartitioner, Partitioners } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createLogger, type Logger } from '../../core/logger';
import { createKafkaClient, ensureTopic } from '../../events/kafka';
import { encodeOutcome, type OutcomeMessage } from '../../events/schema';
import { syntheticOutcome } from '../../events/synthetic';
import {
  type BenchClient,
  type BenchRecord,
  type ClientKind,
  confluentKind,
  kafkajsKind,
  loadConfluent,
} from './kafka-clients-adapters';
import { percentile, printReport, type Scenario, type Sample } from './kafka-clients-report';

const PARTITIONS = 6;
const ENVELOPE_PREFIX = Buffer.from(
  '{"schema":"ledger-bridge.journal-outcomes","version":2,"events":[',
);
const ENVELOPE_SUFFIX = Buffer.from(']}');
const COMMA = Buffer.from(',');
const ENVELOPE_HEADERS = Object.freeze({
  schema: 'ledger-bridge.journal-outcomes',
  'schema-version': '2',
  'content-type': 'application/json',
});

const SCENARIOS: Scenario[] = [
  { load: 'closed', envelopes: false },
  { load: 'closed', envelopes: true },
  { load: 'open', envelopes: false },
  { load: 'open', envelopes: true },
];

function scenarioName(scenario: Scenario): string {
  return `${scenario.load}-${scenario.envelopes ? 'envelopes' : 'events'}`;
}

interface Settings {
  rounds: number;
  closedSeconds: number;
  openSeconds: number;
  rate: number;
  batch: number;
  batchOpen: number;
  callers: number;
  lingerMs: number;
  poolEvents: number;
  /** Which clients and scenarios to run (all by default), to look at one alone. */
  clients: string[];
  scenarios: Scenario[];
}

function settingsFromArgs(): Settings {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      'closed-seconds': { type: 'string', default: '5' },
      'open-seconds': { type: 'string', default: '5' },
      rate: { type: 'string', default: '10000' },
      batch: { type: 'string', default: '1000' },
      'batch-open': { type: 'string', default: '2048' },
      callers: { type: 'string', default: '4' },
      'linger-ms': { type: 'string', default: '5' },
      pool: { type: 'string', default: '24000' },
      clients: { type: 'string', default: 'kafkajs,confluent' },
      scenarios: { type: 'string', default: SCENARIOS.map(scenarioName).join(',') },
    },
  });
  const num = (name: keyof typeof values): number => {
    const value = Number(values[name]);
    if (!(Number.isFinite(value) && value >= 0)) throw new Error(`--${name}: ${values[name]}`);
    return value;
  };
  return {
    rounds: num('rounds'),
    closedSeconds: num('closed-seconds'),
    openSeconds: num('open-seconds'),
    rate: num('rate'),
    batch: num('batch'),
    batchOpen: num('batch-open'),
    callers: num('callers'),
    lingerMs: num('linger-ms'),
    poolEvents: num('pool'),
    clients: values.clients.split(','),
    scenarios: values.scenarios.split(',').map((name) => {
      const scenario = SCENARIOS.find((candidate) => scenarioName(candidate) === name);
      if (scenario === undefined) throw new Error(`--scenarios: no ${name}`);
      return scenario;
    }),
  };
}

/** The encoded events, each with its partition; and what encoding them cost, µs per event. */
interface Pool {
  messages: OutcomeMessage[];
  partitions: number[];
  encodeCpuUsPerEvent: number;
}

function encodePool(size: number): Pool {
  const synthetic = { run: `01JKCLIENTS${process.pid}`, accounts: 10_000 };
  const cpu = process.cpuUsage();
  const messages = Array.from({ length: size }, (_, i) =>
    encodeOutcome(syntheticOutcome(i, synthetic)),
  );
  const used = process.cpuUsage(cpu);
  const partitioner: ReturnType<ICustomPartitioner> = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [],
    isr: [],
  }));
  const partitions = messages.map((message) =>
    partitioner({
      topic: 'any',
      partitionMetadata,
      message: { key: message.key, value: message.value },
    }),
  );
  return { messages, partitions, encodeCpuUsPerEvent: (used.user + used.system) / size };
}

/** A send's records: one per event, or one envelope per partition. */
function recordsOf(pool: Pool, indexes: number[], envelopes: boolean): BenchRecord[] {
  if (!envelopes) return indexes.map((i) => pool.messages[i]!);
  const parts: Buffer[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const i of indexes) {
    const values = parts[pool.partitions[i]!]!;
    if (values.length > 0) values.push(COMMA);
    values.push(pool.messages[i]!.value);
  }
  const records: BenchRecord[] = [];
  parts.forEach((values, partition) => {
    if (values.length === 0) return;
    const value = Buffer.concat([ENVELOPE_PREFIX, ...values, ENVELOPE_SUFFIX]);
    records.push({ key: null, value, headers: ENVELOPE_HEADERS, partition });
  });
  return records;
}

/** Hands out pool indexes round robin. */
function cursor(pool: Pool): (count: number) => number[] {
  let next = 0;
  return (count) =>
    Array.from({ length: count }, () => {
      const i = next;
      next = (next + 1) % pool.messages.length;
      return i;
    });
}

interface Counted {
  events: number;
  records: number;
  latenciesMs: number[];
}

async function closedLoop(client: BenchClient, pool: Pool, scenario: Scenario, s: Settings) {
  const take = cursor(pool);
  const counted: Counted = { events: 0, records: 0, latenciesMs: [] };
  const deadline = performance.now() + s.closedSeconds * 1000;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const records = recordsOf(pool, take(s.batch), scenario.envelopes);
      const started = performance.now();
      await client.send(records);
      counted.latenciesMs.push(performance.now() - started);
      counted.events += s.batch;
      counted.records += records.length;
    }
  };
  await Promise.all(Array.from({ length: s.callers }, caller));
  return counted;
}

async function openLoop(
  kind: ClientKind,
  client: BenchClient,
  pool: Pool,
  scenario: Scenario,
  s: Settings,
) {
  const take = cursor(pool);
  const counted: Counted = { events: 0, records: 0, latenciesMs: [] };
  const queue: { index: number; dueMs: number }[] = [];
  const total = Math.round(s.rate * s.openSeconds);
  const sends = new Set<Promise<void>>();
  let failure: unknown = null;
  const flush = (): void => {
    while (queue.length > 0 && sends.size < kind.sendsInFlightMax && failure === null) {
      const batch = queue.splice(0, s.batchOpen);
      const records = recordsOf(
        pool,
        batch.map((item) => item.index),
        scenario.envelopes,
      );
      const send: Promise<void> = client.send(records).then(
        () => {
          const now = performance.now();
          for (const item of batch) counted.latenciesMs.push(now - item.dueMs);
          counted.events += batch.length;
          counted.records += records.length;
        },
        (error: unknown) => void (failure = error),
      );
      sends.add(send);
      void send.finally(() => {
        sends.delete(send);
        flush();
      });
    }
  };
  const started = performance.now();
  for (let arrived = 0; arrived < total && failure === null;) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * s.rate));
    for (const index of take(due - arrived)) {
      queue.push({ index, dueMs: started + (arrived++ * 1000) / s.rate });
    }
    flush();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  while ((queue.length > 0 || sends.size > 0) && failure === null) {
    flush();
    await Promise.race(sends);
  }
  if (failure !== null) throw failure;
  return counted;
}

async function measure(
  kind: ClientKind,
  topic: string,
  pool: Pool,
  scenario: Scenario,
  s: Settings,
) {
  const client = await kind.open(topic);
  try {
    // Metadata, producer id and connections, outside the measurement.
    await client.send(recordsOf(pool, [0, 1, 2, 3, 4, 5, 6, 7], scenario.envelopes));
    const cpu = process.cpuUsage();
    const started = performance.now();
    const counted =
      scenario.load === 'closed'
        ? await closedLoop(client, pool, scenario, s)
        : await openLoop(kind, client, pool, scenario, s);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    return { ...counted, seconds, cpuUs: used.user + used.system } satisfies Sample;
  } finally {
    await client.close();
  }
}

/** The clients asked for; the confluent one only when it can be loaded (else it says why). */
function clientKinds(settings: Settings, brokers: string[], logger: Logger): ClientKind[] {
  const kinds: ClientKind[] = [];
  if (settings.clients.includes('kafkajs')) kinds.push(kafkajsKind(brokers, logger));
  if (!settings.clients.includes('confluent')) return kinds;
  const confluent = loadConfluent();
  if (confluent.ok) {
    kinds.push(confluentKind(confluent, brokers, settings.lingerMs));
  } else {
    console.log(
      `** @confluentinc/kafka-javascript ${confluent.reason}. ` +
        `Measuring ${kinds.length > 0 ? 'kafkajs alone' : 'nothing'}.`,
    );
  }
  return kinds;
}

async function main(): Promise<void> {
  const settings = settingsFromArgs();
  const config = loadConfig();
  const logger = createLogger('warn');
  const kinds = clientKinds(settings, config.KAFKA_BROKERS, logger);
  const pool = encodePool(settings.poolEvents);
  const admin = createKafkaClient(config.KAFKA_BROKERS, 'kafka-clients-bench', logger).admin();
  await admin.connect();
  const topics: string[] = [];
  const samples = new Map<string, Sample[]>();
  const loadBefore = os.loadavg()[0]!;
  try {
    for (let round = 0; round < settings.rounds; round++) {
      for (const scenario of settings.scenarios) {
        for (const kind of kinds) {
          const topic = `bench.kafka-clients.${process.pid}.${topics.length}`;
          topics.push(topic);
          await ensureTopic(admin, topic, PARTITIONS, 1);
          const sample = await measure(kind, topic, pool, scenario, settings);
          const key = `${scenario.load}|${scenario.envelopes}|${kind.name}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          console.error(
            `round ${round + 1} ${scenario.load} ${scenario.envelopes ? 'envelopes' : 'events'} ` +
              `${kind.name}: ${(sample.events / sample.seconds).toFixed(0)} events/s, ` +
              `p99 ${percentile(sample.latenciesMs, 99).toFixed(1)} ms`,
          );
        }
      }
    }
  } finally {
    await admin.deleteTopics({ topics, timeout: 10_000 }).catch((error: unknown) => {
      console.error(`could not delete bench topics ${topics.join(', ')}: ${error}`);
    });
    await admin.disconnect();
  }
  printReport({
    kinds,
    scenarios: settings.scenarios,
    samples,
    settings,
    encodeCpuUsPerEvent: pool.encodeCpuUsPerEvent,
    eventBytes: pool.messages[0]!.value.length,
    loadAverage: [loadBefore, os.loadavg()[0]!],
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
