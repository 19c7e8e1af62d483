/**
 * `npm run bench:compare`: the bridge against the conventional PostgreSQL-only design
 * (load/baseline: one transaction per journal that locks and updates the account rows), driven by
 * the same k6 scenario (load/k6/tps.js) in one run on one machine, for uniform accounts and for
 * one hot account on every journal.
 *
 * Each target gets the same ramp of constant arrival rates (COMPARE_STEPS, COMPARE_STEP_SECONDS
 * each). A step is *held* when the answered rate is ≥ 95% of the offered one, errors are under
 * 0.1% and p99 < 50 ms; the highest held step is the target's figure, and the ratio is
 * bridge ÷ baseline. The peak answered rate of any step (whatever its latency) is each target's
 * capacity, reported with its ratio too: p99 at low rates is noisy on a shared 2-core machine. A ramp stops early once p99 passes 1 s (the target is past its capacity).
 * The bridge runs whole by default: its projection worker applies all six projections during the
 * load (niced, as in load runs). COMPARE_PROJECTIONS=after keeps the worker stopped while the
 * bridge is measured and lets it drain after each run: the write path against the baseline's.
 * The bridge runs on the TigerBeetle cluster (the local stack's by default) or, where there is
 * none or BENCH_LEDGER=engine asks for it, the engine server (load/bench/ledger.ts); the report
 * names it. Both serve on the same PostgreSQL (the baseline on its own schema of `ledger_load`,
 * direct connections and prepared statements: its best case); between runs the bridge's
 * projections drain, so neither target is measured while the other's work still runs.
 *
 * Settings (env): COMPARE_STEPS ("250,500,1000,1500,2000,3000,4000,5000,6000,7000"),
 * COMPARE_STEP_SECONDS (10), COMPARE_CASES ("uniform,hot"), COMPARE_PROJECTIONS ("during"),
 * ACCOUNTS (1000), LOAD_PORT (3180),
 * BASELINE_PORT (3300), BASELINE_POOL_SIZE (16).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { assertBridgeLedger, chooseLedger, describeLedger } from '../bench/ledger';
import { auditRun } from './audit';
import { busiest, type CpuReport } from './cpu';
import { readK6Summary, runK6 } from './k6';
import { pinned, pinPlan } from './pin';
import { machine, PHASE_HEADER, phaseRow, resultsDir } from './report';
import { type Phase, readSeries } from './series';
import { envChoice, envInt, envInts, runCommand, UsageError } from './settings';
import { stopProcess, waitReady } from '../bench/bridge-process';
import { startLoadStack, waitProjectionsDrained } from './stack';

const ROOT = path.resolve(__dirname, '..', '..');
const JOURNAL = 'POST /api/journal';
const DEFAULT_STEPS = [250, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000];
const HELD_P99_MS = 50;
const HELD_ERROR_SHARE = 0.001;
const HELD_RATE_SHARE = 0.95;
const ABORT_P99_MS = 1_000;
const DRAIN_TIMEOUT_MS = 600_000;

type Target = 'baseline' | 'bridge';

interface Measured {
  kase: string;
  target: Target;
  phases: Phase[];
  held: Phase | null;
  accepted: number;
  cpu: CpuReport | null;
}

function offered(phase: Phase): number {
  return Number(phase.scenario.replace('tps_', ''));
}

/** The highest step the target held (rate, errors and p99 all within bounds). */
export function highestHeld(phases: Phase[]): Phase | null {
  const held = phases.filter(
    (p) =>
      p.okPerSecond >= HELD_RATE_SHARE * offered(p) &&
      p.errors <= HELD_ERROR_SHARE * p.requests &&
      p.p99 < HELD_P99_MS,
  );
  return held.sort((a, b) => offered(b) - offered(a))[0] ?? null;
}

