/**
 * Accounts: every `account` row against its TigerBeetle account, and TigerBeetle's four totals
 * and `closed` flag against the account-balance read model (`rm_account_balance`, migration 0006,
 * fed by the ledger's change feed).
 *
 * Streams the `account` table in pages of BATCH_EVENTS_MAX by account_id (keyset), each page
 * joined with its read-model row in one query, then one lookup_accounts for the page.
 *
 * Balances move all the time under load, in TigerBeetle first and in PostgreSQL a little later,
 * so two reads can never be taken at one instant. Instead an account is compared only when both
 * sides are known to stand at the horizon H (horizon.ts): the projection has applied every event
 * up to H, and a get_account_transfers AFTER both reads finds no transfer of the account after H.
 * Then no event after H moved either side, and the values must be equal. Only accounts that
 * already differ pay for that check (one request each); the rest are equal anyway. An account
 * moved after H is skipped (`skippedBusy`), not reported: a hot account is compared on a quieter
 * run. The read model follows the ledger's change feed, whose events carry each account's
 * balances and flags as of the event, expiries included, so after the feed caught up every total
 * and the `closed` flag (which a closing transfer sets and its void or expiry clears) must equal
 * TigerBeetle's. The other flags are the ones the account was created with (`account.flags`).
 */
import {
  AccountFilterFlags,
  AccountFlags,
  BATCH_EVENTS_MAX,
  type Account,
  type Ledger,
} from '../../../ledger/port';
import type { Queryable } from '../../../core/postgres/pool';
import type { ReportBuilder } from './report';

const BALANCE_FIELDS = [
  'debits_posted',
  'credits_posted',
  'debits_pending',
  'credits_pending',
] as const;
/** The balances, and the one flag transfers move: as of the feed's latest event. */
type BalanceField = (typeof BALANCE_FIELDS)[number] | 'flags.closed';

interface AccountRow {
  account_id: string;
  /** numeric(39,0): decimal strings. */
  ledger_id: string;
  asset_ledger: number;
  tb_code: number;
  flags: number;
  created_ms: string;
  has_balance: boolean;
  debits_posted: string | null;
  credits_posted: string | null;
  debits_pending: string | null;
  credits_pending: string | null;
  /** The flags as of the feed's latest event on the account (null: no event yet). */
  balance_flags: number | null;
}

const PAGE = `
  SELECT a.account_id, a.ledger_id::text AS ledger_id, s.ledger AS asset_ledger,
         t.tb_code, a.flags,
         floor(extract(epoch FROM a.created_at) * 1000)::bigint::text AS created_ms,
         b.ledger_account_id IS NOT NULL AS has_balance,
         b.debits_posted::text AS debits_posted, b.credits_posted::text AS credits_posted,
         b.debits_pending::text AS debits_pending, b.credits_pending::text AS credits_pending,
         b.flags AS balance_flags
    FROM account a
    JOIN asset s ON s.code = a.asset
    JOIN account_type t ON t.code = a.account_type
    LEFT JOIN rm_account_balance b ON b.ledger_account_id = a.ledger_id
   WHERE a.account_id > $1
   ORDER BY a.account_id
   LIMIT $2`;

export interface AccountsScope {
  /** The horizon (TigerBeetle ns); see horizon.ts. */
  horizonNs: bigint;
  pageSize: number;
}

interface Candidate {
  row: AccountRow;
  ledgerId: bigint;
  fields: { field: BalanceField; ledgerValue: bigint; storeValue: bigint }[];
}

