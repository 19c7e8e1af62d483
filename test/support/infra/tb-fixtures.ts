/**
 * What the tests of infra/tigerbeetle/{format,start,stop,status} share: running the project's own scripts
 * with a chosen environment, stand-in servers, free ports away from the stack's, and the
 * replicas a script left running in a temporary TB_RUN_DIR.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { portOpen } from '../../../infra/tigerbeetle/replicas';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The ports these tests take: far from the stack's (3001-3003, 5xxxx). */
const PORT_RANGE = { first: 47_000, last: 47_990 };

export interface ScriptRun {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  ms: number;
}

/** Runs a command from the repository root; never rejects (the caller judges the exit code). */
export function runScript(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ScriptRun> {
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output, ms: performance.now() - started });
    });
  });
}

/**
 * The test process's environment without any cluster setting (jest's set-up put the stack's
 * cluster in it), plus `overrides`; an override of `undefined` removes the variable.
 */
export function cleanEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('TB_') || name === 'LEDGER_REQUEST_TIMEOUT_MS') delete env[name];
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** `bash infra/tigerbeetle/<script>` with exactly the environment given. */
export function runTbScript(script: string, env: NodeJS.ProcessEnv): Promise<ScriptRun> {
  return runScript('bash', [path.join('infra', 'tigerbeetle', script)], env, 90_000);
}

/** The tigerbeetle-node release the bridge is built with (package.json pins it exactly). */
export function clientRelease(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return pkg.dependencies['tigerbeetle-node'] as string;
}

/**
 * A temporary directory for one describe block, made when its tests start and removed after
 * them (made at collection, it would outlive a run that filters those tests out).
 */
export function useTempDir(prefix: string): () => string {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

export function writeExecutable(file: string, text: string): string {
  fs.writeFileSync(file, text);
  fs.chmodSync(file, 0o755);
  return file;
}

/**
 * A server of another release: answers `version` (and `version --verbose`) as TigerBeetle does,
 * records any other command in `calls` and fails it.
 */
export function releaseStandIn(dir: string, release: string, calls: string): string {
  return writeExecutable(
    path.join(dir, `tigerbeetle-${release}`),
    `#!/usr/bin/env bash
if [[ "$1" == version ]]; then
  echo "TigerBeetle version ${release}+0000000"
  [[ "\${2:-}" == --verbose ]] && echo "process.release=${release}" &&
    echo "process.release_client_min=0.16.4"
  exit 0
fi
echo "$*" >>"${calls}"
echo "stand-in for TigerBeetle ${release}: not running $1" >&2
exit 3
`,
  );
}

/**
 * The real server for every command (`version`, `format`, `inspect`) but `start`, which only
 * listens on the replica's address, so a test can run start.sh without the ~2.3 GiB each real
 * replica takes. Every command is recorded in `calls`. With FAKE_TB_INTERRUPT_FORMAT=1 in its
 * environment, `format` dies (exit 137, as under SIGKILL) right after the real format wrote it.
 */
export function startFakingServer(dir: string, realBin: string, calls: string): string {
  return writeExecutable(
    path.join(dir, 'tigerbeetle'),
    `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >>"${calls}"
if [[ "$1" == start ]]; then
  file="\${@: -1}"
  name="$(basename "$file" .tigerbeetle)"
  replica="\${name##*_}"
  addresses="\${2#--addresses=}"
  port="$(cut -d, -f$((replica + 1)) <<<"$addresses" | cut -d: -f2)"
  exec "${process.execPath}" -e \\
    "require('net').createServer((s) => s.end()).listen($port, '127.0.0.1')"
fi
if [[ "$1" == format && "\${FAKE_TB_INTERRUPT_FORMAT:-}" == 1 ]]; then
  "${realBin}" "$@"
  exit 137
fi
exec "${realBin}" "$@"
`,
  );
}

export function recordedCalls(calls: string): string[] {
  return fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [];
}

export { portOpen };

function canListen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** A base port whose `count` consecutive ports are free now, in the tests' range. */
export async function freeBasePort(count = 3): Promise<number> {
  const span = PORT_RANGE.last - PORT_RANGE.first - count;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = PORT_RANGE.first + Math.floor(Math.random() * span);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(canListen))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports in ${PORT_RANGE.first}-${PORT_RANGE.last}`);
}

/** Holds a port as another program would, until `close`. */
export function occupy(port: number): Promise<net.Server> {
  return new Promise((done, fail) => {
    const server = net.createServer((socket) => socket.end());
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done(server));
  });
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** The replicas whose pid file in `runDir` names a live process: {replica index: pid}. */
export function liveReplicas(runDir: string): Record<number, number> {
  if (!fs.existsSync(runDir)) return {};
  const live: Record<number, number> = {};
  for (const name of fs.readdirSync(runDir)) {
    const match = /^replica-(\d+)\.pid$/.exec(name);
    if (match === null) continue;
    const pid = Number(fs.readFileSync(path.join(runDir, name), 'utf8').trim());
    if (pid > 0 && alive(pid)) live[Number(match[1])] = pid;
  }
  return live;
}

/** SIGKILL to whatever a script left running in `runDir`: a failed test must not leak replicas. */
export function killReplicas(runDir: string): number[] {
  const pids = Object.values(liveReplicas(runDir));
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  return pids;
}

export function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false';
}

/**
 * `describe` when the real server binary is at hand (TB_BIN); else a failure in CI, where it
 * always is, and a visible skip elsewhere.
 */
export function describeWithServer(name: string, body: (realBin: string) => void): void {
  const realBin = process.env.TB_BIN ?? '';
  if (realBin !== '') return describe(name, () => body(realBin));
  if (isCi()) {
    return describe(name, () => {
      it('needs the TigerBeetle server', () => {
        throw new Error('CI exports TB_BIN (the tigerbeetle server binary); it is unset here');
      });
    });
  }
  console.warn(`SKIPPED "${name}": TB_BIN is unset (no TigerBeetle server binary)`);
  describe(name, () => it.skip('needs TB_BIN (the TigerBeetle server binary)', () => {}));
}
