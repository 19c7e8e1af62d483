/**
 * Schemathesis fuzzes the running API from its own contract (/openapi.json), with a key holding
 * every scope and without one, and the run passes only with 0 answers 5xx, 0 responses that
 * break the contract, and no 2xx from a keyed route to a request without a key.
 *
 *   npm run fuzz                       long: rounds with the key until ≥ 100,000 test cases
 *                                      (--cases N), then one round without; prints the table
 *   tsx load/fuzz/main.ts --ci         bounded (CI: test/e2e/contract/schemathesis.e2e.test.ts)
 *   ... [--seed S] [--database ledger_test]
 *
 * The bridge runs in this process (./bridge.ts); its log and Schemathesis's reports (failures
 * with a curl to reproduce them) are under .run/fuzz/.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mintKey, startFuzzBridge } from './bridge';
import { runSchemathesis, type RunSummary } from './schemathesis';

const ROOT = path.resolve(__dirname, '..', '..');
export const FUZZ_DIR = path.join(ROOT, '.run', 'fuzz');

export interface Profile {
  name: 'ci' | 'long';
  maxExamples: number;
  /** Per Schemathesis run with the key (s). */
  maxTimeSec: number;
  /**
   * The run without a key (s): every keyed operation answers 401 before any of its logic, so a
   * long run adds little beyond the public routes.
   */
  withoutKeyMaxTimeSec: number;
  /** Keyed test cases to reach (rounds repeat with new seeds until then); 0: one round. */
  casesMin: number;
  /** Keyed rounds at once, each its own Schemathesis process and seed. */
  parallel: number;
}

/** Bounded for CI: both runs together stay near two minutes on this project's 2-core machines. */
export const CI_PROFILE: Profile = {
  name: 'ci',
  maxExamples: 8,
  maxTimeSec: 60,
  withoutKeyMaxTimeSec: 60,
  casesMin: 0,
  parallel: 1,
};
export const LONG_PROFILE: Profile = {
  name: 'long',
  maxExamples: 1000,
  maxTimeSec: 3600,
  withoutKeyMaxTimeSec: 900,
  casesMin: 100_000,
  // Schemathesis is one Python thread (see ./schemathesis.ts on --workers), waiting on each
  // answer half the time: four processes keep the 2 cores busy, the bridge included.
  parallel: 4,
};

export interface RoundResult {
  label: string;
  summary: RunSummary;
  problems: string[];
}

export interface Contract {
  paths: Record<string, Record<string, { security?: unknown[]; examples?: unknown }>>;
}

export async function fuzzContract(
  profile: Profile,
  options: { database: string; seed: number; log?: (line: string) => void },
): Promise<RoundResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  // A directory per profile: the CI test and a long run may share a machine.
  const dir = path.join(FUZZ_DIR, profile.name);
  const bridge = await startFuzzBridge(options.database, path.join(dir, 'bridge.log'));
  try {
    const key = await mintKey(bridge.env, `fuzz-${profile.name}`);
    const contract = (await (await fetch(`${bridge.url}/openapi.json`)).json()) as Contract;
    await postExamples(bridge.url, key, contract);
    const rounds: RoundResult[] = [];
    const round = async (label: string, withKey: boolean, seed: number): Promise<void> => {
      const summary = await runSchemathesis({
        url: bridge.url,
        key: withKey ? key : null,
        maxExamples: profile.maxExamples,
        maxTimeSec: withKey ? profile.maxTimeSec : profile.withoutKeyMaxTimeSec,
        seed,
        reportDir: path.join(dir, label),
      });
      const problems = judge(summary, withKey, contract);
      log(`${label}: ${summary.cases} cases, ${problems.length} problems (${summary.outputFile})`);
      rounds.push({ label, summary, problems });
    };
    let keyed = 0;
    let seed = options.seed;
    do {
      const batch = Array.from({ length: profile.parallel }, () => seed++);
      await Promise.all(batch.map((s, i) => round(`with-key-${rounds.length + i + 1}`, true, s)));
      keyed = rounds.reduce((sum, r) => sum + r.summary.cases, 0);
    } while (keyed < profile.casesMin && rounds.every((r) => r.problems.length === 0));
    await round('without-key', false, seed);
    return rounds;
  } finally {
    await bridge.stop();
  }
}

