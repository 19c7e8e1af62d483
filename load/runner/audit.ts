/**
 * After every load run: did the ledger keep every journal it accepted, exactly once, and do the
 * projections agree with it? Three independent checks, each the project's own tool:
 *
 * - **lost / duplicated**: journals k6 saw accepted (201 with its id) against the posted journals
 *   the projections stored (`journal_entry`), and transfers the ledger holds against both;
 * - **reconcile** (`ledger-bridge reconcile --json`): TigerBeetle against PostgreSQL, every
 *   transfer and account balance, after waiting for the projections to catch up;
 * - **verify** (`ledger-bridge verify --full --json`): the hash chain, from genesis.
 *
 * The verdict line reads "lost 0, duplicated 0, mismatches 0" when all is well.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { SETTLE_DELAY_MS_DEFAULT } from '../../projections/src/reconcile/horizon';

const ROOT = path.resolve(__dirname, '..', '..');
/** Longest the reconciler waits for the projections to drain what the load left (ms). */
const RECONCILE_WAIT_MS = 300_000;

export interface Audit {
  /** Journals k6 saw accepted. */
  accepted: number;
  /** Posted journals from k6 in the projections' journal store. */
  stored: number;
  /** Transfers in the ledger (one per 2-line journal), or null when not read. */
  ledgerTransfers: number | null;
  /** Accepted but not stored. */
  lost: number;
  /** Transfers recorded twice for one journal position (reconciler's duplicate_transfer). */
  duplicated: number;
  /** Every disagreement the reconciler counted. */
  mismatches: number;
  mismatchCounts: Record<string, number>;
  reconcileDeferred: string | null;
  chainOk: boolean;
  eventsVerified: number;
  /** "lost 0, duplicated 0, mismatches 0, hash chain OK (n events)" or what was found. */
  verdict: string;
  clean: boolean;
}

interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

function lastJsonLine(text: string): unknown {
  const line = text
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no JSON report in: ${text.slice(-500)}`);
  return JSON.parse(line);
}

export interface ReconcileJson {
  deferred: string | null;
  counts: Record<string, number>;
  mismatchCount: number;
  transfers: { ledgerScanned: number; storeScanned: number };
}

export interface VerifyJson {
  ok: boolean;
  eventsChecked: number;
}

/** `ledger-bridge reconcile --json --since`: TigerBeetle against PostgreSQL from `since` on. */
export async function reconcileSince(env: NodeJS.ProcessEnv, since: Date): Promise<ReconcileJson> {
  const reconcileRun = await cli(
    ['reconcile', '--json', '--since', since.toISOString(), '--wait-ms', String(RECONCILE_WAIT_MS)],
    env,
  );
  if (reconcileRun.status === 2 && !reconcileRun.stdout.includes('{')) {
    throw new Error(`reconcile could not run: ${reconcileRun.stderr.slice(-1000)}`);
  }
  return lastJsonLine(reconcileRun.stdout) as ReconcileJson;
}

/** `ledger-bridge verify --full --json`: the hash chain from genesis. */
export async function verifyChain(env: NodeJS.ProcessEnv): Promise<VerifyJson> {
  const verifyRun = await cli(['verify', '--full', '--json'], env);
  if (verifyRun.status === 2) throw new Error(`verify could not run: ${verifyRun.stderr}`);
  return lastJsonLine(verifyRun.stdout) as VerifyJson;
}

/** Posted journals from k6 (source `k6`) on this run's accounts (ids `<run>-…`). */
async function storedJournals(directUrl: string, run: string): Promise<number> {
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM journal_entry e
        WHERE e.status = 'posted' AND e.source = 'k6'
          AND EXISTS (SELECT 1 FROM journal_line l
                       WHERE l.journal_id = e.journal_id AND l.account_id LIKE $1)`,
      [`${run.replace(/[\\%_]/g, (c) => `\\${c}`)}-%`],
    );
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

/**
 * `env` is the services' environment (database, ledger, topic, consumer group); `accepted` what k6
 * counted; `run` the prefix of the run's account ids (k6's RUN); `since` when the run began: the
 * ledger is a TigerBeetle cluster that other clients (tests, earlier runs) also write to, so only
 * the run's window is reconciled.
 */
export async function auditRun(
  env: NodeJS.ProcessEnv,
  accepted: number,
  run: string,
  since: Date,
): Promise<Audit> {
  // The reconciler compares up to (now - settle delay): wait that long after the load so its
  // window covers every transfer of the run.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_DELAY_MS_DEFAULT + 1_000));
  const reconcile = await reconcileSince(env, since);
  const verify = await verifyChain(env);
  const stored = await storedJournals(env.DATABASE_DIRECT_URL!, run);
  const lost = Math.max(0, accepted - stored) + (reconcile.counts.transfer_without_metadata ?? 0);
  const duplicated = reconcile.counts.duplicate_transfer ?? 0;
  const mismatches = reconcile.mismatchCount;
  // Every accepted journal's transfer must have been inside the reconciled window.
  const covered = reconcile.deferred === null && reconcile.transfers.ledgerScanned >= accepted;
  const clean = lost === 0 && duplicated === 0 && mismatches === 0 && covered && verify.ok;
  const parts = [`lost ${lost}`, `duplicated ${duplicated}`, `mismatches ${mismatches}`];
  if (reconcile.deferred !== null) parts.push(`reconciliation DEFERRED (${reconcile.deferred})`);
  else if (!covered) {
    parts.push(
      `only ${reconcile.transfers.ledgerScanned} transfers reconciled for ${accepted} accepted`,
    );
  }
  parts.push(
    verify.ok
      ? `hash chain OK (${verify.eventsChecked} events)`
      : 'hash chain TAMPERED (see verify)',
  );
  if (stored > accepted) {
    // A request k6 gave up on (timeout) whose journal the ledger did post: not a loss, and not
    // a duplicate either (one journal id, one posting); said so it is not mistaken for one.
    parts.push(`${stored - accepted} posted that k6 did not see answered`);
  }
  return {
    accepted,
    stored,
    ledgerTransfers: reconcile.deferred === null ? reconcile.transfers.ledgerScanned : null,
    lost,
    duplicated,
    mismatches,
    mismatchCounts: Object.fromEntries(
      Object.entries(reconcile.counts).filter(([, count]) => count > 0),
    ),
    reconcileDeferred: reconcile.deferred,
    chainOk: verify.ok,
    eventsVerified: verify.eventsChecked,
    verdict: parts.join(', '),
    clean,
  };
}
