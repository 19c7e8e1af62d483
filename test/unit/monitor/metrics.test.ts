// Proves that the bridge's and the worker's /metrics output parses with a Prometheus text-format
// parser (parse-prometheus-text-format, which throws on any invalid line) and holds the expected
// series: HTTP by route pattern, ledger and Kafka batches, journals by outcome, cache levels,
// dependency health (a hung pool counts as down within its timeout), SLO states, the worker's
// lag, DLQ and reconciliation gauges — served by the worker's own listener and read back by the
// bridge's worker-gauge poller.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import pino from 'pino';
import type { Posted } from '../../../bridge/src/journal/service';
import type { Ledger } from '../../../ledger/port';
import { instrumentLedger, journalObserver } from '../../../bridge/src/monitor/instrument';
import { batcherMetrics } from '../../../bridge/src/monitor/metrics';
import { Monitor } from '../../../bridge/src/monitor/monitor';
import { gaugeValue, readWorkerGauges } from '../../../bridge/src/monitor/worker-gauges';
import type { Queryable } from '../../../core/postgres/pool';
import { JournalError } from '../../../bridge/src/journal/errors';
import { createWorkerMetrics, startMetricsServer } from '../../../projections/src/metrics';
import { zeroByReason } from '../../../projections/src/dead-letter';
import type { RunnerStats } from '../../../projections/src/runner';

