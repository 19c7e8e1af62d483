/**
 * The stack's own TigerBeetle cluster (.run/tigerbeetle, as `infra/stack.sh up` left it), for tests
 * that put faults on it: kill a replica as a crash would (SIGKILL of the pid in its pid file),
 * restart what is down with the project's own infra/tigerbeetle/start.sh, and wait for a client round
 * trip (infra/tigerbeetle/status.ts, in its own process, as the stack does).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readLocalCluster, type LocalCluster } from '../../../infra/tigerbeetle/local';
import { isCi, portOpen, ROOT, runScript, type ScriptRun } from './tb-fixtures';

export const STACK_TB_DIR = path.join(ROOT, '.run', 'tigerbeetle');
/** The first round trip after a restart may wait for a view change: the stack allows 30 s. */
const ROUND_TRIP_TIMEOUT_MS = 30_000;
/** start.sh waits up to 60 s per replica for its port; past this the restart itself is broken. */
const START_TIMEOUT_MS = 120_000;
const POLL_MS = 50;
/**
 * What a TigerBeetle 0.17 replica logs while it is behind the cluster: repairing prepares it
 * missed, or state sync when the cluster checkpointed past its log. Killing another replica
 * meanwhile leaves no quorum that can commit (seen here: a 12 s stall), so a test waits for quiet.
 */
const CATCHING_UP = /lagging behind|not replicating|no matching prepare|request sync|sync: ops=/;
const CAUGHT_UP_QUIET_MS = 2_000;
const CATCH_UP_TIMEOUT_MS = 90_000;

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

export function stackCluster(): LocalCluster {
  const local = readLocalCluster(path.join(STACK_TB_DIR, 'cluster.env'));
  if (local === null) throw new Error(`no cluster.env under ${STACK_TB_DIR}`);
  return local;
}

function pidFile(replica: number): string {
  return path.join(STACK_TB_DIR, `replica-${replica}.pid`);
}

function replicaPort(replica: number): number {
  const address = stackCluster().TB_ADDRESSES.split(',')[replica];
  if (address === undefined) throw new Error(`the stack cluster has no replica ${replica}`);
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** The replica's pid when it is alive (a zombie counts as gone), else null. */
export function replicaPid(replica: number): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(replica), 'utf8').trim());
  } catch {
    return null;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? null : pid;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A crash: SIGKILL, then wait until the replica's port refuses connections. */
export async function killReplica(replica: number): Promise<void> {
  const pid = replicaPid(replica);
  if (pid === null) throw new Error(`replica ${replica} is not running (${pidFile(replica)})`);
  process.kill(pid, 'SIGKILL');
  const port = replicaPort(replica);
  const deadline = Date.now() + 10_000;
  while ((await portOpen(port)) || replicaPid(replica) !== null) {
    if (Date.now() > deadline) throw new Error(`replica ${replica} (pid ${pid}) outlived SIGKILL`);
    await sleep(POLL_MS);
  }
}

/** The stack cluster's own settings for its scripts, whatever else the test process carries. */
function clusterEnv(): NodeJS.ProcessEnv {
  const local = stackCluster();
  return {
    ...process.env,
    TB_RUN_DIR: STACK_TB_DIR,
    TB_CLUSTER_ID: local.TB_CLUSTER_ID,
    TB_ADDRESSES: local.TB_ADDRESSES,
    TB_BASE_PORT: String(replicaPort(0)),
  };
}

/** `bash infra/tigerbeetle/start.sh`: starts the replicas that are down, leaves the others alone. */
export async function startStackReplicas(): Promise<ScriptRun> {
  const run = await runScript(
    'bash',
    ['infra/tigerbeetle/start.sh'],
    clusterEnv(),
    START_TIMEOUT_MS,
  );
  if (run.code !== 0)
    throw new Error(`infra/tigerbeetle/start.sh failed (${run.code}):\n${run.output}`);
  return run;
}

/** A client round trip through the cluster (infra/tigerbeetle/status.ts), as `stack.sh up` waits for. */
export async function waitForRoundTrip(): Promise<ScriptRun> {
  const env = { ...clusterEnv(), LEDGER_REQUEST_TIMEOUT_MS: String(ROUND_TRIP_TIMEOUT_MS) };
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

function logFile(replica: number): string {
  return path.join(STACK_TB_DIR, `replica-${replica}.log`);
}

/** The replica log's size now: where to read what it logs after a restart. */
export function replicaLogOffset(replica: number): number {
  return fs.existsSync(logFile(replica)) ? fs.statSync(logFile(replica)).size : 0;
}

/** What the replica logged from `offset` on, and the offset after it. */
function logSince(replica: number, offset: number): { text: string; end: number } {
  const end = replicaLogOffset(replica);
  if (end <= offset) return { text: '', end: offset };
  const fd = fs.openSync(logFile(replica), 'r');
  try {
    const bytes = Buffer.alloc(end - offset);
    fs.readSync(fd, bytes, 0, bytes.length, offset);
    return { text: bytes.toString('utf8'), end };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Waits until a restarted replica has joined a view and has logged nothing about catching up for
 * CAUGHT_UP_QUIET_MS while `traffic` keeps the cluster preparing (a replica behind says so on
 * every prepare it receives). `offset`: the log's size before the restart. Returns the wait (ms).
 */
export async function waitCaughtUp(
  replica: number,
  offset: number,
  traffic: () => Promise<unknown>,
): Promise<number> {
  const started = performance.now();
  let read = offset;
  let joined = false;
  let noisyAt = started;
  while (performance.now() - noisyAt < CAUGHT_UP_QUIET_MS || !joined) {
    if (performance.now() - started > CATCH_UP_TIMEOUT_MS) {
      throw new Error(`replica ${replica} still catching up after ${CATCH_UP_TIMEOUT_MS} ms`);
    }
    await traffic();
    await sleep(POLL_MS);
    const { text, end } = logSince(replica, read);
    read = end;
    joined ||= text.includes('transition_to_normal');
    if (CATCHING_UP.test(text)) noisyAt = performance.now();
  }
  return performance.now() - started;
}
