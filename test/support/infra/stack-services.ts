/**
 * The stack's change-feed services, stopped and started the way infra/stack.sh does it — with
 * its own functions from infra/lib, under its lock — for tests that restart one hop of the feed:
 * RabbitMQ (`rabbitmq_down`, `rabbitmq_up`), Kafka (`kafka_down`, `kafka_launch; kafka_wait`) and
 * the supervised CDC job (its pid from the file its supervisor writes; whether it holds its lock
 * queue, as `stack.sh up` waits for). And the stack's health: `stack.sh status`, and `stack.sh up`
 * to bring back whatever a failed test left down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runScript, type ScriptRun } from './tb-fixtures';

/** The libraries stack.sh sources, in its order: every function below finds what it calls. */
const LIBS = ['common', 'kafka', 'tigerbeetle', 'rabbitmq', 'tigerbeetle-cdc'];
const CDC_JOB_PID_FILE = path.join(ROOT, '.run', 'tigerbeetle', 'cdc.pid');
/** A probe of RabbitMQ (rabbitmqctl) answers in about a second; past this it is not answering. */
const PROBE_TIMEOUT_MS = 20_000;
/** `stack.sh up` waits up to 120 s for Kafka and 90 s for RabbitMQ, started side by side. */
const STACK_UP_TIMEOUT_MS = 300_000;
const STATUS_TIMEOUT_MS = 60_000;
const OUTPUT_TAIL_CHARS = 4_000;

function script(body: string, locked: boolean): string {
  return [
    'set -euo pipefail',
    'LOG_TAG=test',
    ...LIBS.map((lib) => `source infra/lib/${lib}.sh`),
    `step() { ${body}; }`,
    // The stack's lock: a concurrent `stack.sh up` must not start what this step is stopping.
    locked ? 'with_lock "$RUN_DIR/stack.lock" step' : 'step',
  ].join('\n');
}

function failure(what: string, run: ScriptRun): Error {
  const how = run.code === null ? 'timed out' : `exit ${run.code}`;
  return new Error(
    `${what}: ${how} after ${Math.round(run.ms)} ms\n${run.output.slice(-OUTPUT_TAIL_CHARS)}`,
  );
}

/** Runs stack functions (e.g. `rabbitmq_down`) under the stack's lock; fails with their output. */
export async function stackStep(body: string, timeoutMs: number): Promise<ScriptRun> {
  const run = await runScript('bash', ['-c', script(body, true)], process.env, timeoutMs);
  if (run.code !== 0) throw failure(body, run);
  return run;
}

/** True once the supervised CDC job holds its lock queue (connected to RabbitMQ, publishing). */
export async function cdcPublishing(): Promise<boolean> {
  const run = await runScript(
    'bash',
    ['-c', script('tb_cdc_locked', false)],
    process.env,
    PROBE_TIMEOUT_MS,
  );
  return run.code === 0;
}

/** The CDC job's pid while it is alive (a zombie counts as gone), else null. */
export function cdcJobPid(): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(CDC_JOB_PID_FILE, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? null : pid;
  } catch {
    return null;
  }
}

/** `bash infra/stack.sh status`: exit 0 when every service is running and healthy. */
export function stackStatus(): Promise<ScriptRun> {
  return runScript('bash', ['infra/stack.sh', 'status'], process.env, STATUS_TIMEOUT_MS);
}

/** Brings back whatever is down (`stack.sh up`, idempotent) unless `status` finds all healthy. */
export async function ensureStackUp(): Promise<string> {
  const status = await stackStatus();
  if (status.code === 0) return status.output;
  const up = await runScript('bash', ['infra/stack.sh', 'up'], process.env, STACK_UP_TIMEOUT_MS);
  if (up.code !== 0) throw failure(`stack.sh up (status was:\n${status.output})`, up);
  const after = await stackStatus();
  if (after.code !== 0) throw failure('stack.sh status after up', after);
  return after.output;
}
