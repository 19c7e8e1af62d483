/**
 * The smoke variant of the k6 TPS scenario (load/k6/tps.js with SMOKE=1: a few seconds at a low
 * rate) against a real listening bridge: k6 (built by set-up from its Go module) must finish with
 * every check passed, the thresholds met, and journals actually posted.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Harness, startHarness } from '../http/harness';

const ROOT = path.resolve(__dirname, '..', '..');
const K6 = path.join(ROOT, '.tools', 'k6');
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.dispose();
});

it('posts journals at a constant rate with every check passing', async () => {
  expect(fs.existsSync(K6)).toBe(true);
  const summary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'k6-')), 'summary.json');
  // Asynchronously: the bridge under test serves from this same process.
  const run = await new Promise<{ status: number; stderr: string }>((resolve) => {
    execFile(
      K6,
      [
        'run',
        '--quiet',
        '--no-usage-report',
        '--summary-export',
        summary,
        '-e',
        'SMOKE=1',
        '-e',
        `BASE_URL=${h.bridge.url}`,
        '-e',
        'ACCOUNTS=50',
        '-e',
        `RUN=${h.run}`,
        path.join(ROOT, 'load', 'k6', 'tps.js'),
      ],
      { encoding: 'utf8', timeout: 60_000 },
      (error, _stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({ status: error === null ? 0 : typeof code === 'number' ? code : -1, stderr });
      },
    );
  });
  expect({ status: run.status, stderr: run.stderr.slice(-2000) }).toMatchObject({ status: 0 });
  const metrics = JSON.parse(fs.readFileSync(summary, 'utf8')).metrics;
  expect(metrics.journals_posted.count).toBeGreaterThanOrEqual(40);
  expect(metrics.checks.fails).toBe(0);
  expect(metrics.journal_errors.value).toBe(0);
}, 90_000);
