/**
 * What a reconciliation found: a count per kind of mismatch, the first few examples of each, and
 * how much was compared. Counts are exact; examples are bounded so a badly broken store (every
 * row wrong) still yields a report of a few kilobytes. Values are decimal strings: u128 in JSON.
 */

/**
 * Every kind of disagreement between TigerBeetle (the book of record) and PostgreSQL. An
 * exhaustive record below lists them, so a new kind breaks the build until it is counted.
 */
export type MismatchKind =
  /** An `account` row whose TigerBeetle account does not exist. */
  | 'account_missing_in_ledger'
  /** debits/credits posted/pending differ between TigerBeetle and the balance projection. */
  | 'account_balance_mismatch'
  /** The TigerBeetle account's ledger, code or flags are not what its row says. */
  | 'account_attribute_mismatch'
  /**
   * A TigerBeetle transfer with no `journal_transfer` row that the change feed never delivered
   * either: committed, and nothing in PostgreSQL knows.
   */
  | 'transfer_without_metadata'
  /** A `journal_transfer` row whose transfer TigerBeetle does not hold. */
  | 'transfer_missing_in_ledger'
  /** A field of a `journal_transfer` row differs from the TigerBeetle transfer. */
  | 'transfer_field_mismatch'
  /** Two transfers recorded for one position (journal, step, chain index): a double posting. */
  | 'duplicate_transfer'
  /** A row's transfer id is not the id derived from its journal, step and chain index. */
  | 'misattributed_transfer'
  /** A `journal_entry` stub: a hold's post/void whose journal metadata was never applied. */
  | 'journal_without_metadata'
  /**
   * An event the projections skipped (a `projection_dead_letter` row not replayed): PostgreSQL
   * lacks what it says until `ledger-bridge projections replay-dlq` applies it.
   */
  | 'dead_lettered_event';

const KINDS: Record<MismatchKind, true> = {
  account_missing_in_ledger: true,
  account_balance_mismatch: true,
  account_attribute_mismatch: true,
  transfer_without_metadata: true,
  transfer_missing_in_ledger: true,
  transfer_field_mismatch: true,
  duplicate_transfer: true,
  misattributed_transfer: true,
  journal_without_metadata: true,
  dead_lettered_event: true,
};
export const MISMATCH_KINDS = Object.keys(KINDS) as MismatchKind[];

export interface Mismatch {
  kind: MismatchKind;
  /** The bridge account id (`account.account_id`), for account kinds. */
  accountId?: string;
  /** TigerBeetle id (u128, decimal) of the account or transfer. */
  ledgerId?: string;
  transferId?: string;
  journalId?: string;
  /** The differing field, named as in TigerBeetle (`debits_posted`, `amount`, ...). */
  field?: string;
  /** TigerBeetle's value, and PostgreSQL's, as decimal strings (null: absent on that side). */
  ledgerValue?: string | null;
  storeValue?: string | null;
  detail?: string;
}

export interface ReconcileReport {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /**
   * The transfers compared: TigerBeetle timestamps (ns) in [timestampMin, timestampMax], where
   * timestampMax is the safe horizon (see horizon.ts). `deferred` is set, and nothing compared,
   * when no safe horizon could be established (the projection is behind).
   */
  window: { timestampMin: string; timestampMax: string; horizonSource: string };
  deferred: string | null;
  accounts: {
    /** Accounts whose balances were compared. */
    compared: number;
    /** Not compared: touched in TigerBeetle after the horizon (compared on a later run). */
    skippedBusy: number;
    /** Not compared: created after the horizon (their TigerBeetle account may be in flight). */
    skippedRecent: number;
  };
  transfers: {
    /** TigerBeetle transfers read in the window. */
    ledgerScanned: number;
    /** `journal_transfer` rows read in the window. */
    storeScanned: number;
    /**
     * TigerBeetle transfers in the window between two accounts this deployment does not have:
     * another deployment's (or test run's) on a shared cluster, not compared.
     */
    foreign: number;
    /**
     * TigerBeetle transfers of this deployment's accounts without journal metadata that the change
     * feed delivered: raw movements (the raw transfer API, or a journal whose outcome was never
     * published), projected into balances and statements, not mismatches.
     */
    raw: number;
  };
  counts: Record<MismatchKind, number>;
  /** The first `examplesPerKind` mismatches of each kind, in the order found. */
  examples: Mismatch[];
  mismatchCount: number;
}