/** Posts the contract's account and journal examples: the example phase then finds them. */
async function postExamples(url: string, key: string, contract: Contract): Promise<void> {
  for (const [route, op] of [
    ['/api/accounts', 'post'],
    ['/api/journal', 'post'],
  ] as const) {
    const content = contract.paths[route]![op] as unknown as {
      requestBody: { content: Record<string, { examples: Record<string, { value: unknown }> }> };
    };
    for (const [name, { value }] of Object.entries(
      content.requestBody.content['application/json']!.examples,
    )) {
      const res = await fetch(url + route, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(value),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`example ${name} of POST ${route}: ${res.status} ${text}`);
    }
  }
}

/** Everything wrong with one run: Schemathesis's findings, 5xx, keyed routes open without key. */
export function judge(summary: RunSummary, withKey: boolean, contract: Contract): string[] {
  const problems: string[] = [];
  if (summary.failures > 0) problems.push(`${summary.failures} failures`);
  if (summary.errors > 0) problems.push(`${summary.errors} errors`);
  if (summary.exitCode !== 0 && problems.length === 0) problems.push(`exit ${summary.exitCode}`);
  if (summary.cases === 0) problems.push('no test cases ran');
  const keyed = keyedOperations(contract);
  let unauthorized = 0;
  for (const [label, statuses] of summary.statuses) {
    for (const [status, count] of statuses) {
      if (status >= 500) problems.push(`${label}: ${count} × ${status}`);
      if (!withKey && status === 401) unauthorized += count;
      if (!withKey && status < 300 && keyed.some((match) => match(label))) {
        problems.push(`${label}: ${count} × ${status} without a key`);
      }
    }
  }
  if (!withKey && unauthorized === 0) problems.push('no 401 without a key');
  return problems;
}

/** A matcher per keyed operation (`GET /api/balance/{accountId}` matches `GET /api/balance/x`). */
function keyedOperations(contract: Contract): Array<(label: string) => boolean> {
  const matchers: Array<(label: string) => boolean> = [];
  for (const [template, item] of Object.entries(contract.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if ((op.security ?? []).length === 0) continue;
      const pattern = template.replace(/\{[^}]+\}/g, '[^/]+');
      const regex = new RegExp(`^${method.toUpperCase()} ${pattern}$`);
      matchers.push((label) => regex.test(label));
    }
  }
  return matchers;
}

/** The table `npm run fuzz` prints: one row per run, and the total. */
export function table(rounds: readonly RoundResult[]): string {
  const rows = [['run', 'cases', 'failures', 'errors', '2xx', '4xx', '401', '5xx', 'seconds']];
  const totals = { cases: 0, failures: 0, errors: 0, s2: 0, s4: 0, s401: 0, s5: 0, seconds: 0 };
  for (const { label, summary } of rounds) {
    const count = (test: (status: number) => boolean) =>
      [...summary.statuses.values()]
        .flatMap((byStatus) => [...byStatus])
        .reduce((sum, [status, n]) => sum + (test(status) ? n : 0), 0);
    const row = {
      cases: summary.cases,
      failures: summary.failures,
      errors: summary.errors,
      s2: count((s) => s < 300),
      s4: count((s) => s >= 400 && s < 500),
      s401: count((s) => s === 401),
      s5: count((s) => s >= 500),
      seconds: Math.round(summary.seconds),
    };
    for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += row[key];
    rows.push([label, ...Object.values(row).map(String)]);
  }
  rows.push(['total', ...Object.values(totals).map(String)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  '),
    )
    .join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ci: { type: 'boolean', default: false },
      cases: { type: 'string' },
      seed: { type: 'string', default: '1' },
      database: { type: 'string', default: 'ledger_load' },
      parallel: { type: 'string' },
    },
  });
  const base = values.ci ? CI_PROFILE : LONG_PROFILE;
  const profile = {
    ...base,
    casesMin: values.cases === undefined ? base.casesMin : Number(values.cases),
    parallel: values.parallel === undefined ? base.parallel : Number(values.parallel),
  };
  const rounds = await fuzzContract(profile, {
    database: values.database,
    seed: Number(values.seed),
  });
  console.log(`\n${table(rounds)}\n`);
  const problems = rounds.flatMap((r) => r.problems.map((p) => `${r.label}: ${p}`));
  for (const problem of problems) console.log(`PROBLEM ${problem}`);
  console.log(problems.length === 0 ? 'OK: 0 failures' : `FAILED: ${problems.length} problems`);
  return problems.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(2);
    },
  );
}
