/**
 * Outcome publisher benchmark against the real broker: events/s and publish latency (p50/p99,
 * from publish() to its acknowledgement with acks=all) for a matrix of batch limits, compression
 * and load shapes. Each run uses its own fresh topic, deleted afterwards.
 *
 *   npx tsx load/bench/outcome-events.ts                      the default matrix
 *   npx tsx load/bench/outcome-events.ts --rate 10000 --seconds 10 --batch 2048 --compression gzip
 *   npx tsx load/bench/outcome-events.ts --concurrency 512 --events 100000
 *
 * Closed loop (`--concurrency C`): C callers, each publishing its next outcome when the last one
 * is acknowledged, like C waiting HTTP requests. Open loop (`--rate R`): R outcomes a second
 * whatever the latency, the honest way to read a latency at a target rate.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { type Config, loadConfig } from '../../core/config';
import { createLogger } from '../../core/logger';
import { createKafkaClient } from '../../events/kafka';
import { OutcomePublisher } from '../../events/publisher';
import { syntheticOutcome } from '../../events/synthetic';

const SYNTHETIC = { run: '01JBENCH', accounts: 10_000 };

interface Run {
  label: string;
  batch: number;
  compression: 'none' | 'gzip';
  concurrency?: number;
  rate?: number;
  events?: number;
  seconds?: number;
}

interface Result {
  events: number;
  seconds: number;
  latenciesMs: number[];
  batches: number;
  cpuPercent: number;
  failures: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function closedLoop(pub: OutcomePublisher, concurrency: number, events: number) {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const caller = async (): Promise<void> => {
    while (next < events) {
      const n = next++;
      const started = performance.now();
      await pub.publish(syntheticOutcome(n, SYNTHETIC)).catch(() => (failures += 1));
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return { latencies, failures };
}

async function openLoop(pub: OutcomePublisher, rate: number, seconds: number) {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let failures = 0;
  let sent = 0;
  const started = performance.now();
  const total = rate * seconds;
  while (sent < total) {
    // Catch up to where the clock says we should be, then yield a millisecond.
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent++) {
      const at = performance.now();
      pending.push(
        pub.publish(syntheticOutcome(sent, SYNTHETIC)).then(
          () => void latencies.push(performance.now() - at),
          () => void (failures += 1),
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  return { latencies, failures };
}

async function measure(run: Run, config: Config, topic: string): Promise<Result> {
  const logger = createLogger('warn');
  const pub = await OutcomePublisher.connect({
    brokers: config.KAFKA_BROKERS,
    clientId: 'outcome-bench',
    topic,
    partitions: 6,
    replicationFactor: 1,
    logger,
    compression: run.compression,
    limits: {
      lingerMs: config.KAFKA_LINGER_MS,
      batchEventsMax: run.batch,
      queueEventsMax: 1_000_000,
    },
  });
  await pub.publish(syntheticOutcome(-1, SYNTHETIC)); // metadata and producer id, outside the measurement
  const before = pub.stats().batchesSent;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { latencies, failures } =
    run.rate !== undefined
      ? await openLoop(pub, run.rate, run.seconds ?? 10)
      : await closedLoop(pub, run.concurrency ?? 256, run.events ?? 50_000);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const batches = pub.stats().batchesSent - before;
  await pub.close();
  return {
    events: latencies.length,
    seconds,
    latenciesMs: latencies.sort((a, b) => a - b),
    batches,
    cpuPercent: ((used.user + used.system) / 1e6 / seconds) * 100,
    failures,
  };
}

const DEFAULT_MATRIX: Run[] = [
  { label: 'closed c=1', batch: 2048, compression: 'none', concurrency: 1, events: 2_000 },
  { label: 'closed c=64', batch: 2048, compression: 'none', concurrency: 64, events: 40_000 },
  { label: 'closed c=512', batch: 2048, compression: 'none', concurrency: 512, events: 60_000 },
  { label: 'closed c=4096', batch: 128, compression: 'none', concurrency: 4096, events: 60_000 },
  { label: 'closed c=4096', batch: 512, compression: 'none', concurrency: 4096, events: 60_000 },
  { label: 'closed c=4096', batch: 2048, compression: 'none', concurrency: 4096, events: 80_000 },
  { label: 'closed c=4096', batch: 2048, compression: 'gzip', concurrency: 4096, events: 80_000 },
  { label: 'closed c=4096', batch: 8192, compression: 'none', concurrency: 4096, events: 80_000 },
  { label: 'open 10k/s', batch: 2048, compression: 'none', rate: 10_000, seconds: 10 },
  { label: 'open 10k/s', batch: 2048, compression: 'gzip', rate: 10_000, seconds: 10 },
];

function runsFromArgs(): Run[] {
  const { values } = parseArgs({
    options: {
      batch: { type: 'string' },
      compression: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      events: { type: 'string' },
      seconds: { type: 'string' },
    },
  });
  if (Object.keys(values).length === 0) return DEFAULT_MATRIX;
  const num = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const rate = num(values.rate);
  return [
    {
      label: rate !== undefined ? `open ${rate}/s` : `closed c=${values.concurrency ?? 256}`,
      batch: num(values.batch) ?? 2048,
      compression: values.compression === 'gzip' ? 'gzip' : 'none',
      concurrency: num(values.concurrency),
      rate,
      events: num(values.events),
      seconds: num(values.seconds),
    },
  ];
}

async function main(): Promise<void> {
  const config = loadConfig();
  const admin = createKafkaClient(config.KAFKA_BROKERS, 'outcome-bench', createLogger('warn'));
  const topics: string[] = [];
  console.log(
    'load            batch  compr   events/s    p50 ms    p99 ms  ev/batch  cpu%  cpu µs/ev  fail',
  );
  try {
    for (const [index, run] of runsFromArgs().entries()) {
      const topic = `bench.outcomes.${process.pid}.${Date.now()}.${index}`;
      topics.push(topic);
      const r = await measure(run, config, topic);
      const row = [
        run.label.padEnd(14),
        String(run.batch).padStart(6),
        run.compression.padStart(6),
        (r.events / r.seconds).toFixed(0).padStart(10),
        percentile(r.latenciesMs, 50).toFixed(1).padStart(9),
        percentile(r.latenciesMs, 99).toFixed(1).padStart(9),
        (r.events / Math.max(1, r.batches)).toFixed(0).padStart(9),
        r.cpuPercent.toFixed(0).padStart(5),
        ((r.cpuPercent * r.seconds * 1e4) / Math.max(1, r.events)).toFixed(1).padStart(10),
        String(r.failures).padStart(5),
      ];
      console.log(row.join(' '));
    }
  } finally {
    const a = admin.admin();
    await a.connect();
    await a.deleteTopics({ topics, timeout: 10_000 }).catch((error: unknown) => {
      console.error(`could not delete bench topics ${topics.join(', ')}: ${error}`);
    });
    await a.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
