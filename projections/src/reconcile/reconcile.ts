/**
 * The reconciler: proves PostgreSQL agrees with TigerBeetle, the book of record, or says exactly
 * where it does not. README.md beside this file is the reference; in short:
 *
 * - accounts (accounts.ts): every `account` row has its TigerBeetle account with the ledger, code
 *   and flags the row implies, and TigerBeetle's four totals equal the account-balance read model;
 * - transfers (transfers.ts): TigerBeetle's transfers in a timestamp window against
 *   `journal_transfer`, both ways, field by field, plus double postings, misattributed rows and
 *   journals without metadata;
 * - dead letters (dead-letters.ts): events the projections skipped and nobody replayed yet.
 *
 * Everything is compared only up to the safe horizon (horizon.ts), so the projections' lag never
 * shows as a mismatch: when the horizon cannot be established, nothing is compared and the report
 * says why (`deferred`).
 */
import type { Ledger } from '../../../ledger/port';
import { BATCH_EVENTS_MAX } from '../../../ledger/port';
import type { Queryable } from '../../../core/postgres/pool';
import { reconcileAccounts } from './accounts';
import { reconcileDeadLetters } from './dead-letters';
import { type HorizonSource, settledHorizon } from './horizon';
import { EXAMPLES_PER_KIND_DEFAULT, type ReconcileReport, ReportBuilder } from './report';
import { reconcileTransfers } from './transfers';

export interface ReconcileDeps {
  /** Reads only; PgBouncer is fine (no session state). */
  db: Queryable;
  ledger: Ledger;
  /** Default: the settle delay alone (horizon.ts); the worker and CLI pass the Kafka proof. */
  horizon?: HorizonSource;
  clockMs?: () => number;
}

export interface ReconcileOptions {
  /** Inclusive TigerBeetle timestamps (ns since epoch) of the transfers compared. */
  timestampMin?: bigint;
  /** Lowered to the safe horizon when later. */
  timestampMax?: bigint;
  /** Skip the per-account comparison (transfers only). */
  skipAccounts?: boolean;
  /** Skip the transfer comparison (accounts only). */
  skipTransfers?: boolean;
  examplesPerKind?: number;
  /** Rows or events per page on each side, at most BATCH_EVENTS_MAX. */
  pageSize?: number;
}

export async function reconcile(
  deps: ReconcileDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const clockMs = deps.clockMs ?? Date.now;
  const report = new ReportBuilder(options.examplesPerKind ?? EXAMPLES_PER_KIND_DEFAULT, clockMs);
  const pageSize = Math.max(1, Math.min(options.pageSize ?? BATCH_EVENTS_MAX, BATCH_EVENTS_MAX));
  const timestampMin =
    options.timestampMin !== undefined && options.timestampMin > 1n ? options.timestampMin : 1n;
  const horizon = await (deps.horizon ?? settledHorizon({ clockMs })).horizon();
  if (horizon.kind === 'deferred') {
    const window = { timestampMin: timestampMin.toString(), timestampMax: '0', horizonSource: '-' };
    return report.finish(window, horizon.reason);
  }
  let timestampMax = horizon.timestampNs;
  if (options.timestampMax !== undefined && options.timestampMax < timestampMax) {
    timestampMax = options.timestampMax;
  }
  if (!options.skipAccounts) {
    await reconcileAccounts(
      deps.db,
      deps.ledger,
      { horizonNs: horizon.timestampNs, pageSize },
      report,
    );
  }
  if (!options.skipTransfers) {
    await reconcileTransfers(
      deps.db,
      deps.ledger,
      { timestampMin, timestampMax, pageSize },
      report,
    );
  }
  await reconcileDeadLetters(deps.db, options.examplesPerKind ?? EXAMPLES_PER_KIND_DEFAULT, report);
  const window = {
    timestampMin: timestampMin.toString(),
    timestampMax: timestampMax.toString(),
    horizonSource: horizon.source,
  };
  return report.finish(window, null);
}
