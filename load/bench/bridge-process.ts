/**
 * A real bridge process for the benchmarks: `node --import tsx bridge/src/main.ts` on a fixed
 * port, on the ledger the run chose (ledger.ts: the TigerBeetle cluster, or an engine directory
 * of its own), with its own outcome topic; resolved once it prints its URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { type LedgerChoice, ledgerProcessEnv } from './ledger';

const ROOT = path.resolve(__dirname, '..', '..');

export interface BridgeProcessOptions {
  port: number;
  ledger: LedgerChoice;
  /** The engine's directory when `ledger` is the engine (unused on a cluster). */
  dataDir: string;
  topic: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}

export function startBridgeProcess(options: BridgeProcessOptions): Promise<ChildProcess> {
  const args = [...(options.nodeArgs ?? []), '--import', 'tsx', 'bridge/src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...ledgerProcessEnv(options.ledger),
      PORT: String(options.port),
      LOG_LEVEL: 'warn',
      ENGINE_DATA_DIR: options.dataDir,
      KAFKA_OUTCOMES_TOPIC: options.topic,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bridge exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ledger Bridge API:')) resolve(child);
    });
  });
}

/** SIGTERM (the bridge drains), then wait for the exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
