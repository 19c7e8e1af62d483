/**
 * Runs the engine's CDC job (changefeed/engine-main.ts) beside the engine server and restarts it
 * whenever it exits, as the stack's supervisor does for `tigerbeetle amqp`
 * (infra/tigerbeetle/cdc-supervise.sh): the job exits on any AMQP trouble by design, and a broker
 * that is down for a while only delays the feed, never the ledger. The job is a separate process
 * and a client of this server, like TigerBeetle's job is of a cluster; it is started by path, not
 * imported (the ledger room may not import the change feed's).
 *
 * Its stdout goes to this process's stderr, so the server's own stdout keeps only its lines
 * ("engine listening on …"); its stdin is a pipe it watches, so it stops when this process dies,
 * even by kill -9.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ENTRY = path.resolve(__dirname, '..', '..', 'changefeed', 'engine-main.ts');
/** Restart backoff: doubles from the minimum to the maximum; a run this long resets it. */
const RESTART_DELAY_MS_MIN = 1_000;
const RESTART_DELAY_MS_MAX = 30_000;
const HEALTHY_RUN_MS = 60_000;
/** The job confirms its batch in flight on SIGTERM; past this it is killed. */
const STOP_TIMEOUT_MS = 15_000;

export interface FeedSupervisorLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface FeedSupervisor {
  stop(): Promise<void>;
}

export function superviseChangeFeed(options: {
  /** The engine server's host:port, for the job to read from. */
  address: string;
  /** Its ENGINE_SECRET, handed to the job through its environment only. */
  secret: string;
  engineId: string;
  log: FeedSupervisorLog;
}): FeedSupervisor {
  let child: ChildProcess | null = null;
  let stopping = false;
  let delayMs = RESTART_DELAY_MS_MIN;
  let restartTimer: NodeJS.Timeout | null = null;

  const start = (): void => {
    restartTimer = null;
    if (stopping) return;
    const startedAt = Date.now();
    const job = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      env: {
        ...process.env,
        ENGINE_ADDRESS: options.address,
        ENGINE_SECRET: options.secret,
        ENGINE_ID: options.engineId,
        ENGINE_FEED_WITH_PARENT: '1',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    job.stdout!.pipe(process.stderr, { end: false });
    job.stdin!.on('error', () => undefined); // EPIPE once the job has exited
    child = job;
    job.once('exit', (code, signal) => {
      child = null;
      if (stopping) return;
      if (Date.now() - startedAt >= HEALTHY_RUN_MS) delayMs = RESTART_DELAY_MS_MIN;
      options.log.error(
        { code, signal, restartInMs: delayMs },
        'engine change feed exited; restarting it',
      );
      restartTimer = setTimeout(start, delayMs);
      delayMs = Math.min(delayMs * 2, RESTART_DELAY_MS_MAX);
    });
    options.log.info({ pid: job.pid, address: options.address }, 'engine change feed started');
  };
  start();

  return {
    stop: async () => {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const job = child;
      if (job === null || job.exitCode !== null || job.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => job.once('exit', () => resolve()));
      job.kill('SIGTERM');
      const killer = setTimeout(() => job.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(killer);
    },
  };
}