const silent = pino({ level: 'silent' });

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no metric family ${name}`);
  return found;
}

function sample(families: ParsedFamily[], name: string, labels: Record<string, string> = {}) {
  return family(families, name).metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
}

const okPool: Queryable = { query: async () => ({ rows: [] }) as never };
const hungPool: Queryable = { query: () => new Promise(() => undefined) };

describe('bridge /metrics', () => {
  test('parses, with route patterns, batches, outcomes, cache levels, health and SLO series', async () => {
    const monitor = new Monitor({
      log: silent,
      pools: { pgbouncer: okPool, 'replica-1': hungPool },
    });
    const m = monitor.metrics;
    monitor.observeHttp('/api/balance/:accountId', 'GET', 200, 3.2);
    monitor.observeHttp('/api/balance/:accountId', 'GET', 404, 1.1);
    monitor.observeHttp('/api/journal', 'POST', 201, 12);
    monitor.onPublisherBatch({ events: 40, bytes: 30_000, latencyMs: 4, ok: true });
    monitor.onPublisherBatch({ events: 2, bytes: 900, latencyMs: 8_000, ok: false });
    monitor.cacheLookup('l1');
    monitor.cacheLookup('miss');

    const fakeLedger = { createTransfers: async (batch: unknown[]) => batch.map(() => ({})) };
    const ledger = instrumentLedger(fakeLedger as unknown as Ledger, m);
    await ledger.createTransfers(new Array(7).fill({}) as never);

    const kind = {
      chains: 0,
      events: 0,
      rejectedOverloaded: 0,
      rejectedDraining: 0,
      rejectedInvalid: 0,
      chainsTimedOut: 0,
    };
    const stats = {
      requests: 1,
      events: 7,
      chains: 2,
      requestEventsLargest: 7,
      requestsFailed: 0,
      rejectedOverloaded: 3,
      rejectedDraining: 0,
      rejectedInvalid: 1,
      chainsTimedOut: 2,
      queuedEvents: 5,
      inflight: 1,
      byKind: {
        journal: { ...kind, chains: 1, events: 4, rejectedOverloaded: 3, chainsTimedOut: 2 },
        raw: { ...kind, chains: 1, events: 3, rejectedInvalid: 1 },
      },
    };
    batcherMetrics(m, { stats });

    const posted = {
      receipt: { journalId: 'j1', status: 'posted', transfers: [] },
      position: { partition: 0, offset: '0' },
    } as unknown as Posted;
    const observer = journalObserver(monitor.journals);
    for (const end of [
      { posted },
      { error: new JournalError('unbalanced_journal', 'no') },
      { error: new Error('kafka down') },
    ]) {
      observer.offered();
      observer.settled(end);
    }
    await monitor.tick();

    const started = Date.now();
    const text = await m.registry.metrics();
    expect(Date.now() - started).toBeLessThan(3_000); // the hung pool is bounded by its timeout
    const families = parsePrometheusTextFormat(text);

    expect(
      sample(families, 'ledger_bridge_http_requests_total', {
        route: '/api/balance/:accountId',
        method: 'GET',
        status: '200',
      })?.value,
    ).toBe('1');
    expect(text).toMatch(
      /^ledger_bridge_http_request_duration_seconds_bucket\{le="0\.005",route="\/api\/balance\/:accountId",method="GET"\} 2$/m,
    );
    expect(family(families, 'ledger_bridge_http_request_duration_seconds').type).toBe('HISTOGRAM');
    expect(text).toMatch(/^ledger_bridge_ledger_batch_events_sum 7$/m);
    expect(text).toMatch(
      /^ledger_bridge_ledger_request_duration_seconds_count\{operation="create_transfers"\} 1$/m,
    );
    expect(text).toMatch(/^ledger_bridge_kafka_batch_events_count 2$/m);
    expect(text).toMatch(/^ledger_bridge_kafka_produce_duration_seconds_bucket\{le="2.5"\} 1$/m);
    expect(sample(families, 'ledger_bridge_kafka_produce_failures_total')?.value).toBe('1');
    const outcomes = Object.fromEntries(
      family(families, 'ledger_bridge_journals_total').metrics.map((s) => [
        s.labels!.outcome,
        s.value,
      ]),
    );
    expect(outcomes).toEqual({
      posted: '1',
      held: '0',
      hold_posted: '0',
      hold_voided: '0',
      rejected: '1',
      failed: '1',
    });
    expect(sample(families, 'ledger_bridge_journals_offered_total')?.value).toBe('3');
    expect(sample(families, 'ledger_bridge_cache_hits_total', { level: 'l1' })?.value).toBe('1');
    expect(sample(families, 'ledger_bridge_cache_hits_total', { level: 'l2' })?.value).toBe('0');
    expect(sample(families, 'ledger_bridge_cache_misses_total')?.value).toBe('1');
    expect(sample(families, 'ledger_bridge_batcher_queued_events')?.value).toBe('5');
    const batcher = (name: string, labels: Record<string, string>) =>
      sample(families, `ledger_bridge_batcher_${name}`, labels)?.value;
    expect(batcher('rejected_total', { reason: 'overloaded', kind: 'journal' })).toBe('3');
    expect(batcher('rejected_total', { reason: 'overloaded', kind: 'raw' })).toBe('0');
    expect(batcher('rejected_total', { reason: 'invalid', kind: 'raw' })).toBe('1');
    expect(batcher('chains_timed_out_total', { kind: 'journal' })).toBe('2');
    expect(batcher('chains_timed_out_total', { kind: 'raw' })).toBe('0');
    // Journals and raw requests share the batcher; their chains and transfers are told apart.
    expect(batcher('chains_total', { kind: 'journal' })).toBe('1');
    expect(batcher('chains_total', { kind: 'raw' })).toBe('1');
    expect(batcher('events_total', { kind: 'journal' })).toBe('4');
    expect(batcher('events_total', { kind: 'raw' })).toBe('3');
    expect(
      sample(families, 'ledger_bridge_dependency_up', { dependency: 'pgbouncer' })?.value,
    ).toBe('1');
    expect(
      sample(families, 'ledger_bridge_dependency_up', { dependency: 'replica-1' })?.value,
    ).toBe('0');
    expect(sample(families, 'ledger_bridge_reconcile_mismatches')?.value).toMatch(/^nan$/i); // prom-client writes 'Nan'; Prometheus reads any case
    expect(sample(families, 'ledger_bridge_slo_state', { slo: 'api_latency_p99' })?.value).toBe(
      '-1',
    );
    expect(family(families, 'process_cpu_user_seconds_total').type).toBe('COUNTER');
    expect(family(families, 'nodejs_eventloop_lag_p99_seconds').type).toBe('GAUGE');

    // Counters from the batcher's stats advance by the difference at the next scrape.
    stats.rejectedOverloaded = 10;
    stats.byKind.journal.rejectedOverloaded = 10;
    const again = parsePrometheusTextFormat(await m.registry.metrics());
    expect(
      sample(again, 'ledger_bridge_batcher_rejected_total', {
        reason: 'overloaded',
        kind: 'journal',
      })?.value,
    ).toBe('10');
    // Never a raw path: every route label is a pattern.
    for (const s of family(again, 'ledger_bridge_http_requests_total').metrics) {
      expect(s.labels!.route).not.toMatch(/\/api\/balance\/[^:]/);
    }
    await monitor.stop();
  });
});

describe('worker /metrics', () => {
  test('its listener serves parseable metrics; the bridge reads the mismatch gauge from it', async () => {
    const stats: RunnerStats = {
      batchesCommitted: 4,
      eventsApplied: 1_200,
      eventsDeadLettered: 2,
      eventsDeadLetteredByReason: { ...zeroByReason(), malformed: 1, apply_failed: 1 },
      batchesFenced: 0,
      batchesFailed: 1,
      lagPollFailures: 0,
      partitions: [
        { topic: 'outcomes', partition: 0, nextOffset: '600', highWatermark: '610', lag: 10 },
        { topic: 'outcomes', partition: 1, nextOffset: '600', highWatermark: '600', lag: 0 },
      ],
      lagTotal: 10,
    };
    let mismatches: number | null = null;
    const metrics = createWorkerMetrics({
      runner: { stats: () => stats },
      reconciler: { lastMismatchCount: () => mismatches, failures: () => 0 },
      deadLetters: {
        pending: async () => [
          { group: 'g', topic: 'outcomes', reason: 'oversized', count: 2 },
          { group: 'g2', topic: 'outcomes', reason: 'oversized', count: 1 },
        ],
      },
    });
    metrics.onCommit({
      partition: 0,
      events: 3,
      deadLettered: 0,
      nextOffset: 603n,
      recordTimestampsMs: [1_000, 1_500, 1_900],
      committedAtMs: 2_000,
      durationMs: 12,
    });
    const server = await startMetricsServer(metrics.registry, '127.0.0.1', 0);
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      const families = parsePrometheusTextFormat(text);
      expect(sample(families, 'ledger_projections_lag_events', { partition: '0' })?.value).toBe(
        '10',
      );
      expect(sample(families, 'ledger_projections_events_applied_total')?.value).toBe('1200');
      const deadLettered = (reason: string) =>
        sample(families, 'ledger_projections_events_dead_lettered_total', { reason })?.value;
      expect([deadLettered('malformed'), deadLettered('apply_failed')]).toEqual(['1', '1']);
      expect(deadLettered('oversized')).toBe('0');
      expect(
        sample(families, 'ledger_projections_dead_letters_pending', { reason: 'oversized' }),
      ).toMatchObject({ value: '3', labels: { topic: 'outcomes' } });
      expect(sample(families, 'ledger_projections_batches_failed_total')?.value).toBe('1');
      expect(family(families, 'ledger_projections_apply_lag_seconds').metrics[0]).toMatchObject({
        count: '3',
        sum: '1.6',
      });
      expect(text).toMatch(/^ledger_projections_transaction_duration_seconds_count 1$/m);
      expect(sample(families, 'ledger_projections_reconcile_mismatches')?.value).toMatch(/^nan$/i); // prom-client writes 'Nan'; Prometheus reads any case
      expect(await readWorkerGauges([server.url])).toEqual({ mismatches: null, failures: [] });

      mismatches = 2;
      stats.eventsApplied = 1_500;
      const later = parsePrometheusTextFormat(await (await fetch(server.url)).text());
      expect(sample(later, 'ledger_projections_events_applied_total')?.value).toBe('1500');
      expect(await readWorkerGauges([server.url])).toEqual({ mismatches: 2, failures: [] });
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
    const down = await readWorkerGauges([server.url], 500);
    expect(down.mismatches).toBeNull();
    expect(down.failures).toHaveLength(1);
    expect(gaugeValue('x_total 1\nx 4\n', 'x')).toBe(4);
  });
});

describe('balance cache', () => {
  test("follows the reader's served counters: hits by level, misses, hit ratio, redis health", async () => {
    const clock = { ms: 1_700_000_000_000, nowMs: () => clock.ms };
    const monitor = new Monitor({ log: silent, clock, metrics: { defaultMetrics: false } });
    const served = { l1: 10, l2: 0, ledger: 5 };
    monitor.followBalanceCache(() => ({ served, redisHealthy: false }));
    served.l1 += 6;
    served.l2 += 2;
    served.ledger += 2;
    await monitor.tick(); // counted in the current second
    clock.ms += 1_000;
    await monitor.tick(); // its dashboard point covers the second before
    const families = parsePrometheusTextFormat(await monitor.metrics.registry.metrics());
    expect(sample(families, 'ledger_bridge_cache_hits_total', { level: 'l1' })?.value).toBe('6');
    expect(sample(families, 'ledger_bridge_cache_hits_total', { level: 'l2' })?.value).toBe('2');
    expect(sample(families, 'ledger_bridge_cache_misses_total')?.value).toBe('2');
    expect(sample(families, 'ledger_bridge_dependency_up', { dependency: 'redis' })?.value).toBe(
      '0',
    );
    const points = monitor.dashboard().points;
    expect(points[points.length - 1]!.cacheHitRatio).toBeCloseTo(0.8, 6);
    await monitor.stop();
  });
});
