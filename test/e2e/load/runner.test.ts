/**
 * `npm run load -- tps` end to end, at smoke size (tps.js's SMOKE variant: 3 s at 20/s): the runner starts its own stack (engine server,
 * bridge, projection worker on the emptied `ledger_load` database), runs k6, waits for the
 * projections, audits the run (every accepted journal stored once, reconciler and hash chain
 * clean), and writes summary.json, report.md and a PNG chart. Latency is not judged here (P99_MS is
 * lifted: performance is measured by the load runs themselves, never by a timed test).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Run {
  status: number;
  output: string;
}

function runLoad(scenario: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'load/runner/main.ts', scenario], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ status: code ?? -1, output }));
  });
}

it('runs tps at smoke size, audits it clean and writes its three reports', async () => {
  const run = await runLoad('tps', {
    SMOKE: '1',
    ACCOUNTS: '50',
    P99_MS: '60000',
    LOAD_PORT: '3280',
  });
  expect({ status: run.status, tail: run.output.slice(-3000) }).toMatchObject({ status: 0 });
  const reportPath = /^report: (\S+)$/m.exec(run.output)?.[1];
  expect(reportPath).toBeDefined();
  const dir = path.join(ROOT, path.dirname(reportPath!));
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  expect(summary.k6.thresholdsPassed).toBe(true);
  expect(summary.k6.journalsPosted).toBeGreaterThanOrEqual(40);
  expect(summary.k6.checksFailed).toBe(0);
  expect(summary.audit).toMatchObject({
    clean: true,
    lost: 0,
    duplicated: 0,
    mismatches: 0,
    chainOk: true,
    accepted: summary.k6.journalsPosted,
    stored: summary.k6.journalsPosted,
  });
  expect(summary.audit.verdict).toMatch(/^lost 0, duplicated 0, mismatches 0, hash chain OK/);
  const [journals] = summary.requests;
  expect(journals.name).toBe('POST /api/journal');
  expect(journals.total.requests).toBe(summary.k6.journalsPosted);
  expect(fs.readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain(summary.audit.verdict);
  const png = fs.readFileSync(path.join(dir, 'chart.png'));
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.length).toBeGreaterThan(10_000);
  fs.rmSync(dir, { recursive: true, force: true });
}, 300_000);
