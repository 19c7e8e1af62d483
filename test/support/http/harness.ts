/**
 * Starts a whole bridge in-process for HTTP tests: the embedded engine in a fresh directory, the
 * real local PostgreSQL (through PgBouncer) and Kafka, a listening server on a free port, and its
 * own Kafka topic so a test can read back exactly the events it caused.
 *
 * The database is the stack's test database (`ledger_test`), emptied at every start: each test
 * file begins from migrations on nothing, and `npm start`'s database is never touched.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { disposableDatabaseEnv, resetDisposableDatabase } from '../../../core/postgres/disposable';
import { startBridge, type RunningBridge } from '../../../bridge/src/bridge';
import { type Config, loadConfig } from '../../../core/config';
import { createLogger } from '../../../core/logger';
import { bearer, mintKey } from './keys';

const TEST_DATABASE = 'ledger_test';

export interface Harness {
  bridge: RunningBridge;
  config: Config;
  /** The environment `config` was loaded from: for the CLI commands a test runs in process. */
  env: NodeJS.ProcessEnv;
  topic: string;
  /** A prefix that makes ids unique to this run (the database outlives test runs). */
  run: string;
  dataDir: string;
  /** An API key with every scope, in this run's database; `call` sends it unless told not to. */
  key: string;
  /** Stops the bridge (once; later calls wait for the first). */
  stop(): Promise<void>;
  /** Stops the bridge and deletes its engine directory. */
  dispose(): Promise<void>;
}

export interface HarnessOptions {
  /**
   * Join another harness's run (its cache namespace and topic) and keep the database as it is:
   * a second API instance of the same deployment.
   */
  joining?: Harness;
}

export async function startHarness(
  overrides: Record<string, string> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-http-'));
  const run = options.joining?.run ?? randomUUID().slice(0, 8);
  const topic = options.joining?.topic ?? `test.outcomes.${randomUUID()}`;
  const base = loadConfig(process.env);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...disposableDatabaseEnv(base, TEST_DATABASE),
    // Each run its own cache namespace: Redis outlives test runs, the ledger does not.
    BALANCE_CACHE_KEY_PREFIX: `test:${run}:bal:`,
    BALANCE_INVALIDATION_CHANNEL: `test:${run}:bal:invalidations`,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ENGINE_DATA_DIR: dataDir,
    KAFKA_OUTCOMES_TOPIC: topic,
    KAFKA_OUTCOMES_PARTITIONS: '3',
    // A shared engine server only when the test asks for one.
    ENGINE_ADDRESS: undefined,
    ...overrides,
  };
  const config = loadConfig(env);
  if (options.joining === undefined) await resetDisposableDatabase(config.DATABASE_DIRECT_URL);
  const bridge = await startBridge(config, createLogger(config.LOG_LEVEL));
  const key = options.joining?.key ?? (await mintKey(config.DATABASE_DIRECT_URL));
  harnessKey = key;
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= bridge.stop());
  return {
    bridge,
    config,
    env,
    topic,
    run,
    dataDir,
    key,
    stop,
    dispose: async () => {
      await stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The key of the last harness started in this test file: `call` and `withKey` send it. */
let harnessKey: string | undefined;

/** The harness's key as request headers, merged into `headers`. */
export function withKey(headers: Record<string, string> = {}): Record<string, string> {
  if (harnessKey === undefined) throw new Error('withKey: no harness started in this file');
  return { ...bearer(harnessKey), ...headers };
}

export interface CallOptions {
  /** The key to send; null: none; omitted: the harness's. */
  key?: string | null;
}

/** `body` is sent as JSON; `raw` sends bytes as they are, with the given content type. */
export async function call(
  base: string,
  method: string,
  route: string,
  body?: unknown,
  raw?: { text: string; contentType: string },
  options: CallOptions = {},
): Promise<Answer> {
  const init: RequestInit = { method };
  const key = options.key === undefined ? harnessKey : options.key;
  const headers: Record<string, string> = key === null || key === undefined ? {} : bearer(key);
  if (raw !== undefined) {
    init.body = raw.text;
    headers['content-type'] = raw.contentType;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  init.headers = headers;
  const res = await fetch(base + route, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
}
