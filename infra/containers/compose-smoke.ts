/**
 * The composed cluster's smoke test, `npm run compose:smoke` (issue 18): docker-compose.production.yml
 * brought up on this machine (infra/containers/compose.sh up: every image built here, the 2-core
 * override), then, through its nginx on 127.0.0.1:
 *   - accounts and journals, answered by each of the three bridges (their own journal counters);
 *   - a balance read with the last journal's Balance-Token, equal to the sum the smoke posted;
 *   - the projections: each journal read back with its Consistency-Token, the statement's entries;
 *   - one TigerBeetle replica stopped: journals still post on the other two, then it rejoins;
 *   - `ledger-bridge reconcile` (exit 0: the ledger and PostgreSQL agree, both feeds caught up) and
 *     `ledger-bridge verify` (the hash chains), run in the projections container;
 * then compose.sh down, which fails unless no container, volume or network of the project is left.
 * `--keep` leaves the cluster up (compose.sh down later); `--no-up` uses the cluster already up
 * from this clone as it is. Exit 0 and a last line `OK: …` when all
 * held; 1 with the step that failed. Everything is torn down on failure too (unless --keep).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';

const ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_SH = path.join(ROOT, 'infra', 'containers', 'compose.sh');
const BRIDGES = ['bridge-1', 'bridge-2', 'bridge-3'];
const JOURNALS = 90;
const JOURNALS_WHILE_DEGRADED = 20;
const CONCURRENCY = 6;
const PROJECTED_WAIT_MS = 120_000;
const RECONCILE_ATTEMPTS = 6;
const FAILED_REPLICA = 'tigerbeetle-2';

interface Cluster {
  lbUrl: string;
  headers: Record<string, string>;
}

interface Posted {
  journalId: string;
  amount: number;
  consistencyToken: string;
  balanceToken: string;
}

const timings: string[] = [];

async function step<T>(name: string, run: () => Promise<T> | T): Promise<T> {
  const startedMs = Date.now();
  process.stderr.write(`[compose-smoke] ${name}\n`);
  const result = await run();
  timings.push(`${name} ${Date.now() - startedMs} ms`);
  return result;
}

/** compose.sh with ARGS; its output, or a thrown error with its stderr's tail. */
function composeSh(args: string[], opts: { quiet?: boolean } = {}): string {
  const result = spawnSync('bash', [COMPOSE_SH, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', opts.quiet === true ? 'pipe' : 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    // Enough lines for compose.sh's diagnosis of a container that did not come up.
    const tail = (result.stderr ?? '').split('\n').slice(-200).join('\n');
    throw new Error(`compose.sh ${args.join(' ')} exited ${result.status}\n${tail}`);
  }
  return result.stdout;
}

/** A command in a running service's container: its exit status and output. */
function inService(service: string, command: string[]): { status: number; out: string } {
  const result = spawnSync('bash', [COMPOSE_SH, 'compose', 'exec', '-T', service, ...command], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

function settingsOf(upOutput: string): Cluster {
  const value = (key: string) => {
    const line = upOutput.split('\n').find((l) => l.startsWith(`${key}=`));
    if (line === undefined) throw new Error(`compose.sh up printed no ${key}`);
    return line.slice(key.length + 1);
  };
  const key = readFileSync(value('API_KEY_FILE'), 'utf8').trim();
  return {
    lbUrl: value('LB_URL'),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  };
}

async function call(
  cluster: Cluster,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${cluster.lbUrl}${route}`, {
    method,
    headers: { ...cluster.headers, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : JSON.parse(text), headers: res.headers };
}

function expectStatus(what: string, got: { status: number; body: unknown }, ...want: number[]) {
  if (!want.includes(got.status)) {
    throw new Error(
      `${what}: ${got.status} ${JSON.stringify(got.body)} (wanted ${want.join('/')})`,
    );
  }
}

async function openAccounts(cluster: Cluster, run: string): Promise<[string, string]> {
  const ids: [string, string] = [`smoke-${run}-a`, `smoke-${run}-b`];
  for (const accountId of ids) {
    const res = await call(cluster, 'POST', '/api/accounts', {
      accountId,
      name: accountId,
      holderId: 'compose-smoke',
      accountType: 'asset',
      asset: 'USD',
    });
    expectStatus(`POST /api/accounts ${accountId}`, res, 201);
  }
  return ids;
}

async function postJournals(
  cluster: Cluster,
  [debit, credit]: [string, string],
  count: number,
): Promise<Posted[]> {
  const posted: Posted[] = [];
  const one = async (i: number) => {
    const journalId = uuidv7();
    const amount = 1 + (i % 97);
    const res = await call(cluster, 'POST', '/api/journal', {
      journalId,
      date: new Date().toISOString().slice(0, 10),
      description: `compose smoke ${i}`,
      source: 'compose-smoke',
      lines: [
        { accountId: debit, lineType: 'DEBIT', amount, lineNumber: 1 },
        { accountId: credit, lineType: 'CREDIT', amount, lineNumber: 2 },
      ],
    });
    expectStatus(`POST /api/journal ${journalId}`, res, 201);
    posted.push({
      journalId,
      amount,
      consistencyToken: res.headers.get('consistency-token') ?? '',
      balanceToken: res.headers.get('balance-token') ?? '',
    });
  };
  for (let i = 0; i < count; i += CONCURRENCY) {
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, count - i) }, (_, k) => one(i + k)),
    );
  }
  return posted;
}

/** Journals each bridge counted (its /metrics, asked inside its container). */
function journalsPerBridge(): Record<string, number> {
  const counts: Record<string, number> = {};
  const key = readFileSync(path.join(ROOT, '.run', 'compose', 'api_key'), 'utf8').trim();
  for (const bridge of BRIDGES) {
    const script =
      "fetch('http://127.0.0.1:3000/metrics',{headers:{authorization:'Bearer '+process.argv[1]}})" +
      '.then(r=>r.text()).then(t=>console.log(t))';
    const { status, out } = inService(bridge, ['node', '-e', script, key]);
    if (status !== 0) throw new Error(`${bridge} /metrics: ${out}`);
    counts[bridge] = out
      .split('\n')
      .filter((line) => line.startsWith('ledger_bridge_journals_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  }
  return counts;
}

async function checkBalance(cluster: Cluster, accountId: string, posted: Posted[]) {
  const last = posted[posted.length - 1]!;
  const res = await call(cluster, 'GET', `/api/balance/${accountId}`, undefined, {
    'balance-token': last.balanceToken,
  });
  expectStatus(`GET /api/balance/${accountId}`, res, 200);
  // The smoke's second account is credited by every journal, and by nothing else.
  const want = String(posted.reduce((sum, p) => sum + p.amount, 0));
  const credits = (res.body.posted as { credits?: string } | undefined)?.credits;
  if (credits !== want) {
    throw new Error(`balance of ${accountId}: ${JSON.stringify(res.body)}, wanted credits ${want}`);
  }
}

async function checkProjected(cluster: Cluster, accountId: string, posted: Posted[]) {
  const deadline = Date.now() + PROJECTED_WAIT_MS;
  for (const p of posted) {
    for (;;) {
      const res = await call(cluster, 'GET', `/api/journal/${p.journalId}`, undefined, {
        'consistency-token': p.consistencyToken,
      });
      if (res.status === 200 && res.body.status === 'posted') break;
      if (res.status !== 425 && res.status !== 404)
        expectStatus(`journal ${p.journalId}`, res, 200);
      if (Date.now() > deadline) throw new Error(`journal ${p.journalId} not projected in time`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  let entries = 0;
  let cursor = '';
  do {
    const res = await call(
      cluster,
      'GET',
      `/api/accounts/${accountId}/entries?limit=500${cursor === '' ? '' : `&cursor=${cursor}`}`,
    );
    expectStatus(`statement of ${accountId}`, res, 200);
    entries += (res.body.entries as unknown[]).length;
    cursor = (res.body.nextCursor as string | null) ?? '';
  } while (cursor !== '');
  if (entries !== posted.length) {
    throw new Error(`statement of ${accountId}: ${entries} entries, wanted ${posted.length}`);
  }
}

/** One replica stopped: the other two are a quorum, so journals still post; then it rejoins. */
async function withReplicaDown(cluster: Cluster, accounts: [string, string]): Promise<Posted[]> {
  composeSh(['compose', 'stop', FAILED_REPLICA], { quiet: true });
  try {
    return await postJournals(cluster, accounts, JOURNALS_WHILE_DEGRADED);
  } finally {
    composeSh(['compose', 'start', '--wait', FAILED_REPLICA], { quiet: true });
  }
}

/** reconcile until the feeds have caught up (exit 2: deferred), then it must be 0; verify too. */
async function reconcileAndVerify(sinceIso: string) {
  let last = { status: 2, out: '' };
  for (let attempt = 0; attempt < RECONCILE_ATTEMPTS && last.status === 2; attempt++) {
    last = inService('projections', [
      'npx',
      'tsx',
      'cli/main.ts',
      'reconcile',
      '--since',
      sinceIso,
    ]);
  }
  if (last.status !== 0) throw new Error(`reconcile exited ${last.status}:\n${last.out}`);
  const verify = inService('projections', ['npx', 'tsx', 'cli/main.ts', 'verify']);
  if (verify.status !== 0) throw new Error(`verify exited ${verify.status}:\n${verify.out}`);
  return `${last.out.trim().split('\n').pop()} / ${verify.out.trim().split('\n').pop()}`;
}

async function smoke(cluster: Cluster): Promise<void> {
  const run = uuidv7().slice(-8);
  const sinceIso = new Date(Date.now() - 60_000).toISOString();
  const accounts = await step('accounts', () => openAccounts(cluster, run));
  const posted = await step(`${JOURNALS} journals through nginx`, () =>
    postJournals(cluster, accounts, JOURNALS),
  );
  const perBridge = await step('journals per bridge', journalsPerBridge);
  const idle = BRIDGES.filter((b) => (perBridge[b] ?? 0) === 0);
  if (idle.length > 0)
    throw new Error(`no journal reached ${idle.join(', ')}: ${JSON.stringify(perBridge)}`);
  const degraded = await step(
    `${FAILED_REPLICA} stopped: ${JOURNALS_WHILE_DEGRADED} journals`,
    () => withReplicaDown(cluster, accounts),
  );
  const all = [...posted, ...degraded];
  await step('balance read', () => checkBalance(cluster, accounts[1], all));
  await step('projections', () => checkProjected(cluster, accounts[1], all));
  const verdict = await step('reconcile and verify', () => reconcileAndVerify(sinceIso));
  // A service that crashed and was restarted by its policy passes every check above.
  await step('every container running, healthy, never restarted', () =>
    composeSh(['health'], { quiet: true }),
  );
  process.stderr.write(
    `[compose-smoke] journals per bridge ${JSON.stringify(perBridge)}; ${verdict}\n`,
  );
}

async function main(): Promise<number> {
  const keep = process.argv.includes('--keep');
  const startedMs = Date.now();
  let failure: Error | null = null;
  try {
    const upOutput = process.argv.includes('--no-up')
      ? composeSh(['settings'], { quiet: true })
      : await step('compose.sh up', () => composeSh(['up']));
    await smoke(settingsOf(upOutput));
  } catch (error) {
    failure = error as Error;
  }
  if (!keep) {
    try {
      await step('compose.sh down', () => composeSh(['down']));
    } catch (error) {
      failure ??= error as Error;
    }
  }
  if (failure !== null) {
    process.stderr.write(`FAILED: ${failure.message}\n(${timings.join(', ')})\n`);
    return 1;
  }
  process.stdout.write(
    `OK: composed cluster smoke passed in ${Date.now() - startedMs} ms (${timings.join(', ')})\n`,
  );
  return 0;
}

main().then((code) => process.exit(code));
