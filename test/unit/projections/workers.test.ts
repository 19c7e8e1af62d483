/**
 * Proves what each of `PROJECTIONS_WORKERS` forked workers is told (projections/src/workers.ts):
 * its index, that it forks no one itself and migrates nothing (the parent did), a metrics port of
 * its own (or any free one), and that only worker 0 reconciles; the rest of the environment
 * passes through.
 */
import { loadProjectionsConfig } from '../../../projections/src/config';
import { WORKER_INDEX_ENV, workerEnv } from '../../../projections/src/workers';

describe('workerEnv', () => {
  const settings = loadProjectionsConfig({ PROJECTIONS_WORKERS: '3' });

  it.each([0, 1, 2])('worker %i: its index, its port, one process, no migrations', (index) => {
    const env = workerEnv(settings, index, { KAFKA_BROKERS: 'b:1' });
    expect(env).toMatchObject({
      KAFKA_BROKERS: 'b:1',
      [WORKER_INDEX_ENV]: String(index),
      PROJECTIONS_WORKERS: '1',
      PROJECTIONS_MIGRATE: 'false',
      PROJECTIONS_METRICS_PORT: String(9464 + index),
    });
    expect(loadProjectionsConfig(env).PROJECTIONS_WORKERS).toBe(1);
  });

  it('only worker 0 keeps the periodic reconciliation', () => {
    const env = { PROJECTIONS_RECONCILE_INTERVAL_MS: '5000' };
    expect(workerEnv(settings, 0, env).PROJECTIONS_RECONCILE_INTERVAL_MS).toBe('5000');
    expect(workerEnv(settings, 1, env).PROJECTIONS_RECONCILE_INTERVAL_MS).toBe('0');
  });

  it('metrics on any free port stay on any free port', () => {
    const anyPort = loadProjectionsConfig({
      PROJECTIONS_WORKERS: '2',
      PROJECTIONS_METRICS_PORT: '0',
    });
    expect(workerEnv(anyPort, 1, {}).PROJECTIONS_METRICS_PORT).toBe('0');
  });

  it('PROJECTIONS_WORKERS defaults to 1 and refuses 0', () => {
    expect(loadProjectionsConfig({}).PROJECTIONS_WORKERS).toBe(1);
    expect(() => loadProjectionsConfig({ PROJECTIONS_WORKERS: '0' })).toThrow(
      /PROJECTIONS_WORKERS/,
    );
  });
});
