/**
 * A real bridge process for the benchmarks: `node --import tsx bridge/src/main.ts` on a fixed
 * port, on the ledger the run chose (ledger.ts: the TigerBeetle cluster, or an engine directory
 * of its own), with its own outcome topic; resolved once it answers /ready, with an API key of
 * every scope minted in its database for the bench's requests (`mintKey`, which the load runner's
 * stack uses too). Stopping it revokes that key: the benches' bridges share the development
 * database, and a bench leaves no key behind that still works.
 */
import { BRIDGE_NODE_FLAGS } from '../../core/node-flags';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type pg from 'pg';
import { loadConfig } from '../../core/config';
import { createDirectPool } from '../../core/postgres/pool';
import { createKey, type IssuedKey, revokeKey } from '../../bridge/src/access/key-store';
import { SCOPES } from '../../bridge/src/access/scopes';
import { type LedgerChoice, ledgerProcessEnv } from './ledger';
import { pinned } from '../runner/pin';

const ROOT = path.resolve(__dirname, '..', '..');
/** Longest a bridge that printed its URL may take to answer /ready (ms). */
const BRIDGE_READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 250;
const READY_REQUEST_TIMEOUT_MS = 2_000;

export interface BridgeProcessOptions {
  port: number;
  ledger: LedgerChoice;
  /** The engine's directory when `ledger` is the engine (unused on a cluster). */
  dataDir: string;
  topic: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** CPUs to pin the bridge to with taskset (../runner/pin.ts); absent or null: not pinned. */
  cpus?: readonly number[] | null;
  /** The checkout to run the bridge from (default: this one), e.g. a worktree of a baseline. */
  root?: string;
  /** More environment for the bridge (after the bench's own). */
  env?: Record<string, string>;
}

export interface BridgeProcess {
  child: ChildProcess;
  baseUrl: string;
  /** `lbk_<id>_<secret>`, every scope: send it as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** The headers every request to this bridge carries (the key). */
  headers: Record<string, string>;
  /** Stops the process (it drains), then revokes the key. */
  stop(): Promise<void>;
}

async function withPool<T>(databaseUrl: string, use: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createDirectPool({ url: databaseUrl, max: 1, applicationName: 'load-key' });
  try {
    return await use(pool);
  } finally {
    await pool.end();
  }
}

/**
 * An API key with every scope, named `name`, in the bridge database at `databaseUrl`. Call it
 * once the bridge answered /ready: it has applied its migrations, table `api_key` among them.
 */
export function mintKey(databaseUrl: string, name: string): Promise<IssuedKey> {
  return withPool(databaseUrl, (pool) => createKey(pool, { name, scopes: SCOPES }));
}

/** Resolves once GET `url` answers 200; rejects when `child` exits or the time is up. */
export async function waitReady(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the service exited (${child.signalCode ?? child.exitCode}) before ${url}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(READY_REQUEST_TIMEOUT_MS) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

/** Resolves when the bridge prints its URL; rejects if it exits first. */
function printedUrl(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bridge exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ledger Bridge API:')) resolve();
    });
  });
}

export async function startBridgeProcess(options: BridgeProcessOptions): Promise<BridgeProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...ledgerProcessEnv(options.ledger),
    PORT: String(options.port),
    LOG_LEVEL: 'warn',
    ENGINE_DATA_DIR: options.dataDir,
    KAFKA_OUTCOMES_TOPIC: options.topic,
    ...options.env,
  };
  // The database the bridge migrates, read from the environment it starts with.
  const databaseUrl = loadConfig(env).DATABASE_DIRECT_URL;
  const flags = [...BRIDGE_NODE_FLAGS, ...(options.nodeArgs ?? [])];
  const args = [...flags, '--import', 'tsx', 'bridge/src/main.ts'];
  const run = pinned(options.cpus ?? null, process.execPath, args);
  const child = spawn(run.command, run.args, {
    cwd: options.root ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${options.port}`;
  let key: IssuedKey;
  try {
    await printedUrl(child);
    await waitReady(`${baseUrl}/ready`, child, BRIDGE_READY_TIMEOUT_MS);
    key = await mintKey(databaseUrl, `bench ${options.topic}`);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return {
    child,
    baseUrl,
    apiKey: key.text,
    headers: { authorization: `Bearer ${key.text}` },
    stop: async () => {
      await stopProcess(child);
      await withPool(databaseUrl, (pool) => revokeKey(pool, key.record.id));
    },
  };
}

/** SIGTERM (the bridge drains), then wait for the exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
