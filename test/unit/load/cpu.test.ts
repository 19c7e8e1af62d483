/**
 * The load report's CPU accounting: command lines map to the stack's components (and nothing
 * else is counted), and the sampler attributes a busy process's CPU time to its component.
 */
import { spawn } from 'node:child_process';
import { componentOf, startCpuSampler } from '../../../load/runner/cpu';

it.each([
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
  expect(componentOf(cmdline)).toBe(component);
});

it('counts a busy process under its component', async () => {
  const sampler = startCpuSampler(2, 200);
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
