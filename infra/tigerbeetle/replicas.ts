/**
 * The local stack's TigerBeetle replicas as processes (.run/tigerbeetle, as `infra/stack.sh up`
 * left them), for whoever puts faults on them (the chaos run, the replica-fault tests): a
 * replica's pid and port, a crash (SIGKILL of the pid in its pid file, then the port refusing),
 * and the argv it was started with (to start it again somewhere else: a network namespace).
 * Starting what is down is infra/tigerbeetle/start.sh's job.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { readLocalCluster, type LocalCluster } from './local';

const ROOT = path.resolve(__dirname, '..', '..');
export const STACK_TB_DIR = path.join(ROOT, '.run', 'tigerbeetle');
const POLL_MS = 50;
/**
 * What a TigerBeetle 0.17 replica logs while it is behind the cluster: repairing prepares it
 * missed, or state sync when the cluster checkpointed past its log. Killing another replica
 * meanwhile leaves no quorum that can commit (seen here: a 12 s stall), so a test waits for quiet.
 */
const CATCHING_UP = /lagging behind|not replicating|no matching prepare|request sync|sync: ops=/;
const CAUGHT_UP_QUIET_MS = 2_000;
const CATCH_UP_TIMEOUT_MS = 90_000;
const KILL_TIMEOUT_MS = 10_000;

export function stackCluster(): LocalCluster {
  const local = readLocalCluster(path.join(STACK_TB_DIR, 'cluster.env'));
  if (local === null) throw new Error(`no cluster.env under ${STACK_TB_DIR}`);
  return local;
}

function pidFile(replica: number): string {
  return path.join(STACK_TB_DIR, `replica-${replica}.pid`);
}

/** The stack cluster's own settings for its scripts (start.sh, status.ts), over `base`. */
export function stackClusterEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const local = stackCluster();
  return {
    ...base,
    TB_RUN_DIR: STACK_TB_DIR,
    TB_CLUSTER_ID: local.TB_CLUSTER_ID,
    TB_ADDRESSES: local.TB_ADDRESSES,
    TB_BASE_PORT: String(replicaPort(0)),
  };
}

export function replicaPort(replica: number): number {
  const address = stackCluster().TB_ADDRESSES.split(',')[replica];
  if (address === undefined) throw new Error(`the stack cluster has no replica ${replica}`);
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** The process's pid when it is alive (a zombie counts as gone), else null. */
export function livePid(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? null : pid;
  } catch {
    return null;
  }
}

/** The replica's pid when it is alive, by its pid file, else null. */
export function replicaPid(replica: number): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(replica), 'utf8').trim());
  } catch {
    return null;
  }
  return livePid(pid);
}

/** The command line the replica runs with (binary first), from /proc. */
export function replicaArgv(replica: number): string[] {
  const pid = replicaPid(replica);
  if (pid === null) throw new Error(`replica ${replica} is not running (${pidFile(replica)})`);
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A crash: SIGKILL, then wait until the replica's port refuses connections. */
export async function killReplica(replica: number): Promise<void> {
  const pid = replicaPid(replica);
  if (pid === null) throw new Error(`replica ${replica} is not running (${pidFile(replica)})`);
  process.kill(pid, 'SIGKILL');
  const port = replicaPort(replica);
  const deadline = Date.now() + KILL_TIMEOUT_MS;
  while ((await portOpen(port)) || replicaPid(replica) !== null) {
    if (Date.now() > deadline) throw new Error(`replica ${replica} (pid ${pid}) outlived SIGKILL`);
    await sleep(POLL_MS);
  }
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
