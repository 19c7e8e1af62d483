/**
 * A bridge for a fuzz run, in this process: on the local TigerBeetle cluster (else the embedded
 * engine, as `npm start` chooses), a disposable database emptied first (`ledger_load` for
 * `npm run fuzz`; the tests pass `ledger_test`), its own Kafka topic and cache namespace, and its
 * log in a file (a 500's stack is the first thing to read after a failed run). Also mints the
 * run's API key the way an operator does: `ledger-bridge keys create --json`.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { startBridge, type RunningBridge } from '../../bridge/src/bridge';
import { loadConfig } from '../../core/config';
import { disposableDatabaseEnv, resetDisposableDatabase } from '../../core/postgres/disposable';
import { ledgerEnv } from '../../infra/tigerbeetle/local';

const ROOT = path.resolve(__dirname, '..', '..');
/** Longest `keys create` may take (ms): a tsx start and one insert. */
const KEYS_CLI_TIMEOUT_MS = 60_000;

export interface FuzzBridge {
  url: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  stop(): Promise<void>;
}

export async function startFuzzBridge(database: string, logFile: string): Promise<FuzzBridge> {
  const run = randomUUID().slice(0, 8);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-fuzz-'));
  const base = loadConfig({ ...process.env, ...ledgerEnv(process.env) });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...ledgerEnv(process.env),
    ...disposableDatabaseEnv(base, database),
    BALANCE_CACHE_KEY_PREFIX: `fuzz:${run}:bal:`,
    BALANCE_INVALIDATION_CHANNEL: `fuzz:${run}:bal:invalidations`,
    RATE_LIMIT_KEY_PREFIX: `fuzz:${run}:rl:`,
    KAFKA_OUTCOMES_TOPIC: `fuzz.outcomes.${run}`,
    KAFKA_OUTCOMES_PARTITIONS: '3',
    PORT: '0',
    ENGINE_DATA_DIR: dataDir,
    ENGINE_ADDRESS: undefined,
  };
  const config = loadConfig(env);
  await resetDisposableDatabase(config.DATABASE_DIRECT_URL);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const destination = pino.destination({ dest: logFile, sync: true });
  const log = pino({ level: 'warn', base: { service: 'ledger-bridge' } }, destination);
  const bridge: RunningBridge = await startBridge(config, log);
  return {
    url: bridge.url,
    env,
    logFile,
    stop: async () => {
      await bridge.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A key with every scope, minted by the operator's command against the run's database. */
export async function mintKey(env: NodeJS.ProcessEnv, name: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    ['cli/main.ts', 'keys', 'create', '--name', name, '--scopes', 'all', '--json'],
    { cwd: ROOT, env, timeout: KEYS_CLI_TIMEOUT_MS },
  );
  const issued = JSON.parse(stdout) as { key?: unknown };
  if (typeof issued.key !== 'string') throw new Error(`keys create printed no key: ${stdout}`);
  return issued.key;
}
