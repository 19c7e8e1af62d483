// Proves that a badly configured TigerBeetle cluster fails with a message naming what is wrong:
// each case runs the project's own infra/tigerbeetle scripts (and status.ts) on the bad setting — a
// refused cluster id and misordered addresses against the stack's running cluster; another
// release's server, a data file of another cluster and a taken port in temporary TB_RUN_DIRs on
// free 47xxx ports — and checks the exit code, the message, and that no replica was left running.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeOnStackCluster, stackCluster } from '../../support/infra/stack-cluster';
import {
  clientRelease,
  cleanEnv,
  describeWithServer,
  freeBasePort,
  killReplicas,
  liveReplicas,
  occupy,
  recordedCalls,
  releaseStandIn,
  ROOT,
  runScript,
  runTbScript,
  type ScriptRun,
  startFakingServer,
  useTempDir,
  writeExecutable,
} from '../../support/infra/tb-fixtures';

const STATUS_TIMEOUT_MS = 30_000;

function tsx(script: string, env: NodeJS.ProcessEnv): Promise<ScriptRun> {
  const bin = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  return runScript(bin, [script], env, STATUS_TIMEOUT_MS);
}

describeOnStackCluster('status.ts against the running cluster', () => {
  const { TB_CLUSTER_ID: formattedId, TB_ADDRESSES: addresses } = stackCluster();
  const wrongId = formattedId === '5' ? '6' : '5';

  // With TB_ADDRESSES given, and in the operator's form (status.ts finds the stack's cluster).
  it.each([
    ['with TB_ADDRESSES', { TB_ADDRESSES: addresses }],
    ['from the stack cluster.env', {}],
  ])('a wrong cluster id (%s): the replicas refuse it, and it says so', async (_, given) => {
    const env = cleanEnv({ ...given, TB_CLUSTER_ID: wrongId, LEDGER_REQUEST_TIMEOUT_MS: '1500' });
    const run = await tsx('infra/tigerbeetle/status.ts', env);
    expect(run.code).toBe(1);
    expect(run.output).toContain(`cluster ${wrongId} at ${addresses}: not answering`);
    expect(run.output).toMatch(/the replicas refuse our cluster id \(invalid header_cluster in /);
    expect(run.output).toContain(`the data files were formatted with (${formattedId})`);
  });

  it('addresses out of replica order: names the order the replicas were started with', async () => {
    const [first, second, ...rest] = addresses.split(',');
    const swapped = [second, first, ...rest].join(',');
    const env = cleanEnv({ TB_ADDRESSES: swapped, LEDGER_REQUEST_TIMEOUT_MS: '1500' });
    const run = await tsx('infra/tigerbeetle/status.ts', env);
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      `TB_ADDRESSES lists the replicas out of order: replica i must be entry i, ` +
        `as every replica was started with ${addresses}`,
    );
  });
});

describe('status.ts, no cluster needed', () => {
  it('blames the cluster id only for refusals logged during this check, not old ones', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-status-'));
    try {
      // Last week's typo, still in the log; today nothing listens at all.
      const old = '2026-11-01 10:00:00.000Z warning(message_bus): 0: on_recv: terminating ';
      fs.writeFileSync(
        path.join(runDir, 'replica-0.log'),
        `${old}connection: invalid header_cluster\n`,
      );
      const port = await freeBasePort(1);
      const env = cleanEnv({
        TB_RUN_DIR: runDir,
        TB_ADDRESSES: `127.0.0.1:${port}`,
        TB_CLUSTER_ID: '0',
        LEDGER_REQUEST_TIMEOUT_MS: '1000',
      });
      const run = await tsx('infra/tigerbeetle/status.ts', env);
      expect(run.code).toBe(1);
      expect(run.output).toContain(`cluster 0 at 127.0.0.1:${port}: not answering`);
      expect(run.output).not.toMatch(/refuse our cluster id/);
      expect(run.output).toMatch(/are the replicas running/);
    } finally {
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });
});

