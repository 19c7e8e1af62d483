/**
 * `npm run chaos -- --smoke` end to end, on the stack's TigerBeetle cluster: k6 clients post
 * journals through nginx to two bridge instances while a bridge, the projection worker, a
 * TigerBeetle replica and Redis are each killed or stopped and brought back, one at a time. The
 * run must come out clean on every row (every acknowledged journal once in TigerBeetle and in
 * PostgreSQL, reconcile without a mismatch, the hash chain intact) and write its report and
 * chart. What the clients lived through (errors, waits, recovery) is the report's to show: timing
 * is measured by the run, never asserted by a test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeOnStackCluster } from '../../support/infra/stack-cluster';
import { runScript } from '../../support/infra/tb-fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The run's own bound: about four minutes here, more on a loaded CI machine. */
const RUN_TIMEOUT_MS = 840_000;
const SMOKE_FAULTS = ['bridge-kill', 'worker-kill', 'replica-kill', 'redis-stop'];

describeOnStackCluster('chaos smoke on the stack', () => {
  it('kills a bridge, the worker, a replica and Redis under load, and loses nothing', async () => {
    const run = await runScript(
      process.execPath,
      ['--import', 'tsx', 'load/chaos/main.ts', '--smoke'],
      { ...process.env, CHAOS_FAULTS: '' },
      RUN_TIMEOUT_MS,
    );
    const reportPath = /^report: (\S+)$/m.exec(run.output)?.[1];
    expect({ status: run.code, report: reportPath, tail: run.output.slice(-4000) }).toMatchObject({
      status: 0,
      report: expect.any(String),
    });
    const dir = path.join(ROOT, path.dirname(reportPath!));
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    console.log(fs.readFileSync(path.join(dir, 'report.md'), 'utf8'));
    expect(summary.rows.map((r: { id: string }) => r.id)).toEqual(SMOKE_FAULTS);
    expect(summary.acknowledged).toBeGreaterThan(1_000);
    for (const row of summary.rows) {
      expect({ id: row.id, error: row.error, crashed: row.crashed }).toEqual({
        id: row.id,
        error: null,
        crashed: [],
      });
      expect(row.books.checked).toBeGreaterThan(0);
      expect(row.books).toMatchObject({ missingInLedger: [], missingInStore: [], wrongLines: [] });
      expect([row.duplicated, row.mismatches, row.reconcileDeferred, row.chainOk]).toEqual([
        0,
        0,
        null,
        true,
      ]);
    }
    // Every acknowledged journal belongs to exactly one row's audit.
    const checked = summary.rows.reduce(
      (n: number, r: { books: { checked: number } }) => n + r.books.checked,
      0,
    );
    expect(checked).toBe(summary.acknowledged);
    const png = fs.readFileSync(path.join(dir, 'chart.png'));
    expect(png.subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    fs.rmSync(dir, { recursive: true, force: true });
  }, 900_000);
});
