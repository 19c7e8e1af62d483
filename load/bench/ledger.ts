/**
 * Which ledger a benchmark or a load run measures, decided once per run and printed beside its
 * figures: the TigerBeetle cluster by default (TB_ADDRESSES, else the one the local stack runs,
 * infra/tigerbeetle/local.ts), the embedded engine only where there is no cluster. BENCH_LEDGER=engine
 * (or TB_ADDRESSES set but empty) forces the engine, so one bench measures both;
 * BENCH_LEDGER=tigerbeetle refuses to fall back, for a figure that must be TigerBeetle's.
 *
 * The processes a run starts (bridge, engine server, projection worker, the audit's CLI) get the
 * choice as environment (`ledgerProcessEnv`), never re-decide it: a cluster that appears or
 * disappears mid-run cannot split one run across two ledgers.
 */
import { ledgerEnv, readLocalCluster } from '../../infra/tigerbeetle/local';
import { UsageError } from '../runner/settings';

export type LedgerChoice =
  | {
      kind: 'tigerbeetle';
      clusterId: string;
      /** Every replica, in replica order, as the clients take them. */
      addresses: string[];
      /** Where the settings came from, for the report. */
      source: string;
    }
  | { kind: 'engine'; source: string };

const BENCH_LEDGER_CHOICES = ['tigerbeetle', 'engine'] as const;

export function chooseLedger(
  env: NodeJS.ProcessEnv = process.env,
  localCluster: typeof readLocalCluster = readLocalCluster,
): LedgerChoice {
  const asked = env.BENCH_LEDGER ?? '';
  if (asked !== '' && !(BENCH_LEDGER_CHOICES as readonly string[]).includes(asked)) {
    throw new UsageError(
      `BENCH_LEDGER is one of ${BENCH_LEDGER_CHOICES.join(', ')}, got "${asked}"`,
    );
  }
  if (asked === 'engine') return { kind: 'engine', source: 'BENCH_LEDGER=engine' };
  // The same rule every local process follows: what is set wins, the local cluster fills the rest.
  const merged = { ...env, ...ledgerEnv(env, localCluster) };
  const addressesText = merged.TB_ADDRESSES ?? '';
  const cluster =
    addressesText.trim() === ''
      ? null
      : { TB_ADDRESSES: addressesText, TB_CLUSTER_ID: merged.TB_CLUSTER_ID ?? '0' };
  const given = env.TB_ADDRESSES !== undefined;
  const source = given
    ? cluster === null
      ? 'TB_ADDRESSES set empty'
      : 'TB_ADDRESSES'
    : cluster === null
      ? 'no TigerBeetle cluster running'
      : "the local stack's cluster";
  if (cluster === null) {
    if (asked === 'tigerbeetle') {
      throw new UsageError(
        `BENCH_LEDGER=tigerbeetle, but there is no cluster (${source}): set TB_BIN and run ` +
          '`bash infra/stack.sh up`, or set TB_ADDRESSES',
      );
    }
    return { kind: 'engine', source };
  }
  const addresses = cluster.TB_ADDRESSES.split(',')
    .map((address) => address.trim())
    .filter((address) => address.length > 0);
  return { kind: 'tigerbeetle', clusterId: cluster.TB_CLUSTER_ID, addresses, source };
}

/** What a child process needs in its environment to run on `choice` (and on nothing else). */
export function ledgerProcessEnv(choice: LedgerChoice): Record<string, string> {
  return choice.kind === 'tigerbeetle'
    ? { TB_ADDRESSES: choice.addresses.join(','), TB_CLUSTER_ID: choice.clusterId }
    : // Set but empty: the bridge, start-local and the CLI take the engine even when the local
      // stack runs a cluster.
      { TB_ADDRESSES: '' };
}

/** One line for reports: which ledger, where, and why that one. */
export function describeLedger(choice: LedgerChoice): string {
  return choice.kind === 'tigerbeetle'
    ? `TigerBeetle cluster ${choice.clusterId}, ${choice.addresses.length} replicas at ` +
        `${choice.addresses.join(',')} (${choice.source})`
    : `embedded engine, fsync on (${choice.source})`;
}

/** The short name tables use. */
export function ledgerLabel(choice: LedgerChoice): string {
  return choice.kind === 'tigerbeetle'
    ? `TigerBeetle (${choice.addresses.length} replicas)`
    : 'embedded engine';
}

/** What a running bridge says it runs on (GET /health): the check that the choice took. */
export async function bridgeLedger(baseUrl: string): Promise<{ kind: string; at: string }> {
  const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { ledger?: { kind: string; at: string } };
  if (body.ledger === undefined) throw new Error(`${baseUrl}/health names no ledger`);
  return body.ledger;
}

/** Throws when the bridge at `baseUrl` does not run on the ledger chosen for the run. */
export async function assertBridgeLedger(baseUrl: string, choice: LedgerChoice): Promise<void> {
  const running = await bridgeLedger(baseUrl);
  const expected = choice.kind === 'tigerbeetle' ? ['tigerbeetle'] : ['embedded', 'engine-server'];
  if (!expected.includes(running.kind)) {
    throw new Error(
      `the bridge at ${baseUrl} runs on ${running.kind} (${running.at}), ` +
        `but the run chose ${describeLedger(choice)}`,
    );
  }
}
