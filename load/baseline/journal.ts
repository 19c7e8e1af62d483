/**
 * POST /api/journal the conventional way: one PostgreSQL transaction per journal that locks the
 * accounts' rows, checks them, moves their balances and inserts the entries, with a durable
 * COMMIT. The benchmark fixture the bridge is compared against (load/baseline/README.md).
 *
 * The transaction, five round trips, each statement prepared once per connection:
 *   BEGIN
 *   INSERT INTO journal … ON CONFLICT DO NOTHING   -- the id is taken: a retry (same content
 *                                                   -- hash: the first answer again) or a 409
 *   SELECT … FROM account WHERE account_id = ANY($1) ORDER BY account_id FOR NO KEY UPDATE
 *     (then, in process: every line's account exists, each asset balances, limits hold)
 *   WITH moved AS (UPDATE account … FROM unnest(…)), entries AS (INSERT INTO journal_entry
 *     SELECT … FROM unnest(…)) SELECT counts       -- balances and entries in one statement
 *   COMMIT                                         -- waits for the WAL flush
 * Locks are taken in account-id order by every transaction, so two journals sharing accounts
 * queue on the first shared row instead of deadlocking; the journal insert comes first, so a
 * retried journal never waits on its accounts' locks. Everything after the lock is one statement
 * and the COMMIT, to hold a hot account's row for as short a time as a client can.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ApiError } from '../../bridge/src/http/api-error';
import { RETRY_AFTER_SECONDS } from '../../bridge/src/http/error-mapping';
import { JournalError } from '../../bridge/src/journal/errors';
import type { Journal, JournalLine, LineType } from '../../events/journal-model';
import { canonicalJournal } from '../../bridge/src/journal/plan';
import { withTransaction } from '../../core/postgres/pool';
import { I64_MAX } from './schema';

/**
 * Attempts of one journal's transaction when PostgreSQL aborts it as a deadlock (40P01) or a
 * serialization failure (40001). Sorted locks make both impossible here; the bound is a guard.
 */
export const TRANSACTION_ATTEMPTS_MAX = 3;
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/** The 201 body: the same bytes for the first answer and every retry. */
export interface BaselineReceipt {
  journalId: string;
  status: 'posted';
  postedAt: string;
  entries: Array<{ lineNumber: number; accountId: string; lineType: LineType; amount: string }>;
}

/** What the transaction writes, computed from the body before BEGIN. */
interface EntryPlan {
  /** SHA-256 of the bridge's canonical journal (journal.v1). */
  contentHash: Buffer;
  /** Distinct account ids (the rows to lock), with each one's net movement. */
  accountIds: string[];
  debits: bigint[];
  credits: bigint[];
  /** The lines by lineNumber: the entries and the receipt. */
  sorted: JournalLine[];
}

interface LockedAccount {
  account_id: string;
  asset: string;
  normal_side: 'DEBIT' | 'CREDIT';
  must_not_go_negative: boolean;
  debits_posted: bigint;
  credits_posted: bigint;
}

const INSERT_JOURNAL = {
  name: 'baseline_insert_journal',
  text:
    'INSERT INTO journal (journal_id, content_hash, date, description, source) ' +
    'VALUES ($1, $2, $3, $4, $5) ON CONFLICT (journal_id) DO NOTHING RETURNING posted_at',
};

const SELECT_JOURNAL = {
  name: 'baseline_select_journal',
  text: 'SELECT content_hash, posted_at FROM journal WHERE journal_id = $1',
};

// NO KEY UPDATE is the lock an UPDATE of non-key columns takes anyway: it excludes every other
// balance update, and unlike FOR UPDATE it does not block foreign-key checks on the account.
const LOCK_ACCOUNTS = {
  name: 'baseline_lock_accounts',
  text:
    'SELECT account_id, asset, normal_side, must_not_go_negative, debits_posted, ' +
    'credits_posted FROM account WHERE account_id = ANY($1::text[]) ' +
    'ORDER BY account_id FOR NO KEY UPDATE',
};

const WRITE = {
  name: 'baseline_write_journal',
  text:
    'WITH moved AS (UPDATE account AS a SET debits_posted = a.debits_posted + m.debits, ' +
    'credits_posted = a.credits_posted + m.credits, version = a.version + 1, updated_at = now() ' +
    'FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS m (account_id, debits, credits) ' +
    'WHERE a.account_id = m.account_id RETURNING 1), ' +
    'entries AS (INSERT INTO journal_entry (journal_id, line_number, account_id, side, amount) ' +
    'SELECT $4, e.line_number, e.account_id, e.side, e.amount ' +
    'FROM unnest($5::int[], $6::text[], $7::text[], $8::bigint[]) ' +
    'AS e (line_number, account_id, side, amount) RETURNING 1) ' +
    'SELECT (SELECT count(*) FROM moved)::int AS moved, ' +
    '(SELECT count(*) FROM entries)::int AS entries',
};

