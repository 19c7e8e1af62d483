/**
 * The chaos run's hands on the local stack: `infra/stack.sh start|stop|kill SERVICE` for the
 * services, and the TigerBeetle replicas as processes (infra/tigerbeetle/replicas.ts): a crash,
 * infra/tigerbeetle/start.sh for whatever is down, and a partition.
 *
 * A partition moves one replica into a network namespace of the run's own (`unshare --net`, only
 * its loopback up): the replica runs on from its data file, but neither the other replicas nor any
 * client can reach it, nor it them. It is healed by stopping that process and starting the replica
 * again on the host (start.sh). Replicas address each other on 127.0.0.1, which a namespace of its
 * own cannot share, so a partition without a restart would need a forwarding proxy between every
 * pair; what the cluster sees is the same: one replica gone silent, then back with its own log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import {
  killReplica,
  livePid,
  replicaArgv,
  replicaLogOffset,
  stackClusterEnv,
  waitCaughtUp,
} from '../../infra/tigerbeetle/replicas';

const ROOT = path.resolve(__dirname, '..', '..');
/** start.sh waits up to 60 s per replica; stack.sh start waits for the service's health. */
const SCRIPT_TIMEOUT_MS = 180_000;

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), SCRIPT_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')}: ${signal ?? code}\n${output}`));
    });
  });
}

/** `bash infra/stack.sh <args>` (start|stop|kill SERVICE). */
export function stackCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return run('bash', ['infra/stack.sh', ...args], env);
}

export { killReplica, replicaLogOffset, waitCaughtUp };

/** infra/tigerbeetle/start.sh: starts the replicas that are down, leaves the others alone. */
export function startReplicas(): Promise<void> {
  return run('bash', ['infra/tigerbeetle/start.sh'], stackClusterEnv());
}

/** A replica running in a network namespace of its own. */
export interface Partitioned {
  replica: number;
  child: ChildProcess;
}

/** Moves `replica` into a namespace of its own: SIGKILL on the host, the same argv inside. */
export async function partitionReplica(replica: number): Promise<Partitioned> {
  const argv = replicaArgv(replica);
  await killReplica(replica);
  const child = spawn(
    'unshare',
    ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...argv],
    { cwd: ROOT, stdio: 'ignore', detached: true },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return { replica, child };
}

/**
 * Ends the partition's process: the replica is then down on the host until start.sh brings it
 * back (the fault's recovery does, and waits for it to catch up).
 */
export async function endPartition(partitioned: Partitioned): Promise<void> {
  const { child } = partitioned;
  if (child.pid !== undefined && livePid(child.pid) !== null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
