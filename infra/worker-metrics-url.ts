/**
 * Where the bridge's monitor reads the projection worker's metrics when `npm start` runs both
 * (infra/start-local.ts): the worker's /metrics on PROJECTIONS_METRICS_HOST:PORT, so `/slo` judges
 * `reconciliation_mismatches` from the worker's count instead of answering `no_data`. The
 * defaults repeat the worker's (projections/src/config.ts; a unit test holds them equal), since
 * infra may not import the projections room.
 */

/** The worker's metrics listener unless told otherwise (projections/src/config.ts). */
export const WORKER_METRICS_HOST_DEFAULT = '127.0.0.1';
export const WORKER_METRICS_PORT_DEFAULT = 9464;

/** Wildcard listen addresses, reached on loopback from the same host. */
const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * `env` with MONITOR_WORKER_METRICS_URLS pointing at the worker that runs beside the bridge;
 * unchanged when the variable is already set (the operator's choice), when no worker runs, or
 * when its port is chosen at random (0: nothing to point at).
 */
export function withWorkerMetricsUrl(
  env: NodeJS.ProcessEnv,
  workerRuns: boolean,
): NodeJS.ProcessEnv {
  if (!workerRuns || env.MONITOR_WORKER_METRICS_URLS !== undefined) return env;
  const port = Number(env.PROJECTIONS_METRICS_PORT ?? WORKER_METRICS_PORT_DEFAULT);
  if (!Number.isInteger(port) || port <= 0) return env;
  const listen = env.PROJECTIONS_METRICS_HOST ?? WORKER_METRICS_HOST_DEFAULT;
  const host = ANY_ADDRESS.has(listen)
    ? '127.0.0.1'
    : listen.includes(':')
      ? `[${listen}]`
      : listen;
  return { ...env, MONITOR_WORKER_METRICS_URLS: `http://${host}:${port}/metrics` };
}
