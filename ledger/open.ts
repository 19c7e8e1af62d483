/**
 * Chooses the Ledger adapter from configuration: a TigerBeetle cluster when TB_ADDRESSES lists
 * its replicas; else the embedded engine (development, CI, benchmarks of the bridge itself) —
 * a shared engine server when ENGINE_ADDRESS names one, or opened in this process.
 */
import { openEmbeddedLedger } from './engine';
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';
import { openEngineClient } from './engine/client';
import type { Ledger } from './port';
import { openTigerBeetleLedger } from './tigerbeetle/client';

export type LedgerKind = 'tigerbeetle' | 'embedded' | 'engine-server';

export interface OpenedLedger {
  kind: LedgerKind;
  ledger: Ledger;
  /** Where it lives, for logs and /health: the replica addresses or the data directory. */
  where: string;
}

export async function openLedger(config: Config): Promise<OpenedLedger> {
  if (config.TB_ADDRESSES !== undefined) {
    const ledger = await openTigerBeetleLedger({
      clusterId: config.TB_CLUSTER_ID,
      addresses: config.TB_ADDRESSES,
      requestTimeoutMs: config.LEDGER_REQUEST_TIMEOUT_MS,
    });
    return { kind: 'tigerbeetle', ledger, where: config.TB_ADDRESSES.join(',') };
  }
  if (config.ENGINE_ADDRESS !== undefined) {
    const ledger = await openEngineClient({
      address: config.ENGINE_ADDRESS,
      // Present: loadConfig requires it with ENGINE_ADDRESS; the client checks it again.
      secret: config.ENGINE_SECRET ?? '',
      requestTimeoutMs: config.LEDGER_REQUEST_TIMEOUT_MS,
    });
    return { kind: 'engine-server', ledger, where: `tcp://${config.ENGINE_ADDRESS}` };
  }
  const ledger = await openEmbeddedLedger({
    dataDir: config.ENGINE_DATA_DIR,
    fsync: config.ENGINE_FSYNC,
  });
  return { kind: 'embedded', ledger, where: config.ENGINE_DATA_DIR };
}

/**
 * One lookup at start, so a misconfigured cluster is named in the log at once instead of as 503s:
 * replicas of another cluster drop our client without an answer, as do replicas that are down.
 * Not fatal: a cluster that comes up later is used as soon as it answers.
 */
export async function probeLedger(
  opened: OpenedLedger,
  config: Config,
  log: Logger,
): Promise<void> {
  const started = Date.now();
  try {
    await opened.ledger.lookupAccounts([1n]);
    log.info({ ledger: opened.kind, ms: Date.now() - started }, 'ledger answering');
  } catch (error) {
    log.error(
      { err: error, ledger: opened.kind, at: opened.where },
      opened.kind === 'tigerbeetle'
        ? `the TigerBeetle cluster ${config.TB_CLUSTER_ID} at ${opened.where} did not answer: ` +
            'check TB_CLUSTER_ID (replicas of another cluster drop our client silently), ' +
            'TB_ADDRESSES (every replica, in replica order) and that the replicas run ' +
            '(npm run tb:status says which)'
        : 'the ledger did not answer',
    );
  }
}
