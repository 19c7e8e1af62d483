/**
 * `npm start`'s processes, side by side as production runs them: the bridge API and the
 * projection worker on the ledger, which is TigerBeetle's cluster: TB_ADDRESSES, else the one the
 * local stack runs (infra/tigerbeetle/local.ts). Only when there is no cluster at all does the embedded
 * engine stand in, as one shared server (ENGINE_ADDRESS, default 127.0.0.1:3100) that both use,
 * so the worker can reconcile and several bridges could share the ledger; a loud line says so.
 * Its clients prove ENGINE_SECRET in every connection's handshake: unless ENGINE_SECRET is set
 * (to point `ledger-bridge reconcile` or another bridge at this engine too), each run makes a
 * random one and hands it to the engine and its clients through their environment, never a log.
 *
 * Before them, the development API key is printed (./dev-key.ts): every route but /health,
 * /ready, the contract and the dashboard's page needs one.
 *
 * Beside them the change relay (changefeed/main.ts): the ledger's change feed, which the stack's
 * `tigerbeetle amqp` job publishes to RabbitMQ, into Kafka's change topic for the projections.
 *
 * LOCAL_PROJECTIONS=0 leaves the worker out (a load run starts it itself, after the load);
 * LOCAL_RELAY=0 leaves the relay out (the feed then waits in RabbitMQ). With the worker, the
 * bridge's monitor reads its /metrics (MONITOR_WORKER_METRICS_URLS, unless set) for the
 * reconciliation SLO.
 *
 * SIGINT/SIGTERM stop the bridge, the worker and the relay first, then the engine, which closes
 * its log last. If any process dies on its own, the others are stopped the same way and the exit
 * status says so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { randomEngineSecret } from '../ledger/engine/handshake';
import { ledgerEnv } from './tigerbeetle/local';
import { loadConfig } from '../core/config';
import { BRIDGE_NODE_FLAGS } from '../core/node-flags';
import { developmentKey } from './dev-key';
import { withWorkerMetricsUrl } from './worker-metrics-url';

const ROOT = path.resolve(__dirname, '..');
const ENGINE_ADDRESS_DEFAULT = '127.0.0.1:3100';
/** Longest the engine may take to replay its log and listen (ms). */
const ENGINE_START_TIMEOUT_MS = 120_000;

let stopping = false;
let exitCode = 0;
const apps = new Map<string, ChildProcess>();
let engine: ChildProcess | null = null;

function start(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  pipe = false,
  flags: readonly string[] = [],
): ChildProcess {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', entry], {
    cwd: ROOT,
    stdio: pipe ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    env,
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      void stopAll();
    } else if (code !== 0 && code !== null) {
      exitCode = code;
    }
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const child of apps.values()) child.kill('SIGTERM');
  await Promise.all([...apps.values()].map(exited));
  if (engine !== null) {
    engine.kill('SIGTERM');
    await exited(engine);
  }
  process.exit(exitCode);
}

/** Starts the shared engine and resolves with the address it listens on. */
async function startEngine(address: string, secret: string): Promise<string> {
  engine = start(
    'engine',
    'ledger/engine/server-main.ts',
    {
      ...process.env,
      ENGINE_ADDRESS: address,
      ENGINE_SECRET: secret,
    },
    true,
  );
  const lines = readline.createInterface({ input: engine.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the engine did not start')),
      ENGINE_START_TIMEOUT_MS,
    );
    lines.on('line', (line) => {
      console.log(line);
      const listening = /^engine listening on (\S+)/.exec(line);
      if (listening !== null) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
  });
}

/** Every route but /health needs a key: the development one, with every scope. */
async function printDevelopmentKey(env: NodeJS.ProcessEnv): Promise<void> {
  const key = await developmentKey(env, path.join(ROOT, '.run'));
  const { HOST, PORT } = loadConfig(env);
  const base = `http://${HOST === '0.0.0.0' ? '127.0.0.1' : HOST}:${PORT}`;
  console.log(`API key (development, every scope; kept in .run/dev-api-key.*): ${key}`);
  console.log(`  curl -H 'Authorization: Bearer ${key}' ${base}/api/assets`);
  console.log(`  dashboard: ${base}/dashboard#key=${key}`);
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll());
  const env: NodeJS.ProcessEnv = { ...process.env, ...ledgerEnv(process.env) };
  if (env.TB_ADDRESSES === undefined || env.TB_ADDRESSES === '') {
    delete env.TB_ADDRESSES;
    console.error(
      '*** NO TIGERBEETLE CLUSTER: the embedded engine stands in (not TigerBeetle). To run on ' +
        'the real 3-replica cluster, install the tigerbeetle release binary, set TB_BIN (or put ' +
        'it on PATH) and run npm start again; README: "Running on a real TigerBeetle cluster". ***',
    );
    if (env.ENGINE_SECRET === undefined || env.ENGINE_SECRET === '') {
      env.ENGINE_SECRET = randomEngineSecret();
    }
    const address = env.ENGINE_ADDRESS ?? ENGINE_ADDRESS_DEFAULT;
    env.ENGINE_ADDRESS = await startEngine(address, env.ENGINE_SECRET);
  } else {
    console.log(`ledger: TigerBeetle cluster ${env.TB_CLUSTER_ID ?? '0'} at ${env.TB_ADDRESSES}`);
  }
  if (stopping) return;
  await printDevelopmentKey(env);
  const workerRuns = env.LOCAL_PROJECTIONS !== '0';
  // The monitor reads the worker's reconciliation count from its /metrics (the SLO's only source).
  const bridgeEnv = withWorkerMetricsUrl(env, workerRuns);
  apps.set('bridge', start('bridge', 'bridge/src/main.ts', bridgeEnv, false, BRIDGE_NODE_FLAGS));
  if (workerRuns) {
    apps.set('projections', start('projections', 'projections/src/main.ts', env));
  }
  if (env.LOCAL_RELAY !== '0') apps.set('relay', start('relay', 'changefeed/main.ts', env));
}

main().catch((error: unknown) => {
  console.error(error);
  exitCode = 1;
  void stopAll();
});