/** Examples kept per kind unless the caller asks otherwise. */
export const EXAMPLES_PER_KIND_DEFAULT = 20;

export class ReportBuilder {
  readonly counts: Record<MismatchKind, number>;
  readonly examples: Mismatch[] = [];
  readonly accounts = { compared: 0, skippedBusy: 0, skippedRecent: 0 };
  readonly transfers = { ledgerScanned: 0, storeScanned: 0, foreign: 0, raw: 0 };
  private readonly startedMs: number;

  constructor(
    private readonly examplesPerKind: number,
    private readonly clockMs: () => number,
  ) {
    this.counts = Object.fromEntries(MISMATCH_KINDS.map((kind) => [kind, 0])) as Record<
      MismatchKind,
      number
    >;
    this.startedMs = clockMs();
  }

  add(mismatch: Mismatch): void {
    const count = ++this.counts[mismatch.kind];
    if (count <= this.examplesPerKind) this.examples.push(mismatch);
  }

  /** `total` mismatches of one kind counted elsewhere (a query), with the first few examples. */
  addCounted(kind: MismatchKind, total: number, examples: readonly Mismatch[]): void {
    const room = Math.max(0, this.examplesPerKind - this.counts[kind]);
    this.examples.push(...examples.slice(0, room));
    this.counts[kind] += total;
  }

  get mismatchCount(): number {
    return MISMATCH_KINDS.reduce((sum, kind) => sum + this.counts[kind], 0);
  }

  finish(window: ReconcileReport['window'], deferred: string | null): ReconcileReport {
    const finishedMs = this.clockMs();
    return {
      startedAt: new Date(this.startedMs).toISOString(),
      finishedAt: new Date(finishedMs).toISOString(),
      durationMs: finishedMs - this.startedMs,
      window,
      deferred,
      accounts: { ...this.accounts },
      transfers: { ...this.transfers },
      counts: { ...this.counts },
      examples: [...this.examples],
      mismatchCount: this.mismatchCount,
    };
  }
}

/**
 * A human summary: the window, then (unless deferred) the counts, one line per non-zero kind and
 * the examples; last, exactly one verdict line (verdictLine).
 */
export function formatReport(report: ReconcileReport): string {
  const lines: string[] = [];
  const { window } = report;
  lines.push(
    `window: TigerBeetle timestamps ${window.timestampMin}..${window.timestampMax} ` +
      `(horizon: ${window.horizonSource})`,
  );
  if (report.deferred !== null) {
    // Nothing was compared: no count below would mean anything, and "OK" would be a lie.
    lines.push(verdictLine(report));
    return lines.join('\n');
  }
  const a = report.accounts;
  lines.push(
    `accounts: ${a.compared} compared, ${a.skippedBusy} busy after the horizon, ` +
      `${a.skippedRecent} created after the horizon`,
  );
  const t = report.transfers;
  lines.push(
    `transfers: ${t.ledgerScanned} in TigerBeetle (${t.foreign} between accounts of others, ` +
      `${t.raw} raw movements without journal), ` +
      `${t.storeScanned} in PostgreSQL (${report.durationMs} ms)`,
  );
  for (const kind of MISMATCH_KINDS) {
    if (report.counts[kind] > 0) lines.push(`  ${kind}: ${report.counts[kind]}`);
  }
  for (const m of report.examples) lines.push(`  - ${describe(m)}`);
  lines.push(verdictLine(report));
  return lines.join('\n');
}

/** The report's one verdict, its last line: deferred (nothing compared), clean, or not. */
export function verdictLine(report: ReconcileReport): string {
  if (report.deferred !== null) return `DEFERRED, nothing compared: ${report.deferred}`;
  return report.mismatchCount === 0 ? 'OK: 0 mismatches' : `${report.mismatchCount} mismatches`;
}

function describe(m: Mismatch): string {
  const parts: string[] = [m.kind];
  if (m.accountId !== undefined) parts.push(`account ${m.accountId}`);
  if (m.transferId !== undefined) parts.push(`transfer ${m.transferId}`);
  if (m.journalId !== undefined) parts.push(`journal ${m.journalId}`);
  if (m.field !== undefined) {
    parts.push(
      `${m.field}: TigerBeetle ${m.ledgerValue ?? '-'}, PostgreSQL ${m.storeValue ?? '-'}`,
    );
  }
  if (m.detail !== undefined) parts.push(m.detail);
  return parts.join(' ');
}
