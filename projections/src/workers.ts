/**
 * Several projection workers on one host: `PROJECTIONS_WORKERS=N npm run worker` runs the
 * migrations once, then forks N worker processes (./main.ts again, each one worker with both
 * feeds). Each is a member of the feeds' consumer groups and owns the partitions Kafka assigns
 * it; a partition's checkpoint is fenced (./checkpoints.ts), so a rebalance never applies a
 * batch twice. Node runs one thread per process: N processes use N cores.
 *
 * Worker i exports its metrics on `PROJECTIONS_METRICS_PORT + i` (0: any free port), and only
 * worker 0 reconciles. A worker that exits unexpectedly is started again after
 * `RESTART_DELAY_MS` (meanwhile the others take its partitions); SIGTERM or SIGINT stops them
 * all, each finishing its batch in progress.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../../core/logger';
import type { ProjectionsConfig } from './config';

/** Set in a forked worker's environment: its index (0 … N − 1). */
export const WORKER_INDEX_ENV = 'PROJECTIONS_WORKER_INDEX';
/** A worker that died is started again after this long (ms): no hot loop on a start failure. */
const RESTART_DELAY_MS = 1_000;

/** The environment of worker `index` of `settings.PROJECTIONS_WORKERS`. */
export function workerEnv(
  settings: ProjectionsConfig,
  index: number,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const port = settings.PROJECTIONS_METRICS_PORT;
  return {
    ...env,
    [WORKER_INDEX_ENV]: String(index),
    PROJECTIONS_WORKERS: '1',
    PROJECTIONS_MIGRATE: 'false',
    PROJECTIONS_METRICS_PORT: String(port === 0 ? 0 : port + index),
    ...(index === 0 ? {} : { PROJECTIONS_RECONCILE_INTERVAL_MS: '0' }),
  };
}

export interface WorkerFleet {
  stop(): Promise<void>;
}

/** Forks `settings.PROJECTIONS_WORKERS` workers running `script`; restarts any that dies. */
export function startWorkerFleet(
  script: string,
  settings: ProjectionsConfig,
  logger: Logger,
): WorkerFleet {
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  const start = (index: number): void => {
    const child = fork(script, [], {
      env: workerEnv(settings, index),
      execArgv: process.execArgv,
    });
    children.set(index, child);
    child.once('exit', (code, signal) => {
      children.delete(index);
      if (stopping) return;
      logger.error({ index, code, signal }, 'projection worker exited; starting it again');
      setTimeout(() => {
        if (!stopping) start(index);
      }, RESTART_DELAY_MS);
    });
  };
  for (let index = 0; index < settings.PROJECTIONS_WORKERS; index++) start(index);
  logger.info({ workers: settings.PROJECTIONS_WORKERS }, 'projection workers started');
  return {
    async stop() {
      stopping = true;
      const exits = [...children.values()].map(
        (child) => new Promise<void>((resolve) => child.once('exit', () => resolve())),
      );
      for (const child of children.values()) child.kill('SIGTERM');
      await Promise.all(exits);
    },
  };
}
