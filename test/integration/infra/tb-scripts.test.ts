// Proves how infra/tigerbeetle/{format,start,stop}.sh operate a cluster, in a temporary TB_RUN_DIR on
// free 47xxx ports: format runs the real server with TigerBeetle's documented flags, writes data
// files its own superblock check accepts, once (a second run touches nothing, a failed one leaves
// no file to mistake for a ledger); start launches each replica in the background with a pid file,
// and is idempotent; stop ends them by their pid files, without TB_BIN. `start` itself is a
// listener standing in for the server (everything else is the real binary): the scripts always
// run 3 replicas, and 3 real ones take ~7 GiB. Real replicas are started by the stack, and
// restarted with start.sh by test/e2e/http/replica-faults.test.ts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  cleanEnv,
  describeWithServer,
  freeBasePort,
  killReplicas,
  liveReplicas,
  portOpen,
  recordedCalls,
  runTbScript,
  startFakingServer,
  useTempDir,
} from '../../support/infra/tb-fixtures';

const CLUSTER_ID = 7;
const REPLICAS = [0, 1, 2];
const TEST_TIMEOUT_MS = 60_000;

/** What the real server reads back from a data file's superblock. */
function superblock(realBin: string, file: string) {
  const text = execFileSync(realBin, ['inspect', 'superblock', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const field = (name: string) => new RegExp(`^\\|\\|\\|\\| ${name}=(\\S+)$`, 'm').exec(text)?.[1];
  const members = Array.from({ length: 6 }, (_, i) => field(`vsr_state.members\\[${i}\\]`));
  return {
    cluster: Number(BigInt(field('cluster') ?? 'NaN')),
    replicaCount: Number(field('vsr_state.replica_count')),
    replica: members.indexOf(field('vsr_state.replica_id')),
  };
}

describeWithServer('infra/tigerbeetle scripts on the real server', (realBin) => {
  let runDir = '';
  // Declared first so it runs first (jest runs after-hooks in declaration order): the pid files
  // are in the temporary directory that useTempDir removes.
  const work = useTempDir('tb-scripts-');
  let calls = '';
  let server = '';
  let files: string[] = [];
  let basePort = 0;
  let addresses = '';
  const env = (overrides: Record<string, string | undefined> = {}) =>
    cleanEnv({
      TB_BIN: server,
      TB_RUN_DIR: runDir,
      TB_CLUSTER_ID: String(CLUSTER_ID),
      TB_BASE_PORT: String(basePort),
      ...overrides,
    });
  const commands = (verb: string) => recordedCalls(calls).filter((c) => c.startsWith(`${verb} `));

  beforeAll(async () => {
    calls = path.join(work(), 'calls.log');
    runDir = path.join(work(), 'run');
    server = startFakingServer(work(), realBin, calls);
    files = REPLICAS.map((r) => path.join(runDir, `${CLUSTER_ID}_${r}.tigerbeetle`));
    basePort = await freeBasePort();
    addresses = REPLICAS.map((r) => `127.0.0.1:${basePort + r}`).join(',');
  });

  afterAll(() => killReplicas(runDir));

  test('a failed format says why, and leaves no data file to mistake for a ledger', async () => {
    const refused = await runTbScript('format.sh', env({ TB_FORMAT_ARGS: '--no-such-flag' }));
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("unexpected argument: '--no-such-flag'");
    expect(refused.output).toContain('tigerbeetle replica 0: tigerbeetle format failed');
    // Killed once the file is written, before the script could call it done.
    const killed = await runTbScript('format.sh', env({ FAKE_TB_INTERRUPT_FORMAT: '1' }));
    expect(killed.code).not.toBe(0);
    expect(killed.output).toContain('tigerbeetle replica 0: tigerbeetle format failed');
    expect(fs.existsSync(files[0]!)).toBe(false);
    fs.rmSync(calls);
  });

  test(
    'format (after the interrupted one) writes each replica with the documented flags',
    async () => {
      const run = await runTbScript('format.sh', env());
      expect(run.code).toBe(0);
      expect(commands('format')).toEqual(
        files.map(
          (file, replica) =>
            `format --cluster=${CLUSTER_ID} --replica=${replica} --replica-count=3 ` +
            `${file}.formatting`,
        ),
      );
      expect(files.map((file) => superblock(realBin, file))).toEqual(
        REPLICAS.map((replica) => ({ cluster: CLUSTER_ID, replicaCount: 3, replica })),
      );
      expect(fs.readdirSync(runDir).filter((name) => name.endsWith('.formatting'))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test('format again touches nothing: a ledger is never formatted twice', async () => {
    const before = files.map((file) => fs.statSync(file));
    const run = await runTbScript('format.sh', env());
    expect(run.code).toBe(0);
    expect(run.output.match(/exists, not formatted again/g)).toHaveLength(3);
    expect(commands('format')).toHaveLength(3);
    const after = files.map((file) => fs.statSync(file));
    expect(after.map((s) => [s.ino, s.mtimeMs, s.size])).toEqual(
      before.map((s) => [s.ino, s.mtimeMs, s.size]),
    );
  });

  test('start refuses a replica with no data file, naming it', async () => {
    const empty = path.join(work(), 'empty');
    const run = await runTbScript('start.sh', env({ TB_RUN_DIR: empty }));
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      `tigerbeetle replica 0: no data file ${empty}/${CLUSTER_ID}_0.tigerbeetle: format it first`,
    );
    expect(commands('start')).toEqual([]);
  });

  test(
    'start launches three replicas with pid files, prints TB_ADDRESSES, and is idempotent',
    async () => {
      const run = await runTbScript('start.sh', env());
      expect(run.code).toBe(0);
      expect(run.output).toContain(`export TB_CLUSTER_ID=${CLUSTER_ID} TB_ADDRESSES=${addresses}`);
      expect(commands('start')).toEqual(
        files.map((file) => `start --addresses=${addresses} --cache-grid=256MiB ${file}`),
      );
      expect(Object.keys(liveReplicas(runDir))).toEqual(['0', '1', '2']);
      const ports = REPLICAS.map((r) => basePort + r);
      expect(await Promise.all(ports.map(portOpen))).toEqual([true, true, true]);

      const again = await runTbScript('start.sh', env());
      expect(again.code).toBe(0);
      expect(again.output.match(/already running/g)).toHaveLength(3);
      expect(commands('start')).toHaveLength(3);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'start replaces a crashed replica (stale pid file) and leaves the others alone',
    async () => {
      const before = liveReplicas(runDir);
      process.kill(before[1]!, 'SIGKILL');
      const run = await runTbScript('start.sh', env());
      expect(run.code).toBe(0);
      expect(run.output).toContain('tigerbeetle replica 1: removing stale pid file');
      expect(run.output.match(/already running/g)).toHaveLength(2);
      expect(commands('start').slice(3)).toEqual([
        `start --addresses=${addresses} --cache-grid=256MiB ${files[1]}`,
      ]);
      const after = liveReplicas(runDir);
      expect([after[0], after[2]]).toEqual([before[0], before[2]]);
      expect(after[1]).not.toBe(before[1]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'stop ends every replica by its pid file, with no TB_BIN, and again is a no-op',
    async () => {
      const noServer = env({ TB_BIN: undefined, PATH: '/usr/bin:/bin' });
      const stopped = await runTbScript('stop.sh', noServer);
      expect(stopped.code).toBe(0);
      expect(stopped.output.match(/stopped/g)).toHaveLength(3);
      const ports = REPLICAS.map((r) => basePort + r);
      expect(await Promise.all(ports.map(portOpen))).toEqual([false, false, false]);
      expect(fs.readdirSync(runDir).filter((name) => name.endsWith('.pid'))).toEqual([]);

      const again = await runTbScript('stop.sh', noServer);
      expect({ code: again.code, stopped: again.output.includes('stopped') }).toEqual({
        code: 0,
        stopped: false,
      });
      expect(files.every((file) => fs.existsSync(file))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
