/**
 * The local stack's TigerBeetle cluster, as `infra/stack.sh up` left it: the settings its clients
 * need, written to .run/tigerbeetle/cluster.env once the cluster answered a client round trip, and
 * removed when the stack stops it. `npm start`, the tests and the load runner read them here, so
 * only the stack decides where the cluster is.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface LocalCluster {
  TB_CLUSTER_ID: string;
  TB_ADDRESSES: string;
}

export function localClusterEnvFile(runDir = path.join(ROOT, '.run', 'tigerbeetle')): string {
  return path.join(runDir, 'cluster.env');
}

/** The running local cluster's settings, or null when the stack runs none. */
export function readLocalCluster(file = localClusterEnvFile()): LocalCluster | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const values = new Map(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const clusterId = values.get('TB_CLUSTER_ID');
  const addresses = values.get('TB_ADDRESSES');
  if (clusterId === undefined || addresses === undefined) {
    throw new Error(`${file}: expected TB_CLUSTER_ID and TB_ADDRESSES, found ${text.trim()}`);
  }
  return { TB_CLUSTER_ID: clusterId, TB_ADDRESSES: addresses };
}

/**
 * The ledger settings a local process should run with: what the caller set wins (TB_ADDRESSES set
 * but empty: no cluster, the embedded engine); what it left unset comes from the local cluster;
 * with no local cluster, nothing (the embedded engine).
 */
export function ledgerEnv(
  env: NodeJS.ProcessEnv,
  readLocal: () => LocalCluster | null = readLocalCluster,
): Partial<LocalCluster> {
  if (env.TB_ADDRESSES !== undefined) return {};
  const local = readLocal();
  if (local === null) return {};
  return env.TB_CLUSTER_ID === undefined ? local : { TB_ADDRESSES: local.TB_ADDRESSES };
}
