/**
 * Proves `npm start` points the bridge's monitor at the projection worker it starts beside it
 * (infra/worker-metrics-url.ts), so /slo's reconciliation_mismatches reads the worker's count
 * instead of answering no_data: the worker's own metrics address by default (the defaults are
 * the worker's, read from projections/src/config.ts), a wildcard listen address reached on
 * loopback, and an explicit setting, no worker or a random port left alone.
 */
import { loadProjectionsConfig } from '../../../projections/src/config';
import { withWorkerMetricsUrl } from '../../../infra/worker-metrics-url';
import { loadConfig } from '../../../core/config';

const urlOf = (env: NodeJS.ProcessEnv, workerRuns = true) =>
  withWorkerMetricsUrl(env, workerRuns).MONITOR_WORKER_METRICS_URLS;

it("points at the worker's own default metrics listener", () => {
  const worker = loadProjectionsConfig({});
  expect(urlOf({})).toBe(
    `http://${worker.PROJECTIONS_METRICS_HOST}:${worker.PROJECTIONS_METRICS_PORT}/metrics`,
  );
  // The bridge's configuration takes it.
  expect(loadConfig(withWorkerMetricsUrl({}, true)).MONITOR_WORKER_METRICS_URLS).toEqual([
    urlOf({}),
  ]);
});

it.each([
  [{ PROJECTIONS_METRICS_PORT: '9500' }, 'http://127.0.0.1:9500/metrics'],
  [{ PROJECTIONS_METRICS_HOST: '0.0.0.0' }, 'http://127.0.0.1:9464/metrics'],
  [{ PROJECTIONS_METRICS_HOST: '::1' }, 'http://[::1]:9464/metrics'],
  [{ PROJECTIONS_METRICS_HOST: '10.0.0.5' }, 'http://10.0.0.5:9464/metrics'],
])('follows the worker settings %p', (env, url) => {
  expect(urlOf(env)).toBe(url);
});

it('leaves an explicit setting, no worker and a random port alone', () => {
  expect(urlOf({ MONITOR_WORKER_METRICS_URLS: 'http://elsewhere:1/metrics' })).toBe(
    'http://elsewhere:1/metrics',
  );
  expect(urlOf({}, false)).toBeUndefined();
  expect(urlOf({ PROJECTIONS_METRICS_PORT: '0' })).toBeUndefined();
});
