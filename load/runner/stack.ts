/**
 * The services a load run measures, started the way `npm start` starts them (infra/start-local.ts:
 * the bridge and the projection worker on the TigerBeetle cluster, or on the engine as a shared
 * server where there is none or BENCH_LEDGER=engine asks for it: load/bench/ledger.ts), but on
 * the load database (`ledger_load`, emptied first), a fresh engine directory, the run's own Kafka
 * topic, consumer group and cache namespace. The audit after the run compares what the run
 * wrote: its accounts, and the ledger from its start.
 *
 * The worker's periodic reconciliation is off while the load runs (it would compete for the same
 * two cores); the runner reconciles once, after the load (audit.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { disposableDatabaseEnv, resetDisposableDatabase } from '../../core/postgres/disposable';
import { loadConfig } from '../../core/config';
import { randomEngineSecret } from '../../ledger/engine/handshake';
import { mintKey, stopProcess, waitReady } from '../bench/bridge-process';
import { chooseLedger, type LedgerChoice, ledgerProcessEnv } from '../bench/ledger';
import { pinned } from './pin';

const ROOT = path.resolve(__dirname, '..', '..');
export const LOAD_DATABASE = 'ledger_load';
/** Longest the engine, bridge and worker may take to answer /ready (ms). */
const READY_TIMEOUT_MS = 120_000;
const LAG_POLL_MS = 500;
/** The worker's niceness in load runs (PROJECTIONS_NICENESS overrides it). */
const PROJECTIONS_NICENESS = 19;

/**
 * When the projection worker runs: `during` the load, beside the bridge on the same cores, niced
 * so that the journal path keeps the CPU it needs (as separate hosts give it in production) and the
 * projections catch up when it is idle; or only `after` the load, measuring the write path alone.
 * Either way the drain time is measured and the audit waits for it.
 */
export type ProjectionsMode = 'during' | 'after';

export interface LoadStackOptions {
  run: string;
  projections: ProjectionsMode;
  /** The bridge's port; the engine listens on port + 1, the worker's metrics on port + 2. */
  port: number;
  /** Where the engine keeps its log (emptied first). */
  dataDir: string;
  /** The ledger the services run on; default: chooseLedger(process.env). */
  ledger?: LedgerChoice;
  /**
   * The CPUs the services are pinned to (LOAD_PIN_CPUS, ../runner/pin.ts: the ones k6 does not
   * get); the bridge, engine server and worker that start-local starts inherit them. Absent or
   * null: not pinned.
   */
  cpus?: readonly number[] | null;
}

export interface LoadStack {
  baseUrl: string;
  /** The ledger the services run on. */
  ledger: LedgerChoice;
  /** The environment the services run with: the audit's commands use the same. */
  env: NodeJS.ProcessEnv;
  /** An API key with every scope, minted in the run's database for the load's clients. */
  apiKey: string;
  /** Starts the projection worker when it was left for `after` the load (else does nothing). */
  startProjections(): Promise<void>;
  /** Stops a worker `startProjections` started (else does nothing): the next load runs alone. */
  stopProjections(): Promise<void>;
  stop(): Promise<void>;
}