/** Counters for the benchmark's report; a retry here is a deadlock the lock order missed. */
export interface JournalStats {
  /** Transactions aborted by PostgreSQL (40001, 40P01) and run again. */
  transactionRetries: number;
}

/** Posts a journal (or answers its earlier receipt); JournalError/ApiError for every refusal. */
export async function postJournal(
  pool: pg.Pool,
  journal: Journal,
  stats: JournalStats,
): Promise<BaselineReceipt> {
  const plan = planEntries(journal);
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, (client) => postOnce(client, journal, plan));
    } catch (error) {
      if (!RETRYABLE_SQLSTATES.has((error as { code?: string }).code ?? '')) throw error;
      if (attempt >= TRANSACTION_ATTEMPTS_MAX) {
        const message = `PostgreSQL aborted the transaction ${attempt} times: retry later`;
        const headers = { 'retry-after': String(RETRY_AFTER_SECONDS) };
        throw new ApiError(503, 'store_contention', message, {}, headers);
      }
      stats.transactionRetries++;
    }
  }
}

/** Checks that need only the body, and the transaction's arrays. */
export function planEntries(journal: Journal): EntryPlan {
  if (journal.pending !== null) {
    throw new ApiError(
      422,
      'holds_not_supported',
      'the PostgreSQL baseline does not implement holds: send the journal without pending',
      { field: 'pending' },
    );
  }
  const movement = new Map<string, { debits: bigint; credits: bigint }>();
  journal.lines.forEach((line, i) => {
    if (line.amount > I64_MAX) {
      const field = `lines[${i}].amount`;
      throw new JournalError(
        'amount_out_of_range',
        `${field} must be at most 2^63-1: the baseline stores amounts as bigint`,
        { field, line: line.lineNumber },
      );
    }
    let moved = movement.get(line.accountId);
    if (moved === undefined) movement.set(line.accountId, (moved = { debits: 0n, credits: 0n }));
    if (line.lineType === 'DEBIT') moved.debits += line.amount;
    else moved.credits += line.amount;
  });
  const accountIds = [...movement.keys()].sort();
  return {
    contentHash: createHash('sha256').update(canonicalJournal(journal)).digest(),
    accountIds,
    debits: accountIds.map((id) => movement.get(id)!.debits),
    credits: accountIds.map((id) => movement.get(id)!.credits),
    sorted: [...journal.lines].sort((a, b) => a.lineNumber - b.lineNumber),
  };
}

async function postOnce(
  client: pg.PoolClient,
  journal: Journal,
  plan: EntryPlan,
): Promise<BaselineReceipt> {
  const { journalId, date, description, source } = journal;
  const inserted = await client.query<{ posted_at: Date }>({
    ...INSERT_JOURNAL,
    values: [journalId, plan.contentHash, date, description, source],
  });
  const postedAt = inserted.rows[0]?.posted_at;
  if (postedAt === undefined) {
    // A retry: nothing was written, so the transaction's COMMIT changes nothing.
    return earlier(client, journal, plan);
  }

  const locked = await client.query<LockedAccount>({ ...LOCK_ACCOUNTS, values: [plan.accountIds] });
  checkLocked(journal, plan, locked.rows);

  const written = await client.query<{ moved: number; entries: number }>({
    ...WRITE,
    values: [
      plan.accountIds,
      plan.debits.map(String),
      plan.credits.map(String),
      journalId,
      plan.sorted.map((line) => line.lineNumber),
      plan.sorted.map((line) => line.accountId),
      plan.sorted.map((line) => line.lineType),
      plan.sorted.map((line) => line.amount.toString()),
    ],
  });
  const counts = written.rows[0];
  if (counts?.moved !== plan.accountIds.length || counts.entries !== plan.sorted.length) {
    throw new Error(
      `journal ${journalId}: moved ${counts?.moved} of ${plan.accountIds.length} accounts, ` +
        `wrote ${counts?.entries} of ${plan.sorted.length} entries`,
    );
  }
  return receiptOf(journal, plan, postedAt);
}

/** The journal id is taken: the same content is a retry (its first answer), else a 409. */
async function earlier(
  client: pg.PoolClient,
  journal: Journal,
  plan: EntryPlan,
): Promise<BaselineReceipt> {
  const { rows } = await client.query<{ content_hash: Buffer; posted_at: Date }>({
    ...SELECT_JOURNAL,
    values: [journal.journalId],
  });
  const stored = rows[0];
  // Journals are never deleted: a conflicting insert means the committed row is visible now.
  if (stored === undefined) throw new Error(`journal ${journal.journalId}: conflict, no row`);
  if (!stored.content_hash.equals(plan.contentHash)) {
    throw new JournalError(
      'journal_conflict',
      `journal ${journal.journalId} exists with different content`,
      { field: 'journalId' },
    );
  }
  return receiptOf(journal, plan, stored.posted_at);
}