async function startBaseline(
  databaseUrl: string,
  port: number,
  cpus: readonly number[] | null,
): Promise<{ url: string; child: ChildProcess }> {
  const main = pinned(cpus, process.execPath, ['--import', 'tsx', 'load/baseline/main.ts']);
  const child = spawn(main.command, main.args, {
    cwd: ROOT,
    env: {
      ...process.env,
      BASELINE_PORT: String(port),
      BASELINE_DATABASE_URL: databaseUrl,
      BASELINE_RESET: '1',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/health`, child, 60_000);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { url, child };
}

/** The most journals/s a target answered in any step, whatever the latency: its capacity here. */
export function peakAnswered(phases: readonly Phase[]): number {
  return Math.max(0, ...phases.map((p) => p.okPerSecond));
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

function line(m: Measured): string {
  const h = m.held;
  const peak = int(peakAnswered(m.phases));
  return h === null
    ? `| ${m.kase} | ${m.target} | none held | | | | | ${peak} |`
    : `| ${m.kase} | ${m.target} | ${int(offered(h))} | ${int(h.okPerSecond)} | ` +
        `${h.p50.toFixed(1)} | ${h.p95.toFixed(1)} | ${h.p99.toFixed(1)} | ${peak} |`;
}

/** COMPARE_CASES: which of `uniform` and `hot` to run, in the order given. */
function compareCases(): string[] {
  const text = process.env.COMPARE_CASES ?? 'uniform,hot';
  const cases = text.split(',').map((c) => c.trim());
  if (cases.length === 0 || cases.some((c) => c !== 'uniform' && c !== 'hot')) {
    throw new UsageError(`COMPARE_CASES lists uniform and/or hot, got "${text}"`);
  }
  return cases;
}

function ratio(results: Measured[], kase: string, lowestStep: number): string {
  const of = (target: Target) => results.find((m) => m.kase === kase && m.target === target);
  const bridge = of('bridge');
  const baseline = of('baseline');
  if (bridge === undefined || baseline === undefined) return `${kase}: not measured`;
  const capacity =
    `capacity (peak answered/s) ${(peakAnswered(bridge.phases) / peakAnswered(baseline.phases)).toFixed(2)}× ` +
    `(${int(peakAnswered(bridge.phases))} vs ${int(peakAnswered(baseline.phases))})`;
  let held: string;
  if (bridge.held === null) held = `the bridge held no step at p99 < ${HELD_P99_MS} ms`;
  else if (baseline.held === null) {
    // Not even the lowest step: the ratio is at least the bridge's rate over that step's.
    held =
      `held at p99 < ${HELD_P99_MS} ms ≥ ${(offered(bridge.held) / lowestStep).toFixed(2)}× ` +
      `(${int(offered(bridge.held))} vs none: the baseline missed even ${int(lowestStep)}/s)`;
  } else {
    held =
      `held at p99 < ${HELD_P99_MS} ms ${(offered(bridge.held) / offered(baseline.held)).toFixed(2)}× ` +
      `(${int(offered(bridge.held))} vs ${int(offered(baseline.held))} journals/s)`;
  }
  return `${kase}: bridge ÷ baseline: ${held}; ${capacity}`;
}

async function main(): Promise<number> {
  const STEPS = envInts('COMPARE_STEPS', DEFAULT_STEPS, 1, 100_000);
  const STEP_SECONDS = envInt('COMPARE_STEP_SECONDS', 10, 1, 3_600);
  const CASES = compareCases();
  const PROJECTIONS = envChoice('COMPARE_PROJECTIONS', ['during', 'after'] as const);
  const ACCOUNTS = String(envInt('ACCOUNTS', 1_000, 2, 1_000_000));
  const port = envInt('LOAD_PORT', 3180, 1, 65_532);
  const baselinePort = envInt('BASELINE_PORT', 3300, 1, 65_535);
  const pin = pinPlan('LOAD_PIN_CPUS', process.env.LOAD_PIN_CPUS);
  const ledger = chooseLedger(process.env);
  const started = new Date();
  const run = `cmp-${randomUUID().slice(0, 8)}`;
  const dir = resultsDir('compare', started);
  console.log(
    `starting the bridge stack (ledger: ${describeLedger(ledger)}) and the PostgreSQL-only ` +
      'baseline…',
  );
  const stack = await startLoadStack({
    run,
    projections: PROJECTIONS,
    port,
    dataDir: path.join(ROOT, '.run', 'load', 'engine'),
    ledger,
    cpus: pin.services,
  });
  console.log(`CPUs: ${pin.describe}`);
  const cluster = ledger.kind === 'tigerbeetle' ? ledger.addresses : undefined;
  let baseline: { url: string; child: ChildProcess };
  try {
    await assertBridgeLedger(stack.baseUrl, ledger);
    baseline = await startBaseline(stack.env.DATABASE_DIRECT_URL!, baselinePort, pin.services);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  const results: Measured[] = [];
  try {
    for (const kase of CASES) {
      for (const target of ['baseline', 'bridge'] as const) {
        const label = `${kase}-${target}`;
        console.log(`\n=== ${label}: ${STEPS.join(', ')} journals/s, ${STEP_SECONDS} s each`);
        const k6 = await runK6(
          'tps.js',
          {
            BASE_URL: target === 'bridge' ? stack.baseUrl : baseline.url,
            // The baseline takes no keys and ignores the header; both clients send the same.
            API_KEY: stack.apiKey,
            RUN: `${run}-${label}`,
            ACCOUNTS,
            HOT_SHARE: kase === 'hot' ? '1' : '0',
            TPS_STEPS: STEPS.slice(0, -1).join(','),
            TPS_STEP_SECONDS: String(STEP_SECONDS),
            TPS_MAX: String(STEPS[STEPS.length - 1]),
            TPS_MAX_SECONDS: String(STEP_SECONDS),
            ABORT_P99_MS: String(ABORT_P99_MS),
          },
          dir,
          label,
          { cluster, cpus: pin.load },
        );
        const [series] = await readSeries(k6.samplesPath, [JOURNAL]);
        const phases = series!.phases.sort((a, b) => offered(a) - offered(b));
        results.push({
          kase,
          target,
          phases,
          held: highestHeld(phases),
          accepted: readK6Summary(k6.summaryPath).journalsPosted,
          cpu: k6.cpu,
        });
        if (target === 'bridge') {
          await stack.startProjections();
          await waitProjectionsDrained(stack.env, DRAIN_TIMEOUT_MS);
          await stack.stopProjections();
        }
      }
    }
    const bridgeAccepted = results
      .filter((m) => m.target === 'bridge')
      .reduce((sum, m) => sum + m.accepted, 0);
    const audit = await auditRun(stack.env, bridgeAccepted, run, started);
    const out: string[] = [];
    const m = machine();
    out.push(
      '# Bridge vs PostgreSQL-only ledger (`npm run bench:compare`)',
      '',
      `${started.toISOString()}; ${m.cpus} × ${m.cpuModel}, k6 on the same machine; ` +
        `the bridge's ledger: ${describeLedger(ledger)}; ` +
        `${ACCOUNTS} accounts; steps ${STEPS.join(', ')} journals/s × ${STEP_SECONDS} s; ` +
        (PROJECTIONS === 'during'
          ? "the bridge's projection worker runs during the load (niced)."
          : "the bridge's projection worker runs only between the runs (COMPARE_PROJECTIONS=after): " +
            'the write paths side by side.'),
      '',
      `Highest rate held (≥ ${HELD_RATE_SHARE * 100}% answered, errors < ` +
        `${HELD_ERROR_SHARE * 100}%, p99 < ${HELD_P99_MS} ms) with its latency, and the ` +
        'peak answered/s of any step whatever the latency (the capacity):',
      '',
      '| accounts | target | journals/s held | answered/s | p50 ms | p95 ms | p99 ms | peak answered/s |',
      '|---|---|---|---|---|---|---|---|',
      ...results.map(line),
      '',
      ...CASES.map((kase) => `- ${ratio(results, kase, Math.min(...STEPS))}`),
      '',
      `Bridge audit after the runs: **${audit.verdict}**`,
      '',
      '## CPU while k6 ran (cores busy, busiest first)',
      '',
      ...results.map(
        (r) =>
          `- ${r.kase} ${r.target}: ` +
          (r.cpu === null ? 'not measured' : busiest(r.cpu, r.cpu.components.length)),
      ),
      '',
      '## Every step',
      '',
      PHASE_HEADER,
      ...results.flatMap((r) => r.phases.map((p) => phaseRow(`${r.kase} ${r.target}`, p))),
      '',
    );
    const text = out.join('\n');
    fs.writeFileSync(path.join(dir, 'report.md'), text);
    fs.writeFileSync(
      path.join(dir, 'summary.json'),
      `${JSON.stringify(
        {
          startedAt: started,
          machine: m,
          ledger,
          steps: STEPS,
          projections: PROJECTIONS,
          results,
          audit,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`\n${text}\nreport: ${path.relative(ROOT, dir)}/report.md`);
    return audit.clean ? 0 : 1;
  } finally {
    await stopProcess(baseline.child);
    await stack.stop();
  }
}

if (require.main === module) {
  runCommand(main);
}