describe('a server of another release', () => {
  const work = useTempDir('tb-release-');
  const calls = () => path.join(work(), 'calls.log');

  it.each(['format.sh', 'start.sh'])(
    '%s refuses 0.16.3 before touching anything, naming both releases',
    async (script) => {
      const runDir = path.join(work(), `run-${script}`);
      const env = cleanEnv({
        TB_BIN: releaseStandIn(work(), '0.16.3', calls()),
        TB_RUN_DIR: runDir,
        TB_BASE_PORT: String(await freeBasePort()),
      });
      const run = await runTbScript(script, env);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('is TigerBeetle 0.16.3');
      expect(run.output).toContain(`the bridge's client is tigerbeetle-node ${clientRelease()}`);
      expect(recordedCalls(calls())).toEqual([]);
      expect(fs.existsSync(runDir) ? fs.readdirSync(runDir) : []).toEqual([]);
    },
  );

  // KNOWN GAP: tb_check_release compares major.minor only, so an older 0.17.x passes; but a
  // cluster evicts a client newer than itself (client_release_too_high), and the bridge then only
  // ever sees timeouts. When the check wants server >= client, this fails: make it `it`.
  it('format.sh refuses an older patch of the same minor (0.17.0)', async () => {
    const runDir = path.join(work(), 'run-older-patch');
    fs.rmSync(calls(), { force: true });
    const env = cleanEnv({ TB_BIN: releaseStandIn(work(), '0.17.0', calls()), TB_RUN_DIR: runDir });
    const run = await runTbScript('format.sh', env);
    expect(recordedCalls(calls())).toEqual([]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('is TigerBeetle 0.17.0');
  });
});

describe('bad settings name the variable', () => {
  const work = useTempDir('tb-settings-');
  // Another program: it answers `version`, but not as TigerBeetle does.
  const other = () =>
    writeExecutable(path.join(work(), 'other'), '#!/usr/bin/env bash\necho "v1.2"\n');
  let cases = 0;

  it.each([
    [
      'no TB_BIN and none on PATH',
      { TB_BIN: undefined, PATH: '/usr/bin:/bin' },
      /no TigerBeetle server: set TB_BIN/,
    ],
    ['TB_BIN not executable', { TB_BIN: 'missing' }, /TB_BIN=\S*missing is not an executable file/],
    [
      'TB_BIN no TigerBeetle',
      { TB_BIN: 'other' },
      /does not answer 'version' as a TigerBeetle server does/,
    ],
    [
      'TB_CLUSTER_ID not a number',
      { TB_CLUSTER_ID: 'prod' },
      /TB_CLUSTER_ID=prod is not a decimal u128/,
    ],
    ['TB_BASE_PORT not a port', { TB_BASE_PORT: '30o1' }, /TB_BASE_PORT=30o1 is not a port/],
  ] as const)('%s', async (_, overrides, message) => {
    const runDir = path.join(work(), `run-${++cases}`);
    const bin = 'TB_BIN' in overrides ? overrides.TB_BIN : 'other';
    const env = cleanEnv({
      ...overrides,
      TB_BIN: bin === undefined ? undefined : bin === 'other' ? other() : path.join(work(), bin),
      TB_RUN_DIR: runDir,
    });
    const run = await runTbScript('format.sh', env);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(message);
    expect(fs.existsSync(runDir)).toBe(false);
  });

  // KNOWN GAP: a TB_BIN whose `version` exits non-zero stops format.sh and start.sh with exit 2
  // and no message at all (pipefail + errexit in tb_check_release's command substitution). When
  // that substitution tolerates the failure, this fails: make it `it`.
  it('TB_BIN that fails `version`: still says it is no TigerBeetle server', async () => {
    const failing = writeExecutable(path.join(work(), 'failing'), '#!/usr/bin/env bash\nexit 2\n');
    const run = await runTbScript(
      'format.sh',
      cleanEnv({ TB_BIN: failing, TB_RUN_DIR: path.join(work(), 'run-failing') }),
    );
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/does not answer 'version' as a TigerBeetle server does/);
  });
});

