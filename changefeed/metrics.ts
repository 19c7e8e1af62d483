/**
 * The relay's Prometheus metrics, on a listener of its own (RELAY_METRICS_PORT): counters follow
 * the relay's totals at each scrape; send latency and end-to-end lag come from its `onBatch`
 * hook; the queue depth from a poll of RabbitMQ (passive queue declare). Names are what
 * infra/prometheus/alerts.yml and the Grafana dashboard query.
 *
 * End-to-end lag is Kafka's acknowledgement time minus the event's TigerBeetle timestamp: the
 * whole path ledger → tigerbeetle amqp → RabbitMQ → relay → Kafka, read on two clocks (the
 * cluster's and this host's), so it is exact to within their skew.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import type { BatchReport, RelayStats } from './relay';

export const RELAY_METRIC_PREFIX = 'ledger_relay_';
/** Send latency buckets (s): 1 ms … 30 s. */
const SEND_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
/** Lag buckets (s): 5 ms … 10 min (a relay back from an outage drains an old backlog). */
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

export interface RelayMetricsSources {
  relay: { stats(): RelayStats };
  /** The last polled depth of the relay's queue; null while unknown. */
  queueDepth(): number | null;
  /** True while a consumer is registered on the change queue. */
  consuming(): boolean;
}

export interface RelayMetrics {
  registry: client.Registry;
  onBatch(report: BatchReport): void;
}

export function createRelayMetrics(
  sources: RelayMetricsSources,
  options: { defaultMetrics?: boolean } = {},
): RelayMetrics {
  const registry = new client.Registry();
  if (options.defaultMetrics ?? true) client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const p = RELAY_METRIC_PREFIX;
  const follow = (name: string, help: string, pick: (s: RelayStats) => number, labels = {}) => {
    let last = 0;
    return new client.Counter({
      name: `${p}${name}`,
      help,
      labelNames: Object.keys(labels),
      registers,
      collect() {
        const now = pick(sources.relay.stats());
        if (now > last) this.inc(labels, now - last);
        last = now;
      },
    });
  };
  follow('messages_in_total', 'AMQP messages received from the change queue', (s) => s.messagesIn);
  follow('events_out_total', 'Change events acknowledged by Kafka', (s) => s.eventsOut);
  follow(
    'records_out_total',
    'Change records acknowledged by Kafka (two per event)',
    (s) => s.recordsOut,
  );
  follow('send_failures_total', 'Kafka sends that failed (retried)', (s) => s.sendFailures);
  follow('acks_lost_total', 'Batches in Kafka whose AMQP channel died first', (s) => s.acksLost);
  deadLetters(registry, sources);
  gauges(registry, sources);
  const sendSeconds = new client.Histogram({
    name: `${p}kafka_send_seconds`,
    help: 'One Kafka send (both topics, acks=all), by outcome',
    labelNames: ['outcome'],
    buckets: SEND_BUCKETS,
    registers,
  });
  const lagSeconds = new client.Histogram({
    name: `${p}lag_seconds`,
    help: "Kafka's acknowledgement time minus the event's TigerBeetle timestamp",
    buckets: LAG_BUCKETS,
    registers,
  });
  return {
    registry,
    onBatch(report) {
      sendSeconds.observe({ outcome: report.ok ? 'ok' : 'failed' }, report.latencyMs / 1_000);
      const ackedNs = BigInt(Math.round(report.ackedAtMs)) * 1_000_000n;
      for (const ts of report.timestampsNs) {
        lagSeconds.observe(Math.max(0, Number(ackedNs - ts) / 1e9));
      }
    },
  };
}

function deadLetters(registry: client.Registry, sources: RelayMetricsSources): void {
  const seen = { kafka: 0, amqp: 0 };
  new client.Counter({
    name: `${RELAY_METRIC_PREFIX}dead_letters_total`,
    help: 'Messages the relay could not read: to <topic>.dlq (kafka) or the AMQP DLX (amqp)',
    labelNames: ['via'],
    registers: [registry],
    collect() {
      const s = sources.relay.stats();
      const now = { kafka: s.deadLetteredKafka, amqp: s.deadLetteredAmqp };
      for (const via of ['kafka', 'amqp'] as const) {
        this.inc({ via }, now[via] - seen[via]);
        seen[via] = now[via];
      }
    },
  });
}

function gauges(registry: client.Registry, sources: RelayMetricsSources): void {
  const registers = [registry];
  new client.Gauge({
    name: `${RELAY_METRIC_PREFIX}queue_messages`,
    help: 'Messages ready in the change queue at the last poll (NaN: unknown)',
    registers,
    collect() {
      this.set(sources.queueDepth() ?? Number.NaN);
    },
  });
  new client.Gauge({
    name: `${RELAY_METRIC_PREFIX}held_messages`,
    help: 'Deliveries held by the relay, not yet acknowledged',
    registers,
    collect() {
      this.set(sources.relay.stats().held);
    },
  });
  new client.Gauge({
    name: `${RELAY_METRIC_PREFIX}consuming`,
    help: '1 while the relay has a consumer on the change queue (active, or a standby)',
    registers,
    collect() {
      this.set(sources.consuming() ? 1 : 0);
    },
  });
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** GET /metrics (Prometheus text); anything else 404. Port 0 picks a free one. */
export function listenMetrics(
  registry: client.Registry,
  host: string,
  port: number,
): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    void registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(`metrics failed: ${String(error)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${bound}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