/** The services' environment for a run: the load database and the run's own names. */
export function loadStackEnv(options: LoadStackOptions): NodeJS.ProcessEnv {
  const base = loadConfig(process.env);
  return {
    ...process.env,
    // The TigerBeetle cluster when there is one; else (TB_ADDRESSES empty) start-local runs the
    // engine server.
    ...ledgerProcessEnv(options.ledger ?? chooseLedger(process.env)),
    PORT: String(options.port),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...disposableDatabaseEnv(base, LOAD_DATABASE),
    ENGINE_ADDRESS: `127.0.0.1:${options.port + 1}`,
    // Chosen here, not by start-local, so the audit's commands (same env) can reach the engine.
    ENGINE_SECRET: process.env.ENGINE_SECRET || randomEngineSecret(),
    ENGINE_DATA_DIR: options.dataDir,
    KAFKA_OUTCOMES_TOPIC: `load.outcomes.${options.run}`,
    PROJECTIONS_GROUP_ID: `load.projections.${options.run}`,
    PROJECTIONS_METRICS_PORT: String(options.port + 2),
    PROJECTIONS_RECONCILE_INTERVAL_MS: '0',
    PROJECTIONS_NICENESS: process.env.PROJECTIONS_NICENESS ?? String(PROJECTIONS_NICENESS),
    LOCAL_PROJECTIONS: options.projections === 'during' ? '1' : '0',
    // Lag is read twice a second, so the drain after the load is timed to half a second.
    PROJECTIONS_LAG_POLL_MS: String(LAG_POLL_MS),
    BALANCE_CACHE_KEY_PREFIX: `load:${options.run}:bal:`,
    BALANCE_INVALIDATION_CHANNEL: `load:${options.run}:bal:invalidations`,
  };
}

export async function startLoadStack(options: LoadStackOptions): Promise<LoadStack> {
  const ledger = options.ledger ?? chooseLedger(process.env);
  const env = loadStackEnv({ ...options, ledger });
  await resetDisposableDatabase(env.DATABASE_DIRECT_URL!);
  fs.rmSync(options.dataDir, { recursive: true, force: true });
  fs.mkdirSync(options.dataDir, { recursive: true });
  const cpus = options.cpus ?? null;
  const services = pinned(cpus, process.execPath, ['--import', 'tsx', 'infra/start-local.ts']);
  const child = spawn(services.command, services.args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const workerMetrics = `http://127.0.0.1:${options.port + 2}/metrics`;
  let worker: ChildProcess | null = null;
  const stop = async () => {
    if (worker !== null) await stopProcess(worker);
    await stopProcess(child);
  };
  let apiKey: string;
  try {
    await waitReady(`${baseUrl}/ready`, child, READY_TIMEOUT_MS);
    if (options.projections === 'during') await waitReady(workerMetrics, child, READY_TIMEOUT_MS);
    // The bridge has applied its migrations (it answers /ready): the key table is there.
    apiKey = (await mintKey(env.DATABASE_DIRECT_URL!, `load ${options.run}`)).text;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    baseUrl,
    ledger,
    env,
    apiKey,
    stop,
    startProjections: async () => {
      if (options.projections === 'during' || worker !== null) return;
      const main = pinned(cpus, process.execPath, ['--import', 'tsx', 'projections/src/main.ts']);
      worker = spawn(main.command, main.args, {
        cwd: ROOT,
        env: { ...env, PROJECTIONS_NICENESS: '0' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      await waitReady(workerMetrics, worker, READY_TIMEOUT_MS);
    },
    stopProjections: async () => {
      if (worker === null) return;
      await stopProcess(worker);
      worker = null;
    },
  };
}

/** The worker's total lag (events behind the topic's high watermarks), null before its first poll. */
export async function projectionLag(env: NodeJS.ProcessEnv): Promise<number | null> {
  const res = await fetch(`http://127.0.0.1:${env.PROJECTIONS_METRICS_PORT}/metrics`);
  const text = await res.text();
  const line = /^ledger_projections_lag_events_total (\S+)$/m.exec(text);
  const value = line === null ? Number.NaN : Number(line[1]);
  return Number.isFinite(value) ? value : null;
}

/**
 * Waits until the projections have applied everything published (lag 0), and says how long that
 * took (ms): how far behind the load left them. Rejects after `timeoutMs`.
 */
export async function waitProjectionsDrained(
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<number> {
  const start = Date.now();
  // A reading taken before the load ended may say 0: wait for two fresh polls first.
  await new Promise((resolve) => setTimeout(resolve, 2 * LAG_POLL_MS));
  while (Date.now() - start < timeoutMs) {
    if ((await projectionLag(env)) === 0) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the projections did not drain within ${timeoutMs} ms`);
}
