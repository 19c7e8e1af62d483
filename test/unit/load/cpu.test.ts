/**
 * The load report's CPU accounting: command lines map to the stack's components (and nothing
 * else is counted; TigerBeetle replicas count as the run's cluster only when their addresses are
 * the run's), and the sampler attributes a busy process's CPU time to its component.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { componentOf, startCpuSampler } from '../../../load/runner/cpu';

const CLUSTER = ['127.0.0.1:3001', '127.0.0.1:3002', '127.0.0.1:3003'];
const REPLICA = (addresses: string, i: number) =>
  `/opt/tb/tigerbeetle start --addresses=${addresses} --cache-grid=256MiB /x/0_${i}.tigerbeetle`;

it.each([
  [REPLICA('127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003', 0), 'tigerbeetle (3 replicas)'],
  // TigerBeetle's short form of an address (a port on 127.0.0.1), in another order.
  [REPLICA('3002,3001,3003', 1), 'tigerbeetle (3 replicas)'],
  [REPLICA('127.0.0.1:4001,127.0.0.1:4002,127.0.0.1:4003', 2), 'tigerbeetle (another cluster)'],
  [REPLICA('127.0.0.1:3001,127.0.0.1:3002', 0), 'tigerbeetle (another cluster)'],
  [
    'tigerbeetle benchmark --addresses=127.0.0.1:3001 --transfer-count=1000',
    'tigerbeetle benchmark (load generator)',
  ],
  ['/usr/bin/node --import tsx load/bench/journals.ts', 'bench driver (load/bench, autocannon)'],
  ['/usr/bin/node --import tsx load/bench/balance-server.ts', 'balance server (bench:reads)'],
  ['/usr/bin/less tigerbeetle start', null],
  ['/work/main/.tools/k6 run --no-usage-report load/k6/tps.js', 'k6 (load generator)'],
  ['/usr/bin/node --import tsx bridge/src/main.ts', 'bridge'],
  ['/usr/bin/node --import tsx ledger/engine/server-main.ts', 'engine server'],
  ['/usr/bin/node --import tsx projections/src/main.ts', 'projection worker'],
  ['postgres: ledger ledger_load 127.0.0.1(43004) idle', 'PostgreSQL'],
  ['/usr/lib/postgresql/15/bin/postgres -D /x', 'PostgreSQL'],
  ['/usr/bin/java -Xmx512m -cp /root/.cache/kafka kafka.Kafka x.properties', 'Kafka'],
  ['/usr/bin/redis-server 127.0.0.1:56379', 'Redis'],
  ['/usr/sbin/pgbouncer -q -d pgbouncer.ini', 'PgBouncer'],
  ['/usr/bin/node --import tsx load/baseline/main.ts', 'PostgreSQL-only baseline'],
  ['/usr/bin/node jest', null],
  ['bash', null],
])('%s is %s', (cmdline, component) => {
  expect(componentOf(cmdline, CLUSTER)).toBe(component);
});

it('counts every replica as another cluster when the run uses none (the engine)', () => {
  const replica = REPLICA(CLUSTER.join(','), 0);
  expect(componentOf(replica)).toBe('tigerbeetle (another cluster)');
  expect(componentOf(replica, [])).toBe('tigerbeetle (another cluster)');
  expect(componentOf('/usr/bin/node --import tsx ledger/engine/server-main.ts')).toBe(
    'engine server',
  );
});

it('counts a busy process under its component', async () => {
  const sampler = startCpuSampler(2, { intervalMs: 200 });
  // A process whose command line names the bridge's entry point, busy for about a second.
  const busy = spawn(process.execPath, [
    '-e',
    'const end = Date.now() + 1000; while (Date.now() < end) {}',
    'bridge/src/main.ts',
  ]);
  await new Promise((resolve) => busy.once('exit', resolve));
  const report = sampler.stop();
  expect(report).not.toBeNull();
  const bridge = report!.components.find((c) => c.component === 'bridge');
  expect(bridge).toBeDefined();
  // About one core over the window (which is a little longer than the busy second).
  expect(bridge!.cores).toBeGreaterThan(0.3);
  expect(bridge!.cores).toBeLessThanOrEqual(1.2);
});

it("counts a busy replica of the run's cluster under that cluster", async () => {
  // A script named `start`, run by node under the argv[0] of a TigerBeetle binary: its command
  // line reads `/opt/tb/tigerbeetle start --addresses=...`, as a replica's does.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-test-'));
  fs.writeFileSync(
    path.join(dir, 'start'),
    'const end = Date.now() + 1000; while (Date.now() < end) {}',
  );
  const sampler = startCpuSampler(2, { intervalMs: 200, cluster: CLUSTER });
  const busy = spawn(process.execPath, ['start', `--addresses=${CLUSTER.join(',')}`], {
    cwd: dir,
    argv0: '/opt/tb/tigerbeetle',
  });
  await new Promise((resolve) => busy.once('exit', resolve));
  const report = sampler.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  const replicas = report!.components.find((c) => c.component === 'tigerbeetle (3 replicas)');
  expect(replicas).toBeDefined();
  expect(replicas!.cores).toBeGreaterThan(0.3);
  expect(replicas!.cores).toBeLessThanOrEqual(1.2);
});
