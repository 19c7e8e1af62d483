// Proves the production monitoring files speak the same metric names as the code: every
// ledger_bridge_* / ledger_projections_* / ledger_relay_* name in infra/prometheus/alerts.yml and
// the Grafana dashboard is a series the bridge's, the worker's or the relay's registry exports
// (histograms with their _bucket/_sum/_count), every recording rule the dashboard uses is
// defined, and Prometheus scrapes the bridges, the workers and the relays and loads the rules.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { batcherMetrics } from '../../../bridge/src/monitor/metrics';
import { Monitor } from '../../../bridge/src/monitor/monitor';
import { zeroByReason } from '../../../projections/src/dead-letter';
import { createWorkerMetrics } from '../../../projections/src/metrics';
import { createRelayMetrics } from '../../../changefeed/metrics';
import { zeroRelayStats } from '../../../changefeed/relay';

const zeroKind = () => ({
  chains: 0,
  events: 0,
  rejectedOverloaded: 0,
  rejectedDraining: 0,
  rejectedInvalid: 0,
  chainsTimedOut: 0,
});

const INFRA = path.resolve(__dirname, '..', '..', '..', 'infra');
const read = (file: string): string => fs.readFileSync(path.join(INFRA, file), 'utf8');

async function exportedNames(): Promise<Set<string>> {
  const monitor = new Monitor({
    log: pino({ level: 'silent' }),
    metrics: { defaultMetrics: false },
  });
  batcherMetrics(monitor.metrics, {
    stats: {
      requests: 0,
      events: 0,
      chains: 0,
      requestEventsLargest: 0,
      requestsFailed: 0,
      rejectedOverloaded: 0,
      rejectedDraining: 0,
      rejectedInvalid: 0,
      chainsTimedOut: 0,
      queuedEvents: 0,
      inflight: 0,
      byKind: { journal: zeroKind(), raw: zeroKind() },
    },
  });
  const worker = createWorkerMetrics(
    {
      runner: {
        stats: () => ({
          batchesCommitted: 0,
          eventsApplied: 0,
          eventsDeadLettered: 0,
          eventsDeadLetteredByReason: zeroByReason(),
          batchesFenced: 0,
          batchesFailed: 0,
          lagPollFailures: 0,
          partitions: [],
          lagTotal: null,
        }),
      },
    },
    { defaultMetrics: false },
  );
  const relay = createRelayMetrics(
    {
      relay: { stats: zeroRelayStats },
      queueDepth: () => null,
      consuming: () => false,
    },
    { defaultMetrics: false },
  );
  const names = new Set<string>();
  for (const registry of [monitor.metrics.registry, worker.registry, relay.registry]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') {
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      }
    }
  }
  await monitor.stop();
  return names;
}

const METRIC = /\bledger_(?:bridge|projections|relay)_[a-z0-9_]+/g;
const RECORDING = /\bledger_(?:bridge|projections|relay):[a-z0-9_:]+/g;

test('alert rules and the Grafana dashboard use only exported metric names', async () => {
  const names = await exportedNames();
  const alerts = read('prometheus/alerts.yml');
  const dashboard = JSON.parse(read('grafana/dashboards/ledger-bridge.json')) as {
    panels: Array<{ targets: Array<{ expr: string }> }>;
  };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  const used = new Set(
    [...alerts.matchAll(METRIC), ...exprs.join('\n').matchAll(METRIC)].map((m) => m[0]),
  );
  expect([...used].filter((name) => !names.has(name))).toEqual([]);
  expect(used.size).toBeGreaterThan(15);

  const defined = new Set([...alerts.matchAll(/- record: (\S+)/g)].map((m) => m[1]));
  const recordingsUsed = new Set(
    [...alerts.matchAll(RECORDING), ...exprs.join('\n').matchAll(RECORDING)].map((m) => m[0]),
  );
  expect([...recordingsUsed].filter((name) => !defined.has(name))).toEqual([]);
});

test('Prometheus scrapes every bridge and the workers, and loads the SLO rules', () => {
  const config = read('prometheus/prometheus.yml');
  expect(config).toContain("targets: ['bridge-1:3000', 'bridge-2:3000', 'bridge-3:3000']");
  expect(config).toMatch(/job_name: projections[\s\S]*names: \['projections'\][\s\S]*port: 9464/);
  expect(config).toMatch(/job_name: relay[\s\S]*names: \['relay'\][\s\S]*port: 9466/);
  expect(config).toContain('- /etc/prometheus/alerts.yml');
  for (const slo of [
    'availability',
    'error_rate',
    'api_latency_p99',
    'balance_read_p95',
    'throughput_sustained',
    'projection_lag_p99',
    'reconciliation_mismatches',
  ]) {
    expect(read('prometheus/alerts.yml')).toContain(`slo: ${slo}`);
  }
});
