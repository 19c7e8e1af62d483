// Proves the logic of tb-cluster/{format,start,stop}.sh — TigerBeetle's documented flags, format
// idempotency, background replicas with pid files, clear refusals — against a stand-in `tigerbeetle`
// that records its arguments and listens on its port. It is no TigerBeetle: the real binary is not
// installable here, and the cluster itself is checked through the client by tb-cluster/status.ts.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const SCRIPT_TIMEOUT_MS = 40_000;
const TEST_TIMEOUT_MS = 60_000;
// Away from the real cluster's 3001-3003, so a running local cluster is never disturbed.
const BASE_PORT = 47301;
const PORTS = [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2];
const ADDRESSES = PORTS.map((port) => `127.0.0.1:${port}`).join(',');

// format: writes its arguments into the data file (refusing an existing one, as TigerBeetle does).
// start: reads its replica index back from the data file and listens on that replica's address.
const FAKE_TIGERBEETLE = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >>"$FAKE_TB_CALLS"
file="\${@: -1}"
case "$1" in
  format)
    [[ ! -e "$file" ]] || { echo "error: $file already exists" >&2; exit 1; }
    echo "$*" >"$file" ;;
  start)
    replica="$(grep -o -- '--replica=[0-9]*' "$file" | cut -d= -f2)"
    addresses="$(echo "$2" | cut -d= -f2)"
    port="$(echo "$addresses" | cut -d, -f$((replica + 1)) | cut -d: -f2)"
    exec node -e "require('net').createServer((s) => s.end()).listen($port, '127.0.0.1')" ;;
  *) echo "unknown command $1" >&2; exit 2 ;;
esac
`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1_000 });
    socket.once('connect', () => done(socket.destroy() !== undefined));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(socket.destroy() === undefined));
  });
}

describe('tb-cluster scripts', () => {
  const work = mkdtempSync(join(tmpdir(), 'tb-scripts-'));
  const fakeBin = join(work, 'tigerbeetle');
  const dataDir = join(work, 'data');
  const calls = join(work, 'calls.log');
  const env = {
    ...process.env,
    TB_BIN: fakeBin,
    TB_RUN_DIR: dataDir,
    TB_BASE_PORT: String(BASE_PORT),
    TB_CLUSTER_ID: '0',
    FAKE_TB_CALLS: calls,
  };

  function run(script: string, overrides: Record<string, string | undefined> = {}): Run {
    const result = spawnSync('bash', [join(ROOT, 'tb-cluster', script)], {
      env: { ...env, ...overrides },
      encoding: 'utf8',
      timeout: SCRIPT_TIMEOUT_MS,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  const recordedCalls = (): string[] =>
    existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [];

  beforeAll(() => {
    writeFileSync(fakeBin, FAKE_TIGERBEETLE);
    chmodSync(fakeBin, 0o755);
  });

  afterAll(() => {
    run('stop.sh');
    rmSync(work, { recursive: true, force: true });
  });

  test('refuse clearly without an executable TB_BIN', () => {
    const unset = run('format.sh', { TB_BIN: undefined });
    expect(unset.status).not.toBe(0);
    expect(unset.stderr).toMatch(/TB_BIN is not set/);
    const notExecutable = run('start.sh', { TB_BIN: join(work, 'missing') });
    expect(notExecutable.status).not.toBe(0);
    expect(notExecutable.stderr).toMatch(/is not an executable file/);
    expect(recordedCalls()).toEqual([]);
  });

  test(
    'format writes each replica once with the documented flags',
    () => {
      const first = run('format.sh');
      expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: '' });
      const files = [0, 1, 2].map((replica) => join(dataDir, `0_${replica}.tigerbeetle`));
      expect(recordedCalls()).toEqual(
        files.map(
          (file, replica) =>
            `format --cluster=0 --replica=${replica} --replica-count=3 ${file}.formatting`,
        ),
      );
      expect(files.every((file) => existsSync(file))).toBe(true);

      const second = run('format.sh');
      expect(second.status).toBe(0);
      expect(second.stdout.match(/exists, skipped/g)).toHaveLength(3);
      expect(recordedCalls()).toHaveLength(3);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'start launches three listening replicas, prints TB_ADDRESSES, and is idempotent',
    async () => {
      const started = run('start.sh');
      expect({ status: started.status, stderr: started.stderr }).toEqual({ status: 0, stderr: '' });
      expect(started.stdout).toContain(`export TB_ADDRESSES=${ADDRESSES}`);
      const starts = recordedCalls().filter((call) => call.startsWith('start'));
      expect(starts).toEqual(
        [0, 1, 2].map(
          (replica) =>
            `start --addresses=${ADDRESSES} ${join(dataDir, `0_${replica}.tigerbeetle`)}`,
        ),
      );
      expect(await Promise.all(PORTS.map(portOpen))).toEqual([true, true, true]);

      const again = run('start.sh');
      expect(again.status).toBe(0);
      expect(again.stdout.match(/already running/g)).toHaveLength(3);
      expect(recordedCalls().filter((call) => call.startsWith('start'))).toHaveLength(3);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'stop ends every replica and removes the pid files',
    async () => {
      const stopped = run('stop.sh');
      expect({ status: stopped.status, stderr: stopped.stderr }).toEqual({ status: 0, stderr: '' });
      expect(stopped.stdout.match(/stopped/g)).toHaveLength(3);
      expect(await Promise.all(PORTS.map(portOpen))).toEqual([false, false, false]);
      expect([0, 1, 2].some((replica) => existsSync(join(dataDir, `replica-${replica}.pid`)))).toBe(
        false,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
