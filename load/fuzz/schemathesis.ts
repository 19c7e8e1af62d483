/**
 * One Schemathesis run against a running API, from its own /openapi.json: the checks that hold
 * the API to its contract (no 5xx; every status, content type, required header and body as the
 * document says), its JSON and NDJSON reports read back into a summary: test cases, failures,
 * errors, and every response's status, by operation. Schemathesis comes from PyPI, pinned, in a
 * venv that infra/setup.sh keeps in the machine's cache and names in .run/schemathesis-bin.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN_POINTER = path.join(ROOT, '.run', 'schemathesis-bin');

/**
 * The checks, by the pinned version's names: no 5xx, and every answer as the contract says
 * (status, content type, required headers, body); also that a keyed route refuses a request
 * without its key (ignored_auth) and that other methods get 405 with a true Allow. Not the
 * data checks (negative_data_rejection, positive_data_acceptance): what JSON Schema cannot say
 * (a registry's codes, a hold's amount, the bulk route judging each journal on its own) makes
 * them flag the API's documented design, not its bugs.
 */
export const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'ignored_auth',
  'unsupported_method',
  'allow_header_conformance',
] as const;

export interface RunOptions {
  url: string;
  /** The API key to send, or null to send none. */
  key: string | null;
  /** Test cases per operation and phase (Schemathesis `--max-examples`). */
  maxExamples: number;
  /** The whole run's time budget (s). */
  maxTimeSec: number;
  seed: number;
  /** Where the reports and Schemathesis's own output go. */
  reportDir: string;
}

export interface RunSummary {
  exitCode: number;
  cases: number;
  failures: number;
  errors: number;
  /** `<METHOD> <path>` → status → responses. */
  statuses: Map<string, Map<number, number>>;
  seconds: number;
  /** Schemathesis's own report (its failures with their reproductions). */
  outputFile: string;
}

export function schemathesisBin(): string {
  if (!fs.existsSync(BIN_POINTER)) {
    throw new Error(`${BIN_POINTER} is missing: run infra/setup.sh (it installs Schemathesis)`);
  }
  const bin = fs.readFileSync(BIN_POINTER, 'utf8').trim();
  if (!fs.existsSync(bin)) throw new Error(`${bin} (from ${BIN_POINTER}) is missing: run setup`);
  return bin;
}

export async function runSchemathesis(options: RunOptions): Promise<RunSummary> {
  fs.rmSync(options.reportDir, { recursive: true, force: true });
  fs.mkdirSync(options.reportDir, { recursive: true });
  const outputFile = path.join(options.reportDir, 'output.txt');
  const args = [
    'run',
    `${options.url}/openapi.json`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(options.maxExamples),
    '--max-time',
    String(options.maxTimeSec),
    '--seed',
    String(options.seed),
    // One worker: with two threads, Hypothesis 6.170's lambda descriptions race (a tool error,
    // "AST constructor recursion depth mismatch", seen here); throughput comes from rounds.
    '--workers',
    '1',
    '--report',
    'json,ndjson',
    '--report-json-path',
    path.join(options.reportDir, 'report.json'),
    '--report-ndjson-path',
    path.join(options.reportDir, 'events.ndjson'),
    '--no-color',
    ...(options.key === null ? [] : ['--header', `Authorization: Bearer ${options.key}`]),
  ];
  await run(schemathesisBin(), args, outputFile);
  return await readSummary(options.reportDir);
}

interface SchemathesisReport {
  exit_code: number;
  running_time: number;
  test_cases: { generated: number; unique_failures: number; errored: number };
  errors: unknown[];
}

/** A finished run's summary, from its report directory (also to print a table again later). */
export async function readSummary(reportDir: string): Promise<RunSummary> {
  const report = JSON.parse(
    fs.readFileSync(path.join(reportDir, 'report.json'), 'utf8'),
  ) as SchemathesisReport;
  return {
    exitCode: report.exit_code,
    cases: report.test_cases.generated,
    failures: report.test_cases.unique_failures,
    errors: report.errors.length + report.test_cases.errored,
    statuses: await readStatuses(path.join(reportDir, 'events.ndjson')),
    seconds: report.running_time,
    outputFile: path.join(reportDir, 'output.txt'),
  };
}

function run(bin: string, args: string[], outputFile: string): Promise<number> {
  const out = fs.openSync(outputFile, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      // Its example database (.schemathesis/, replayed by later runs) stays under .run/.
      cwd: path.dirname(path.dirname(outputFile)),
      stdio: ['ignore', out, out],
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      fs.closeSync(out);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

/**
 * Every response of the run, from the NDJSON events' recorded interactions. Streamed: a long
 * round's events are some 350 MB.
 */
async function readStatuses(file: string): Promise<Map<string, Map<number, number>>> {
  const statuses = new Map<string, Map<number, number>>();
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes('"ScenarioFinished"')) continue;
    const event = JSON.parse(line) as { ScenarioFinished: { recorder: Recorder } };
    for (const interaction of Object.values(event.ScenarioFinished.recorder.interactions ?? {})) {
      const status = interaction.response?.status_code;
      if (status === undefined) continue;
      const label = operationLabel(interaction.request.method, interaction.request.uri);
      const byStatus = statuses.get(label) ?? new Map<number, number>();
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      statuses.set(label, byStatus);
    }
  }
  return statuses;
}

interface Recorder {
  interactions?: Record<
    string,
    { request: { method: string; uri: string }; response?: { status_code: number } }
  >;
}

/** `GET /api/balance/x%2Fy?a=1` → `GET /api/balance/x%2Fy`: matched to routes by the caller. */
function operationLabel(method: string, uri: string): string {
  return `${method} ${new URL(uri).pathname}`;
}