export async function reconcileAccounts(
  db: Queryable,
  ledger: Ledger,
  scope: AccountsScope,
  report: ReportBuilder,
): Promise<void> {
  const pageSize = Math.min(scope.pageSize, BATCH_EVENTS_MAX);
  const horizonMs = scope.horizonNs / 1_000_000n;
  let after = '';
  for (;;) {
    const { rows } = await db.query<AccountRow>(PAGE, [after, pageSize]);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.account_id;
    const settled = rows.filter((row) => {
      if (BigInt(row.created_ms) <= horizonMs) return true;
      report.accounts.skippedRecent++;
      return false;
    });
    const found = await ledger.lookupAccounts(settled.map((row) => BigInt(row.ledger_id)));
    if (found.length > settled.length) {
      throw new Error(`lookup_accounts answered ${found.length} accounts for ${settled.length}`);
    }
    const byId = new Map(found.map((account) => [account.id, account]));
    const candidates: Candidate[] = [];
    for (const row of settled) {
      const account = byId.get(BigInt(row.ledger_id));
      if (account === undefined) {
        report.add({
          kind: 'account_missing_in_ledger',
          accountId: row.account_id,
          ledgerId: row.ledger_id,
        });
        continue;
      }
      compareAttributes(row, account, report);
      const fields = balanceDifferences(row, account);
      if (fields.length > 0) candidates.push({ row, ledgerId: account.id, fields });
      else report.accounts.compared++;
    }
    await confirm(ledger, candidates, scope.horizonNs, report);
    if (rows.length < pageSize) return;
  }
}

function compareAttributes(row: AccountRow, account: Account, report: ReportBuilder): void {
  const pairs: [string, number, number][] = [
    ['ledger', account.ledger, row.asset_ledger],
    ['code', account.code, row.tb_code],
    // `closed` moves with transfers: compared with the feed's flags (balanceDifferences).
    ['flags', account.flags & ~AccountFlags.closed, row.flags & ~AccountFlags.closed],
  ];
  for (const [field, ledgerValue, storeValue] of pairs) {
    if (ledgerValue === storeValue) continue;
    report.add({
      kind: 'account_attribute_mismatch',
      accountId: row.account_id,
      ledgerId: row.ledger_id,
      field,
      ledgerValue: String(ledgerValue),
      storeValue: String(storeValue),
    });
  }
}

/** An account the read model never saw has all four totals at zero, as in TigerBeetle. */
function balanceDifferences(row: AccountRow, account: Account): Candidate['fields'] {
  const fields: Candidate['fields'] = [];
  for (const field of BALANCE_FIELDS) {
    const stored = row[field];
    const storeValue = stored === null ? 0n : BigInt(stored);
    if (account[field] !== storeValue) {
      fields.push({ field, ledgerValue: account[field], storeValue });
    }
  }
  const closed = (flags: number) => BigInt(flags & AccountFlags.closed ? 1 : 0);
  const ledgerClosed = closed(account.flags);
  const storeClosed = closed(row.balance_flags ?? row.flags);
  if (ledgerClosed !== storeClosed) {
    fields.push({ field: 'flags.closed', ledgerValue: ledgerClosed, storeValue: storeClosed });
  }
  return fields;
}

/** Requests in flight at once while confirming candidates. */
const CONFIRM_CONCURRENCY = 16;

/**
 * Reports the candidates no transfer touched after the horizon; counts the others as busy. Runs
 * after both reads of the page, so a transfer that moved either read after H is found here.
 */
async function confirm(
  ledger: Ledger,
  candidates: readonly Candidate[],
  horizonNs: bigint,
  report: ReportBuilder,
): Promise<void> {
  for (let i = 0; i < candidates.length; i += CONFIRM_CONCURRENCY) {
    const chunk = candidates.slice(i, i + CONFIRM_CONCURRENCY);
    const moved = await Promise.all(
      chunk.map((c) =>
        ledger.getAccountTransfers({
          account_id: c.ledgerId,
          user_data_128: 0n,
          user_data_64: 0n,
          user_data_32: 0,
          code: 0,
          timestamp_min: horizonNs + 1n,
          timestamp_max: 0n,
          limit: 1,
          flags: AccountFilterFlags.debits | AccountFilterFlags.credits,
        }),
      ),
    );
    chunk.forEach((candidate, index) => {
      if (moved[index]!.length > 0) {
        report.accounts.skippedBusy++;
        return;
      }
      report.accounts.compared++;
      for (const f of candidate.fields) {
        report.add({
          kind: 'account_balance_mismatch',
          accountId: candidate.row.account_id,
          ledgerId: candidate.row.ledger_id,
          field: f.field,
          ledgerValue: f.ledgerValue.toString(),
          storeValue: candidate.row.has_balance ? f.storeValue.toString() : null,
        });
      }
    });
  }
}
