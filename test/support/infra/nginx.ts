/**
 * The two nginx configurations as tests read and run them: the local stack's, written by
 * infra/lib/nginx.sh into a scratch run directory, and infra/nginx/production.conf made runnable
 * here (its upstreams and listen address pointed at this machine, its TLS lines switched on when
 * asked), and an nginx process on one of them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const NGINX = '/usr/sbin/nginx';
const START_TIMEOUT_MS = 10_000;

/** The local config as `stack.sh up` writes it; `port` and `upstreams` override the stack's. */
export function localConfig(runDir: string, port?: number, upstreams?: string): string {
  const script =
    'set -euo pipefail; source infra/lib/common.sh; RUN_DIR="$1"; ' +
    '[[ -n "$2" ]] && NGINX_PORT="$2"; [[ -n "$3" ]] && export NGINX_UPSTREAMS="$3"; ' +
    'source infra/lib/nginx.sh; nginx_write_config; cat "$NGINX_CONF"';
  const args = ['-c', script, 'nginx-test', runDir, String(port ?? ''), upstreams ?? ''];
  const result = spawnSync('bash', args, { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`nginx_write_config failed: ${result.stderr}`);
  return result.stdout;
}

export function productionConfig(): string {
  return fs.readFileSync(path.join(ROOT, 'infra', 'nginx', 'production.conf'), 'utf8');
}

/** Production with its commented TLS lines switched on, certificates read from `secrets`. */
export function enableTls(text: string, secrets = '/run/secrets'): string {
  const start = text.indexOf('    # listen 443 ssl;');
  const end = text.indexOf('    # }\n', start) + '    # }\n'.length;
  if (start < 0 || end < start) throw new Error('no commented TLS block in production.conf');
  const block = text
    .slice(start, end)
    .replace(/^(\s*)# /gm, '$1')
    .replaceAll('/run/secrets', secrets);
  return text.slice(0, start) + block + text.slice(end);
}

/** Production made to run here: upstreams, listen ports, logs and pid in `runDir`. */
export function productionForHere(
  text: string,
  runDir: string,
  ports: { http: number; https?: number; upstream: string },
): string {
  return `pid ${runDir}/nginx.pid;\n${text}`
    .replace(/bridge-\d:3000/g, ports.upstream)
    .replace(/\/var\/log\/nginx/g, runDir)
    .replace(/listen 80;/, `listen 127.0.0.1:${ports.http};`)
    .replace(/listen 443 ssl;/, `listen 127.0.0.1:${ports.https ?? 0} ssl;`);
}

/** `nginx -t` on `text`: its exit status and what it said. */
export function nginxCheck(text: string, dir: string): { status: number | null; stderr: string } {
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, text);
  const args = ['-t', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', file];
  const result = spawnSync(NGINX, args, { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningNginx {
  stop(): Promise<void>;
}

/** Runs nginx in the foreground on `text` until stop(); resolves once `port` accepts. */
export async function runNginx(text: string, dir: string, port: number): Promise<RunningNginx> {
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, text);
  const errorLog = path.join(dir, 'error.log');
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', dir, '-e', errorLog, '-c', file, '-g', 'daemon off;'],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const log = fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '';
      throw new Error(`nginx did not start on ${port}: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A TCP connect, not a request: requests would spend the rate limit under test. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
