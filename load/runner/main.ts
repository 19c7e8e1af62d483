/**
 * `npm run load -- <scenario>` (and `load:tps`, `load:spike`, `load:balance`, `load:mixed`): runs
 * one k6 scenario of load/k6 against the ledger, audits what the ledger kept, and writes the report
 * (summary.json, report.md, chart.png, and k6's raw samples) to load/results/<time>-<scenario>/.
 *
 * Unless LOAD_BASE_URL names a running bridge, the runner starts its own (stack.ts: bridge and
 * projection worker on the emptied `ledger_load` database, on the TigerBeetle cluster — the local
 * stack's by default — or on an engine server where there is none or BENCH_LEDGER=engine; see
 * load/bench/ledger.ts) and stops it afterwards; the local services (PostgreSQL, PgBouncer,
 * Redis, Kafka, the cluster) are started by the npm script first. The report names the ledger as
 * the bridge itself reports it (GET /health).
 * Against LOAD_BASE_URL, the audit uses this process's environment (DATABASE_DIRECT_URL,
 * ENGINE_ADDRESS or TB_ADDRESSES, KAFKA_OUTCOMES_TOPIC, PROJECTIONS_GROUP_ID): point it at the
 * same stack, or set LOAD_AUDIT=0. A running bridge also needs LOAD_API_KEY, a key of its own
 * (journals:write, balances:read, accounts:write); the runner's own bridge gets a key minted
 * once it is ready (stack.ts).
 *
 * LOAD_PROJECTIONS=during (default) runs the projection worker beside the bridge during the load,
 * niced (stack.ts); `after` starts it once the load is over, to measure the write path alone.
 * Either way the report says how long the projections took to catch up, and the audit waits.
 *
 * Settings for k6 come from the environment (ACCOUNTS, HOT_SHARE, TPS_MAX, SPIKE_RATE, ... — see
 * each script's header). Exit status: 0 when every SLO threshold held and the audit is clean,
 * 1 otherwise (the report is written either way), 2 bad usage.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { bridgeLedger, chooseLedger, describeLedger } from '../bench/ledger';
import { auditRun } from './audit';
import { writeChart } from './chart';
import { readK6Summary, runK6 } from './k6';
import { pinPlan } from './pin';
import { machine, markdown, resultsDir, type RunReport, writeReport } from './report';
import { readSeries } from './series';
import { envChoice, envInt, runCommand } from './settings';
import { type LoadStack, startLoadStack, waitProjectionsDrained } from './stack';

const ROOT = path.resolve(__dirname, '..', '..');
const JOURNAL = 'POST /api/journal';
const BALANCE = 'GET /api/balance/:accountId';
/** Longest the projections may take to catch up after the load (ms). */
const DRAIN_TIMEOUT_MS = 600_000;

interface Scenario {
  script: string;
  /** The request kinds it makes (k6 `name` tags), for the tables and the chart. */
  requests: string[];
  about: string;
}

export const SCENARIOS: Record<string, Scenario> = {
  tps: {
    script: 'tps.js',
    requests: [JOURNAL],
    about: 'journals at 1,000/s, 2,000/s, then TPS_MAX/s (constant arrival rate)',
  },
  spike: {
    script: 'spike.js',
    requests: [JOURNAL],
    about: 'journals at SPIKE_BASE/s, SPIKE_RATE/s for SPIKE_SECONDS, then back',
  },
  balance: {
    script: 'balance.js',
    requests: [BALANCE, JOURNAL],
    about: 'balance reads at READ_RATE/s while journals post at WRITE_RATE/s',
  },
  mixed: {
    script: 'mixed.js',
    requests: [BALANCE, JOURNAL],
    about: "the specification's mix: users ramp to MIXED_VUS, each reads a balance and posts",
  },
};

/** The environment variables the k6 scripts read (lib/ledger.js and each script's header). */
const K6_SETTING =
  /^(ACCOUNTS|HOT_SHARE|P99_MS|P95_READ_MS|ERROR_RATE_MAX|SMOKE|READ_RATE|WRITE_RATE|(TPS|SPIKE|BALANCE|MIXED)_[A-Z_]+)$/;

export function k6Settings(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => K6_SETTING.test(entry[0]) && entry[1] !== undefined,
    ),
  );
}