function receiptOf(journal: Journal, plan: EntryPlan, postedAt: Date): BaselineReceipt {
  return {
    journalId: journal.journalId,
    status: 'posted',
    postedAt: postedAt.toISOString(),
    entries: plan.sorted.map((line) => ({
      lineNumber: line.lineNumber,
      accountId: line.accountId,
      lineType: line.lineType,
      amount: line.amount.toString(),
    })),
  };
}

/** The locked rows against the journal: unknown accounts, assets, then balance limits. */
function checkLocked(journal: Journal, plan: EntryPlan, rows: LockedAccount[]): void {
  const accounts = new Map(rows.map((row) => [row.account_id, row]));
  journal.lines.forEach((line, i) => {
    if (!accounts.has(line.accountId)) {
      const field = `lines[${i}].accountId`;
      throw new JournalError('account_not_found', `${field}: account ${line.accountId} not found`, {
        field,
        line: line.lineNumber,
      });
    }
  });
  checkAssets(journal, accounts);
  plan.accountIds.forEach((accountId, k) => {
    checkLimits(journal, accounts.get(accountId)!, plan.debits[k]!, plan.credits[k]!);
  });
}

interface AssetSums {
  debits: bigint;
  credits: bigint;
  /** Index in the request and lineNumber of the asset's first line (by lineNumber). */
  first: { index: number; lineNumber: number };
}

/**
 * Per asset, debits equal credits (the bridge's rules and codes): an asset whose lines sit on
 * one side only, in a journal of several assets, is an asset_mismatch naming its first line;
 * otherwise unequal sums are an unbalanced_journal.
 */
function checkAssets(journal: Journal, accounts: ReadonlyMap<string, LockedAccount>): void {
  const assets = new Map<string, AssetSums>();
  journal.lines.forEach((line, index) => {
    const asset = accounts.get(line.accountId)!.asset;
    let sums = assets.get(asset);
    if (sums === undefined) {
      sums = { debits: 0n, credits: 0n, first: { index, lineNumber: line.lineNumber } };
      assets.set(asset, sums);
    }
    if (line.lineNumber < sums.first.lineNumber)
      sums.first = { index, lineNumber: line.lineNumber };
    if (line.lineType === 'DEBIT') sums.debits += line.amount;
    else sums.credits += line.amount;
  });
  for (const [asset, { debits, credits, first }] of assets) {
    const oneSided = debits === 0n || credits === 0n;
    if (debits === credits && !oneSided) continue;
    const details = { asset, debits: debits.toString(), credits: credits.toString() };
    if (assets.size > 1 && oneSided) {
      const field = `lines[${first.index}].accountId`;
      throw new JournalError(
        'asset_mismatch',
        `${field}: the ${asset} lines are all on one side; debits ${debits}, credits ${credits}`,
        { field, line: first.lineNumber, details },
      );
    }
    const message = `${asset} debits ${debits} ≠ credits ${credits}`;
    throw new JournalError('unbalanced_journal', message, { field: 'lines', details });
  }
}

type LimitStatus =
  'overflows_debits_posted' | 'overflows_credits_posted' | 'exceeds_credits' | 'exceeds_debits';

/** The side of the line that a refusal names: the one that moved the account that way. */
const SIDE_AT_FAULT: Record<LimitStatus, LineType> = {
  overflows_debits_posted: 'DEBIT',
  overflows_credits_posted: 'CREDIT',
  exceeds_credits: 'DEBIT',
  exceeds_debits: 'CREDIT',
};

/**
 * The account's new balances fit bigint, and a must-not-go-negative account stays at or above
 * zero on its normal side. TigerBeetle's status names, as the bridge's journal_rejected carries.
 */
function checkLimits(
  journal: Journal,
  account: LockedAccount,
  debits: bigint,
  credits: bigint,
): void {
  const newDebits = account.debits_posted + debits;
  const newCredits = account.credits_posted + credits;
  let status: LimitStatus | null = null;
  if (newDebits > I64_MAX) status = 'overflows_debits_posted';
  else if (newCredits > I64_MAX) status = 'overflows_credits_posted';
  else if (account.must_not_go_negative) {
    if (account.normal_side === 'CREDIT' && newDebits > newCredits) status = 'exceeds_credits';
    if (account.normal_side === 'DEBIT' && newCredits > newDebits) status = 'exceeds_debits';
  }
  if (status === null) return;
  const side = SIDE_AT_FAULT[status];
  const index = journal.lines.findIndex(
    (line) => line.accountId === account.account_id && line.lineType === side,
  );
  if (index === -1) throw new Error(`${status} on ${account.account_id} without a ${side} line`);
  const line = journal.lines[index]!;
  const field = `lines[${index}].accountId`;
  throw new JournalError(
    'journal_rejected',
    `${field}: account ${account.account_id} refuses the journal: ${status}`,
    { field, line: line.lineNumber, details: { status } },
  );
}
