/**
 * The ledger a test writes to: the real TigerBeetle cluster whenever TB_ADDRESSES names one (the
 * jest set-up takes it from the local stack), else the embedded engine in a fresh directory. A
 * cluster outlives test runs and is shared with other test files: a test on it uses ids unique to
 * its run, and compares only what it wrote (its accounts, its time window).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import type { Ledger } from '../../ledger/port';
import { openLedger } from '../../ledger/open';
import { openEmbeddedLedger } from '../../ledger/engine';

export interface TestLedger {
  ledger: Ledger;
  kind: 'tigerbeetle' | 'embedded';
  /** The engine's data directory (a test may close the ledger and hand it to a CLI); null on the cluster. */
  dataDir: string | null;
  /** Closes the ledger (and deletes the engine's directory). */
  dispose(): Promise<void>;
}

export async function openTestLedger(name: string): Promise<TestLedger> {
  const config = loadConfig(process.env);
  if (config.TB_ADDRESSES !== undefined) {
    const { ledger } = await openLedger(config);
    return { ledger, kind: 'tigerbeetle', dataDir: null, dispose: () => ledger.close() };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-engine-`));
  const ledger = await openEmbeddedLedger({ dataDir, fsync: false });
  return {
    ledger,
    kind: 'embedded',
    dataDir,
    dispose: async () => {
      await ledger.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The ledger's clock now, as a window's lower bound: TigerBeetle timestamps are ns since 1970. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
