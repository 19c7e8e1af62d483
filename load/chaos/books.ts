/**
 * The chaos run's audit of what the clients were promised: every journal acknowledged (201) is in
 * TigerBeetle, as its one transfer (a 2-line journal's id is `transferId(journalId, 'create', 0)`,
 * and the ledger keeps one transfer per id), and in PostgreSQL, posted, exactly once, with its two
 * lines. The projections run behind the ledger: the audit waits up to PROJECTED_WAIT_MS for the
 * store to hold them before it calls one lost.
 *
 * Reconcile (every transfer and balance, TigerBeetle against PostgreSQL) and verify (the hash
 * chain) are the project's own commands: load/runner/audit.ts.
 */
import pg from 'pg';
import { loadConfig } from '../../core/config';
import { createDirectPool } from '../../core/postgres/pool';
import { transferId } from '../../ledger/ids';
import { openLedger } from '../../ledger/open';
import { BATCH_EVENTS_MAX } from '../../ledger/port';

/** How long the projections may take to store what was acknowledged (ms). */
const PROJECTED_WAIT_MS = 120_000;
const POLL_MS = 1_000;

export interface BooksAudit {
  checked: number;
  /** Acknowledged, with no transfer in TigerBeetle. */
  missingInLedger: string[];
  /** Acknowledged, not posted in PostgreSQL's journal store (after the wait). */
  missingInStore: string[];
  /** Stored with other than its two lines (a duplicate or a partial projection). */
  wrongLines: string[];
}

async function inLedger(env: NodeJS.ProcessEnv, journalIds: string[]): Promise<Set<string>> {
  const { ledger } = await openLedger(loadConfig(env));
  try {
    const found = new Set<bigint>();
    for (let i = 0; i < journalIds.length; i += BATCH_EVENTS_MAX) {
      const ids = journalIds.slice(i, i + BATCH_EVENTS_MAX).map((j) => transferId(j, 'create', 0));
      for (const transfer of await ledger.lookupTransfers(ids)) found.add(transfer.id);
    }
    return new Set(journalIds.filter((j) => found.has(transferId(j, 'create', 0))));
  } finally {
    await ledger.close();
  }
}

/** Posted journals among `journalIds`, with their number of lines. */
async function inStore(pool: pg.Pool, journalIds: string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ journal_id: string; lines: string }>(
    `SELECT e.journal_id, (SELECT count(*) FROM journal_line l WHERE l.journal_id = e.journal_id)
              AS lines
       FROM journal_entry e
      WHERE e.journal_id = ANY($1::text[]) AND e.status = 'posted'`,
    [journalIds],
  );
  return new Map(rows.map((r) => [r.journal_id, Number(r.lines)]));
}

export async function auditBooks(
  env: NodeJS.ProcessEnv,
  journalIds: string[],
): Promise<BooksAudit> {
  const ledgerHas = await inLedger(env, journalIds);
  const pool = createDirectPool({
    url: env.DATABASE_DIRECT_URL!,
    max: 1,
    applicationName: 'chaos-audit',
  });
  try {
    const deadline = Date.now() + PROJECTED_WAIT_MS;
    let stored = await inStore(pool, journalIds);
    while (stored.size < journalIds.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      stored = await inStore(pool, journalIds);
    }
    return {
      checked: journalIds.length,
      missingInLedger: journalIds.filter((j) => !ledgerHas.has(j)),
      missingInStore: journalIds.filter((j) => !stored.has(j)),
      wrongLines: [...stored].filter(([, lines]) => lines !== 2).map(([j]) => j),
    };
  } finally {
    await pool.end();
  }
}