async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  const scenario = name === undefined ? undefined : SCENARIOS[name];
  if (scenario === undefined) {
    console.error(
      `usage: npm run load -- <scenario>\n\n` +
        Object.entries(SCENARIOS)
          .map(([key, s]) => `  ${key.padEnd(8)} load/k6/${s.script}: ${s.about}`)
          .join('\n'),
    );
    return 2;
  }
  // Every setting is checked before anything is created or started.
  const projections = envChoice('LOAD_PROJECTIONS', ['during', 'after'] as const);
  const port = envInt('LOAD_PORT', 3180, 1, 65_532);
  const settings = k6Settings(process.env);
  const pin = pinPlan('LOAD_PIN_CPUS', process.env.LOAD_PIN_CPUS);
  const external = process.env.LOAD_BASE_URL;
  // A running bridge's key: journals:write, balances:read and accounts:write at least.
  const externalKey = process.env.LOAD_API_KEY;
  if (external !== undefined && (externalKey === undefined || externalKey === '')) {
    console.error(
      'LOAD_BASE_URL needs LOAD_API_KEY: a key of that bridge (ledger-bridge keys create)',
    );
    return 2;
  }
  const ledger = external === undefined ? chooseLedger(process.env) : null;
  const started = new Date();
  const run = `load-${randomUUID().slice(0, 8)}`;
  const dir = resultsDir(name!, started);
  let stack: LoadStack | null = null;
  let target: string;
  let targetDescription: string;
  if (ledger === null) {
    target = external!;
    targetDescription = 'a running bridge (LOAD_BASE_URL)';
  } else {
    console.log(
      `starting the bridge and projection worker on :${port}; ledger: ${describeLedger(ledger)}…`,
    );
    stack = await startLoadStack({
      run,
      port,
      projections,
      dataDir: path.join(ROOT, '.run', 'load', 'engine'),
      ledger,
      cpus: pin.services,
    });
    target = stack.baseUrl;
    targetDescription =
      `the runner's own stack: bridge on ${describeLedger(ledger)}, Kafka, Redis; ` +
      (projections === 'during'
        ? 'the projection worker (all six projections into PostgreSQL `ledger_load` via ' +
          'PgBouncer) runs during the load, niced'
        : 'the projection worker starts after the load (LOAD_PROJECTIONS=after): the write ' +
          'path alone');
  }
  try {
    const running = await bridgeLedger(target);
    if (ledger !== null && (ledger.kind === 'tigerbeetle') !== (running.kind === 'tigerbeetle')) {
      throw new Error(
        `the bridge runs on ${running.kind}, the run chose ${describeLedger(ledger)}`,
      );
    }
    console.log(`the bridge's ledger: ${running.kind} at ${running.at}; CPUs: ${pin.describe}`);
    targetDescription += `; CPUs: ${pin.describe}`;
    const k6 = await runK6(
      scenario.script,
      { ...settings, BASE_URL: target, RUN: run, API_KEY: stack?.apiKey ?? externalKey! },
      dir,
      name!,
      {
        cluster: running.kind === 'tigerbeetle' ? running.at.split(',') : undefined,
        cpus: pin.load,
      },
    );
    const summary = readK6Summary(k6.summaryPath);
    await stack?.startProjections();
    const projectionsDrainMs =
      stack === null ? null : await waitProjectionsDrained(stack.env, DRAIN_TIMEOUT_MS);
    let audit = null;
    let auditSkipped: string | null = null;
    if (process.env.LOAD_AUDIT === '0') auditSkipped = 'LOAD_AUDIT=0';
    else {
      console.log('auditing: reconcile (after the projections catch up) and verify --full…');
      audit = await auditRun(stack?.env ?? process.env, summary.journalsPosted, run, started);
    }
    const report: RunReport = {
      scenario: name!,
      command: `npm run load -- ${name}`,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      target,
      targetDescription,
      ledger: {
        ...running,
        description: ledger === null ? `${running.kind} at ${running.at}` : describeLedger(ledger),
      },
      machine: machine(),
      settings,
      k6: { ...summary, exitCode: k6.exitCode, thresholdsPassed: k6.thresholdsPassed },
      requests: await readSeries(k6.samplesPath, scenario.requests),
      cpu: k6.cpu,
      projectionsDrainMs,
      audit,
      auditSkipped,
    };
    writeReport(dir, report);
    await writeChart(report.requests, path.join(dir, 'chart.png'), `${name} — ${report.startedAt}`);
    console.log(`\n${markdown(report)}\nreport: ${path.relative(ROOT, dir)}/report.md`);
    return report.k6.thresholdsPassed && (audit === null || audit.clean) ? 0 : 1;
  } finally {
    await stack?.stop();
  }
}

if (require.main === module) {
  runCommand(() => main(process.argv.slice(2)));
}