describeWithServer(
  'start.sh refuses a cluster it cannot start, and leaves none running',
  (realBin) => {
    const work = useTempDir('tb-start-');
    const calls = () => path.join(work(), 'calls.log');
    // `start` is faked (a listener) though it should never be reached: if a refusal regressed,
    // three real replicas (~7 GiB) would start on a machine that already runs two clusters.
    let server = '';
    beforeAll(() => {
      server = startFakingServer(work(), realBin, calls());
    });
    const runDirs: string[] = [];
    // Each formatted data file takes ~1.1 GiB of real disk: four cases' worth (13 GiB) kept
    // until afterAll filled the CI machine's disk once, so each case's files go as it ends.
    afterEach(() =>
      runDirs.forEach((runDir) => {
        killReplicas(runDir);
        fs.rmSync(runDir, { recursive: true, force: true });
      }),
    );

    const format = (file: string, cluster: number, replica: number) =>
      execFileSync(
        realBin,
        ['format', `--cluster=${cluster}`, `--replica=${replica}`, '--replica-count=3', file],
        // Piped, not ignored: a failed format then says why (disk full, io_uring refused).
        { stdio: 'pipe' },
      );

    /** Data files of cluster 9 in a new TB_RUN_DIR; replica `bad`'s was formatted for cluster 5. */
    function cluster9WithForeignFile(bad: number): string {
      const runDir = path.join(work(), `run-${runDirs.length}`);
      runDirs.push(runDir);
      fs.mkdirSync(runDir);
      for (const replica of [0, 1, 2]) {
        format(path.join(runDir, `9_${replica}.tigerbeetle`), replica === bad ? 5 : 9, replica);
      }
      return runDir;
    }

    async function start(runDir: string, clusterId: string, basePort: number): Promise<ScriptRun> {
      fs.rmSync(calls(), { force: true });
      const env = cleanEnv({
        TB_BIN: server,
        TB_RUN_DIR: runDir,
        TB_CLUSTER_ID: clusterId,
        TB_BASE_PORT: String(basePort),
      });
      return runTbScript('start.sh', env);
    }

    const starts = () => recordedCalls(calls()).filter((call) => call.startsWith('start'));

    it('a data file formatted for another cluster: names both clusters', async () => {
      const runDir = cluster9WithForeignFile(0);
      const run = await start(runDir, '9', await freeBasePort());
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(
        `tigerbeetle replica 0: ${runDir}/9_0.tigerbeetle was formatted for cluster 5, ` +
          `not TB_CLUSTER_ID=9`,
      );
      expect({ running: liveReplicas(runDir), starts: starts() }).toEqual({
        running: {},
        starts: [],
      });
    });

    it('a port in use: names the port', async () => {
      const runDir = path.join(work(), `run-${runDirs.length}`);
      runDirs.push(runDir);
      fs.mkdirSync(runDir);
      [0, 1, 2].forEach((r) => format(path.join(runDir, `0_${r}.tigerbeetle`), 0, r));
      const base = await freeBasePort();
      const squatter = await occupy(base);
      try {
        const run = await start(runDir, '0', base);
        expect(run.code).not.toBe(0);
        expect(run.output).toContain(
          `tigerbeetle replica 0: port 127.0.0.1:${base} is already in use by another process`,
        );
        expect({ running: liveReplicas(runDir), starts: starts() }).toEqual({
          running: {},
          starts: [],
        });
      } finally {
        squatter.close();
      }
    });

    // KNOWN GAP: tb_start checks and launches replica by replica, so a refusal of replica 2 comes
    // after replicas 0 and 1 were launched, and they stay up (two of three: a quorum, a cluster
    // running on a half-checked configuration). When tb_start checks every replica before
    // launching any, these fail: make them `it`.
    it('a foreign data file for replica 2: nothing left running', async () => {
      const runDir = cluster9WithForeignFile(2);
      const run = await start(runDir, '9', await freeBasePort());
      expect(run.output).toContain('9_2.tigerbeetle was formatted for cluster 5');
      expect({ code: run.code === 0, running: liveReplicas(runDir) }).toEqual({
        code: false,
        running: {},
      });
    });

    it('the port of replica 1 in use: nothing left running', async () => {
      const runDir = path.join(work(), `run-${runDirs.length}`);
      runDirs.push(runDir);
      fs.mkdirSync(runDir);
      [0, 1, 2].forEach((r) => format(path.join(runDir, `0_${r}.tigerbeetle`), 0, r));
      const base = await freeBasePort();
      const squatter = await occupy(base + 1);
      try {
        const run = await start(runDir, '0', base);
        expect(run.output).toContain(`port 127.0.0.1:${base + 1} is already in use`);
        expect({ code: run.code === 0, running: liveReplicas(runDir) }).toEqual({
          code: false,
          running: {},
        });
      } finally {
        squatter.close();
      }
    });
  },
);
