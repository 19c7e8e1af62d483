/**
 * The markdown report of load/bench/kafka-clients.ts: one row per load, payload and client (its
 * rounds pooled: events and CPU summed, latencies merged), then the ratios confluent ÷ kafkajs.
 */
import type { ClientKind } from './kafka-clients-adapters';

export interface Scenario {
  load: 'closed' | 'open';
  /** One record per partition per send, holding that partition's events, instead of one each. */
  envelopes: boolean;
}

export interface Sample {
  events: number;
  records: number;
  seconds: number;
  /** Process CPU over the measurement, user + system, µs. */
  cpuUs: number;
  latenciesMs: number[];
}

interface Pooled {
  eventsPerSecond: number;
  recordsPerSecond: number;
  perRound: number[];
  p50Ms: number;
  p99Ms: number;
  cpuUsPerEvent: number;
}

export interface ReportInput {
  kinds: ClientKind[];
  scenarios: Scenario[];
  samples: Map<string, Sample[]>;
  settings: {
    rounds: number;
    closedSeconds: number;
    openSeconds: number;
    rate: number;
    batch: number;
    batchOpen: number;
    callers: number;
  };
  encodeCpuUsPerEvent: number;
  eventBytes: number;
  loadAverage: [number, number];
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function pool(samples: Sample[]): Pooled {
  const sum = (pick: (sample: Sample) => number) => samples.reduce((t, s) => t + pick(s), 0);
  const seconds = sum((s) => s.seconds);
  const events = sum((s) => s.events);
  const latencies = samples.flatMap((s) => s.latenciesMs);
  return {
    eventsPerSecond: events / seconds,
    recordsPerSecond: sum((s) => s.records) / seconds,
    perRound: samples.map((s) => s.events / s.seconds),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerEvent: sum((s) => s.cpuUs) / Math.max(1, events),
  };
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => value.toFixed(1);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

function loadLabel(scenario: Scenario, input: ReportInput): string {
  const s = input.settings;
  return scenario.load === 'closed'
    ? `closed, ${s.callers} callers × ${s.batch}/send`
    : `open, ${int(s.rate)}/s`;
}

export function printReport(input: ReportInput): void {
  const s = input.settings;
  const lines = [
    `### Kafka clients, ${new Date().toISOString()}`,
    '',
    ...input.kinds.map((kind) => `- ${kind.name}: ${kind.detail}`),
    `- closed loop ${s.closedSeconds} s, open loop ${s.openSeconds} s (≤ ${s.batchOpen} ` +
      `events/send), ${s.rounds} rounds alternating the clients; fresh 6-partition topic each`,
    `- events ${input.eventBytes} bytes; encoding (before measuring, not in the CPU column) ` +
      `${input.encodeCpuUsPerEvent.toFixed(1)} µs/event; load average ` +
      `${input.loadAverage[0].toFixed(1)} before, ${input.loadAverage[1].toFixed(1)} after`,
    '',
    '| load | payload | client | events/s | records/s | events/s by round | p50 ms | p99 ms ' +
      '| CPU µs/event |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const pooled = new Map<string, Pooled>();
  for (const scenario of input.scenarios) {
    for (const kind of input.kinds) {
      const key = `${scenario.load}|${scenario.envelopes}|${kind.name}`;
      const samples = input.samples.get(key);
      if (samples === undefined) continue;
      const p = pool(samples);
      pooled.set(key, p);
      lines.push(
        `| ${loadLabel(scenario, input)} | ${scenario.envelopes ? 'envelopes' : 'events'} | ` +
          `${kind.name} | ${int(p.eventsPerSecond)} | ${int(p.recordsPerSecond)} | ` +
          `${p.perRound.map(int).join(' / ')} | ${ms(p.p50Ms)} | ${ms(p.p99Ms)} | ` +
          `${p.cpuUsPerEvent.toFixed(1)} |`,
      );
    }
  }
  lines.push(...ratioLines(input, pooled));
  console.log(lines.join('\n'));
}

function ratioLines(input: ReportInput, pooled: Map<string, Pooled>): string[] {
  if (input.kinds.length < 2) return [];
  const [a, b] = [input.kinds[0]!.name, input.kinds[1]!.name];
  const lines = [
    '',
    `| load | payload | events/s ${b} ÷ ${a} | p50 ${b} ÷ ${a} | p99 ${b} ÷ ${a} ` +
      `| CPU/event ${b} ÷ ${a} |`,
    '|---|---|---|---|---|---|',
  ];
  for (const scenario of input.scenarios) {
    const x = pooled.get(`${scenario.load}|${scenario.envelopes}|${a}`);
    const y = pooled.get(`${scenario.load}|${scenario.envelopes}|${b}`);
    if (x === undefined || y === undefined) continue;
    lines.push(
      `| ${loadLabel(scenario, input)} | ${scenario.envelopes ? 'envelopes' : 'events'} | ` +
        `${ratio(y.eventsPerSecond, x.eventsPerSecond)} | ${ratio(y.p50Ms, x.p50Ms)} | ` +
        `${ratio(y.p99Ms, x.p99Ms)} | ${ratio(y.cpuUsPerEvent, x.cpuUsPerEvent)} |`,
    );
  }
  return lines;
}
