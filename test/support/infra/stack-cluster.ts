/**
 * The stack's own TigerBeetle cluster (.run/tigerbeetle, as `infra/stack.sh up` left it), for tests
 * that put faults on it: kill a replica as a crash would (SIGKILL of the pid in its pid file),
 * restart what is down with the project's own infra/tigerbeetle/start.sh, and wait for a client round
 * trip (infra/tigerbeetle/status.ts, in its own process, as the stack does).
 */
import path from 'node:path';
import { readLocalCluster } from '../../../infra/tigerbeetle/local';
import {
  killReplica,
  replicaLogOffset,
  replicaPid,
  stackClusterEnv,
  STACK_TB_DIR,
  stackCluster,
  waitCaughtUp,
} from '../../../infra/tigerbeetle/replicas';
import { isCi, ROOT, runScript, type ScriptRun } from './tb-fixtures';

export { killReplica, replicaLogOffset, replicaPid, stackCluster, STACK_TB_DIR, waitCaughtUp };

/** The first round trip after a restart may wait for a view change: the stack allows 30 s. */
const ROUND_TRIP_TIMEOUT_MS = 30_000;
/** start.sh waits up to 60 s per replica for its port; past this the restart itself is broken. */
const START_TIMEOUT_MS = 120_000;

/**
 * Why these tests cannot put faults on the stack's cluster here, or null when they can: they need
 * the server binary (TB_BIN, to restart replicas) and TB_ADDRESSES naming the stack's cluster
 * (never kill replicas of a cluster this checkout did not start).
 */
export function stackClusterMissing(): string | null {
  if ((process.env.TB_BIN ?? '') === '') return 'TB_BIN is unset (no server to restart replicas)';
  if ((process.env.TB_ADDRESSES ?? '') === '') return 'TB_ADDRESSES is unset (no cluster)';
  const local = readLocalCluster(path.join(STACK_TB_DIR, 'cluster.env'));
  if (local === null) return `the stack runs no TigerBeetle cluster (${STACK_TB_DIR})`;
  if (local.TB_ADDRESSES !== process.env.TB_ADDRESSES) {
    const given = process.env.TB_ADDRESSES;
    return `TB_ADDRESSES=${given} is not the stack's cluster (${local.TB_ADDRESSES})`;
  }
  return null;
}

/** `describe` when the cluster is there; else a failure in CI, a visible skip elsewhere. */
export function describeOnStackCluster(name: string, body: () => void): void {
  const missing = stackClusterMissing();
  if (missing === null) return describe(name, body);
  if (isCi()) {
    return describe(name, () => {
      it('needs the stack cluster', () => {
        throw new Error(`CI runs this on the stack's TigerBeetle cluster, but ${missing}`);
      });
    });
  }
  console.warn(`SKIPPED "${name}": ${missing}`);
  describe(name, () => it.skip(`needs the stack's TigerBeetle cluster: ${missing}`, () => {}));
}

/** `bash infra/tigerbeetle/start.sh`: starts the replicas that are down, leaves the others alone. */
export async function startStackReplicas(): Promise<ScriptRun> {
  const run = await runScript(
    'bash',
    ['infra/tigerbeetle/start.sh'],
    stackClusterEnv(),
    START_TIMEOUT_MS,
  );
  if (run.code !== 0)
    throw new Error(`infra/tigerbeetle/start.sh failed (${run.code}):\n${run.output}`);
  return run;
}

/** A client round trip through the cluster (infra/tigerbeetle/status.ts), as `stack.sh up` waits for. */
export async function waitForRoundTrip(): Promise<ScriptRun> {
  const env = { ...stackClusterEnv(), LEDGER_REQUEST_TIMEOUT_MS: String(ROUND_TRIP_TIMEOUT_MS) };
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const run = await runScript(
    tsx,
    ['infra/tigerbeetle/status.ts'],
    env,
    ROUND_TRIP_TIMEOUT_MS + 10_000,
  );
  if (run.code !== 0) throw new Error(`no client round trip (${run.code}):\n${run.output}`);
  return run;
}

/** Every replica of the stack's cluster alive, by its pid file. */
export function replicasAlive(): number[] {
  const count = stackCluster().TB_ADDRESSES.split(',').length;
  return Array.from({ length: count }, (_, i) => i).filter((i) => replicaPid(i) !== null);
}
