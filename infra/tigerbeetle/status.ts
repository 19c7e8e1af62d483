/**
 * `npm run tb:status`: is the TigerBeetle cluster in TB_ADDRESSES (else the local stack's) answering?
 * A lookup round trip through the same adapter the bridge uses. Exit 0 when it answers, 1 when it
 * does not or is misconfigured, 2 when there is no cluster to check. A failure says what is wrong
 * where it can be told: a cluster id the replicas refuse, addresses out of replica order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openLedger } from '../../ledger/open';
import { ledgerEnv, readLocalCluster } from './local';

const LOG_TAIL_BYTES = 64 * 1024;

/** Each replica log of the local cluster, and its size in bytes now. */
function replicaLogSizes(runDir: string): Map<string, number> {
  if (!fs.existsSync(runDir)) return new Map();
  return new Map(
    fs
      .readdirSync(runDir)
      .filter((name) => /^replica-\d+\.log$/.test(name))
      .map((name) => [name, fs.statSync(path.join(runDir, name)).size]),
  );
}

/**
 * Replica logs that refused our client for its cluster id during this check: only what they
 * logged since `before` counts, since a refusal from an earlier check (someone's typo last week)
 * says nothing about why the cluster does not answer now.
 */
function clusterIdRefused(runDir: string, before: Map<string, number>): string[] {
  return [...replicaLogSizes(runDir)].flatMap(([name, size]) => {
    // A log shorter than before was started afresh: all of it is new.
    const seen = before.get(name) ?? 0;
    const from = Math.max(seen <= size ? seen : 0, size - LOG_TAIL_BYTES);
    if (size <= from) return [];
    const fd = fs.openSync(path.join(runDir, name), 'r');
    const appended = Buffer.alloc(size - from);
    fs.readSync(fd, appended, 0, appended.length, from);
    fs.closeSync(fd);
    return appended.toString('utf8').includes('invalid header_cluster') ? [name] : [];
  });
}

/** The local cluster's replica order, when TB_ADDRESSES names its replicas in another order. */
export function orderMismatch(given: string[], local: string[]): string | null {
  const addresses = given.map(fullAddress);
  const same = addresses.length === local.length && addresses.every((a) => local.includes(a));
  if (!same || addresses.every((address, i) => address === local[i])) return null;
  return (
    `TB_ADDRESSES lists the replicas out of order: replica i must be entry i, ` +
    `as every replica was started with ${local.join(',')}`
  );
}

/** TigerBeetle's address forms, "3002", "127.0.0.1" or "127.0.0.1:3002", as host:port. */
function fullAddress(address: string): string {
  if (/^\d+$/.test(address)) return `127.0.0.1:${address}`;
  if (!address.includes(':')) return `${address}:3001`;
  return address;
}

async function main(): Promise<number> {
  // The local cluster's settings fill in only what is unset: a TB_CLUSTER_ID given is checked.
  const env = { ...process.env, ...ledgerEnv(process.env) };
  const config = loadConfig(env);
  if (config.TB_ADDRESSES === undefined) {
    console.error('no TigerBeetle cluster: TB_ADDRESSES is unset and the stack runs none.');
    return 2;
  }
  const runDir =
    process.env.TB_RUN_DIR ?? path.resolve(__dirname, '..', '..', '.run', 'tigerbeetle');
  const local = readLocalCluster(path.join(runDir, 'cluster.env'));
  const misordered =
    local === null ? null : orderMismatch(config.TB_ADDRESSES, local.TB_ADDRESSES.split(','));
  if (misordered !== null) {
    console.error(misordered);
    return 1;
  }
  const logsBefore = replicaLogSizes(runDir);
  const { ledger } = await openLedger(config);
  const started = process.hrtime.bigint();
  const where = `cluster ${config.TB_CLUSTER_ID} at ${config.TB_ADDRESSES.join(',')}`;
  try {
    await ledger.lookupAccounts([1n]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`${where}: answering (lookup round trip ${ms.toFixed(1)} ms)`);
    return 0;
  } catch (error) {
    const refused = clusterIdRefused(runDir, logsBefore);
    const hint =
      refused.length > 0
        ? `; the replicas refuse our cluster id (invalid header_cluster in ` +
          `${refused.join(', ')} under ${runDir}): TB_CLUSTER_ID must be the id the data files ` +
          `were formatted with${local === null ? '' : ` (${local.TB_CLUSTER_ID})`}`
        : '; are the replicas running (npm run stack -- status) and is TB_CLUSTER_ID right?';
    console.error(`${where}: not answering: ${(error as Error).message}${hint}`);
    return 1;
  } finally {
    await ledger.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
