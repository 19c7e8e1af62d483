/**
 * A validated journal as TigerBeetle transfers: one linked chain, so the journal posts
 * all-or-nothing, with ids derived from the journal id so a retry is the same chain.
 *
 * Recipe. TigerBeetle moves money with single-debit, single-credit transfers and composes
 * compound entries from linked transfers ("Multi-Debit, Multi-Credit Transfers" in its docs).
 * For one-to-many entries the recipe links direct transfers; for many-to-many it routes every
 * line through a control account, and notes that skipping the control account where amounts line
 * up is the faster option. We pair debit lines with credit lines directly, within each asset:
 * - it is the recipe's one-to-many form exactly (the 2-line and fee-split journals of the load),
 *   and for many-to-many it makes at most one transfer per line where the control account makes
 *   exactly one per line, so never more;
 * - every transfer moves money between two real accounts, so each carries the debit line and the
 *   credit line it stands for (TransferOutcome.debitLine/creditLine), and an insufficient-funds
 *   status names a client line, not an intermediary;
 * - no control account per asset to provision, to keep at zero, and to exclude from balances.
 * The cost is a pairing step, below, and one new rule (self_transfer) that the control account
 * would not need: an account debited and credited in one journal cannot be paired with itself.
 *
 * Pairing, per asset, lines taken in lineNumber order (so a retry with the lines reordered is the
 * same chain): the north-west-corner rule — pair the first open debit with the first open credit
 * for the smaller of what is left on each, until both sides are settled. Each step closes a line,
 * so an asset of n lines gives at most n-1 transfers. When an account is on both sides, the rule
 * skips credits of the debit's own account and caps each amount so that no other account ends up
 * with more left on its two sides than the asset has left to move; an account that reaches that
 * bound ("tight") is settled against everyone else at once. That never pairs an account with
 * itself and stays within n transfers (proof sketch at pairAvoidingSelf). It is possible exactly
 * when every account's debits + credits ≤ the asset's total, which is the self_transfer check.
 */
import { journalKey, sha256High128, transferIdFromKey } from '../../../ledger/ids';
import { type Transfer, TransferFlags } from '../../../ledger/port';
import { JournalError } from './errors';
import type { Journal, JournalLine } from '../../../events/journal-model';
import { journalDateMs } from './schema';

/** What the plan needs to know about an account (from the account registry, cached in process). */
export interface AccountRef {
  accountId: string;
  /** The TigerBeetle account id. */
  ledgerId: bigint;
  /** The TigerBeetle ledger: one per asset. */
  ledger: number;
  asset: string;
  /** Decimal places of the asset's minor unit (2 for USD cents). */
  scale: number;
  /** Whose account it is: what an API key restricted to some holders is checked against. */
  holderId: string;
}

/** TigerBeetle `code` of a journal's transfers: "a pairing of journal lines". */
export const JOURNAL_TRANSFER_CODE = 1;
/** Transfers per journal chain: the id scheme's 8-bit index (0..255); lines ≤ 64 keep it far. */
export const TRANSFERS_PER_JOURNAL_MAX = 255;

export interface JournalPlan {
  /** The linked chain, in order: `linked` on all but the last. */
  transfers: Transfer[];
  /** Per transfer, the lineNumbers of the debit line and the credit line it carries. */
  lines: Array<{ debitLine: number; creditLine: number }>;
  /** Truncated SHA-256 of the canonical journal, in every transfer's user_data_128. */
  contentHash: bigint;
}

export type HoldAction = 'post' | 'void';

interface Leg {
  line: JournalLine;
  /** Index in the request's lines array, for error fields. */
  index: number;
  ref: AccountRef;
  /** Amount of this line not yet carried by a transfer. */
  left: bigint;
}

interface AssetGroup {
  ledger: number;
  asset: string;
  /** The asset's lines in lineNumber order, then split by side. */
  legs: Leg[];
  debits: Leg[];
  credits: Leg[];
  debitSum: bigint;
  creditSum: bigint;
}

interface Pair {
  debit: Leg;
  credit: Leg;
  amount: bigint;
}

/** A broken invariant of our own: crash loudly. Callers test first, so messages cost nothing. */
function fail(message: string): never {
  throw new Error(`journal plan invariant: ${message}`);
}

/**
 * The canonical content of a journal: what its journalId stands for. The JSON text of
 * ["journal.v1", journalId, date, description, source, [[lineNumber, accountId, lineType,
 * "amount"], …by lineNumber], timeoutSeconds | null]. A JSON array escapes its strings, so no two
 * journals share a text; the version tag lets the encoding change without colliding with hashes
 * already stored in TigerBeetle. Built by hand (it runs per journal), equal to JSON.stringify of
 * that array (tested).
 */
export function canonicalJournal(journal: Journal): string {
  const sorted = [...journal.lines].sort((a, b) => a.lineNumber - b.lineNumber);
  return canonicalOfSorted(journal, sorted);
}

/** Truncated SHA-256 of the canonical journal: the same id with other content is a 409. */
export function journalContentHash(journal: Journal): bigint {
  return sha256High128(canonicalJournal(journal));
}

function canonicalOfSorted(journal: Journal, sorted: readonly JournalLine[]): string {
  const json = JSON.stringify;
  let text = `["journal.v1",${json(journal.journalId)},${json(journal.date)},`;
  text += `${json(journal.description)},${json(journal.source)},[`;
  for (let i = 0; i < sorted.length; i++) {
    const l = sorted[i]!;
    text += `${i === 0 ? '' : ','}[${l.lineNumber},${json(l.accountId)},"${l.lineType}","${l.amount}"]`;
  }
  return `${text}],${journal.pending === null ? 'null' : journal.pending.timeoutSeconds}]`;
}

/** Lines with their accounts, in request order; the first unknown account is a 422. */
function resolveLegs(journal: Journal, accounts: ReadonlyMap<string, AccountRef>): Leg[] {
  return journal.lines.map((line, index) => {
    const ref = accounts.get(line.accountId);
    if (ref === undefined) {
      const field = `lines[${index}].accountId`;
      throw new JournalError('account_not_found', `${field}: account ${line.accountId} not found`, {
        field,
        line: line.lineNumber,
      });
    }
    return { line, index, ref, left: line.amount };
  });
}

/** Legs grouped by ledger, groups in order of first appearance in lineNumber order. */
function groupByAsset(sorted: readonly Leg[]): AssetGroup[] {
  const groups = new Map<number, AssetGroup>();
  for (const leg of sorted) {
    const { ledger, asset } = leg.ref;
    let group = groups.get(ledger);
    if (group === undefined) {
      group = { ledger, asset, legs: [], debits: [], credits: [], debitSum: 0n, creditSum: 0n };
      groups.set(ledger, group);
    }
    if (group.asset !== asset) fail(`ledger ${ledger} is both ${group.asset} and ${asset}`);
    group.legs.push(leg);
    if (leg.line.lineType === 'DEBIT') {
      group.debits.push(leg);
      group.debitSum += leg.line.amount;
    } else {
      group.credits.push(leg);
      group.creditSum += leg.line.amount;
    }
  }
  return [...groups.values()];
}

function checkBalanced(group: AssetGroup, assetCount: number): void {
  const { asset, debitSum, creditSum } = group;
  const oneSided = group.debits.length === 0 || group.credits.length === 0;
  if (debitSum === creditSum && !oneSided) return;
  const details = { asset, debits: debitSum.toString(), credits: creditSum.toString() };
  if (assetCount > 1 && oneSided) {
    const leg = group.legs[0]!;
    const field = `lines[${leg.index}].accountId`;
    const side = group.debits.length === 0 ? 'debit' : 'credit';
    throw new JournalError(
      'asset_mismatch',
      `${field}: no line ${side}s a ${asset} account, so the ${asset} lines cannot be paired ` +
        `(a transfer moves one asset); debits ${debitSum}, credits ${creditSum}`,
      { field, line: leg.line.lineNumber, details },
    );
  }
  throw new JournalError(
    'unbalanced_journal',
    `${asset} debits ${debitSum} ≠ credits ${creditSum}`,
    {
      field: 'lines',
      details,
    },
  );
}

/** Pairs legs in order, each step closing the debit or the credit (or both). */
function northWest(debits: readonly Leg[], credits: readonly Leg[], pairs: Pair[]): void {
  let i = 0;
  let j = 0;
  while (i < debits.length && j < credits.length) {
    const debit = debits[i]!;
    const credit = credits[j]!;
    if (debit.left === 0n) i++;
    else if (credit.left === 0n) j++;
    else {
      const amount = debit.left < credit.left ? debit.left : credit.left;
      pairs.push({ debit, credit, amount });
      debit.left -= amount;
      credit.left -= amount;
    }
  }
}

function hasTwoSidedAccount(group: AssetGroup): boolean {
  for (const credit of group.credits) {
    for (const debit of group.debits) {
      if (debit.ref.ledgerId === credit.ref.ledgerId) return true;
    }
  }
  return false;
}

/** debits + credits per account, in order of first appearance (lineNumber order). */
function weights(group: AssetGroup): Map<bigint, bigint> {
  const weight = new Map<bigint, bigint>();
  for (const leg of group.legs) {
    weight.set(leg.ref.ledgerId, (weight.get(leg.ref.ledgerId) ?? 0n) + leg.left);
  }
  return weight;
}

function checkNoSelfTransfer(group: AssetGroup, weight: ReadonlyMap<bigint, bigint>): void {
  for (const [ledgerId, w] of weight) {
    if (w <= group.debitSum) continue;
    const leg = group.legs.find((l) => l.ref.ledgerId === ledgerId)!;
    const field = `lines[${leg.index}].accountId`;
    throw new JournalError(
      'self_transfer',
      `${field}: account ${leg.line.accountId} is debited and credited ${w} ${group.asset} in ` +
        `total, more than the ${group.debitSum} the journal moves in ${group.asset}`,
      { field, line: leg.line.lineNumber, details: { asset: group.asset } },
    );
  }
}

/**
 * North-west corner without pairing an account with itself. Let R be what the asset has left to
 * move and w(a) an account's debits + credits left. Invariant: w(a) ≤ R for every a (true at the
 * start by checkNoSelfTransfer).
 * - If some h has w(h) = R ("tight"), every remaining unit touches h: h's debits equal the others'
 *   credits and h's credits equal the others' debits, so two plain north-west passes settle it.
 * - Else take the first open debit (account x) and the first open credit of another account y
 *   (one exists: if all open credits were x's, w(x) > R). Moving m keeps the invariant for x and
 *   y; for every other account it needs w(a) ≤ R - m, so m is capped at R - max w(a) (> 0, as
 *   nobody is tight). A capped step makes that account tight, so it happens at most once.
 * Count: each uncapped step closes a line, the capped one is followed by the tight settlement,
 * which makes at most (lines still open) - 1 transfers: n lines give at most n transfers.
 */
function pairAvoidingSelf(group: AssetGroup, weight: Map<bigint, bigint>, pairs: Pair[]): void {
  let left = group.debitSum;
  while (left > 0n) {
    let heavy = 0n;
    let heavyId = -1n;
    for (const [id, w] of weight) {
      if (w > heavy) {
        heavy = w;
        heavyId = id;
      }
    }
    if (heavy === left) {
      const mine = (l: Leg): boolean => l.ref.ledgerId === heavyId;
      northWest(
        group.debits.filter(mine),
        group.credits.filter((l) => !mine(l)),
        pairs,
      );
      northWest(
        group.debits.filter((l) => !mine(l)),
        group.credits.filter(mine),
        pairs,
      );
      return;
    }
    const debit = group.debits.find((l) => l.left > 0n)!;
    const x = debit.ref.ledgerId;
    const credit = group.credits.find((l) => l.left > 0n && l.ref.ledgerId !== x);
    if (credit === undefined) fail(`no credit for ${debit.line.accountId} in ${group.asset}`);
    const y = credit.ref.ledgerId;
    let others = 0n;
    for (const [id, w] of weight) {
      if (id !== x && id !== y && w > others) others = w;
    }
    let amount = debit.left < credit.left ? debit.left : credit.left;
    if (amount > left - others) amount = left - others;
    if (amount <= 0n) fail(`empty step in ${group.asset}`);
    pairs.push({ debit, credit, amount });
    debit.left -= amount;
    credit.left -= amount;
    weight.set(x, weight.get(x)! - amount);
    weight.set(y, weight.get(y)! - amount);
    left -= amount;
  }
}

function pairAsset(group: AssetGroup, pairs: Pair[]): void {
  const first = pairs.length;
  if (!hasTwoSidedAccount(group)) {
    northWest(group.debits, group.credits, pairs);
  } else {
    const weight = weights(group);
    checkNoSelfTransfer(group, weight);
    pairAvoidingSelf(group, weight, pairs);
  }
  let moved = 0n;
  for (let i = first; i < pairs.length; i++) moved += pairs[i]!.amount;
  if (moved !== group.debitSum) fail(`${group.asset} moves ${moved}, debits are ${group.debitSum}`);
  if (pairs.length - first > group.legs.length) fail(`${group.asset}: more transfers than lines`);
  for (const leg of group.legs) {
    if (leg.left !== 0n) fail(`line ${leg.line.lineNumber} not settled`);
  }
}

/**
 * The journal's transfers. Throws JournalError (422) for unknown accounts, an asset whose debits
 * and credits differ or sit on one side only, and an account that would pay itself; a plain Error
 * when an invariant of the plan breaks.
 */
export function planJournal(
  journal: Journal,
  accounts: ReadonlyMap<string, AccountRef>,
): JournalPlan {
  const sorted = resolveLegs(journal, accounts).sort(
    (a, b) => a.line.lineNumber - b.line.lineNumber,
  );
  const groups = groupByAsset(sorted);
  for (const group of groups) checkBalanced(group, groups.length);
  const pairs: Pair[] = [];
  for (const group of groups) pairAsset(group, pairs);

  const count = pairs.length;
  if (count < 1 || count > TRANSFERS_PER_JOURNAL_MAX) fail(`${count} transfers`);
  const contentHash = sha256High128(
    canonicalOfSorted(
      journal,
      sorted.map((leg) => leg.line),
    ),
  );
  const dateMs = journalDateMs(journal.date);
  if (!Number.isSafeInteger(dateMs) || dateMs < 0) fail(`date ${journal.date}`);
  const key = journalKey(journal.journalId);
  const pending = journal.pending !== null;
  const transfers: Transfer[] = [];
  const lines: JournalPlan['lines'] = [];
  for (let i = 0; i < count; i++) {
    const { debit, credit, amount } = pairs[i]!;
    if (amount <= 0n) fail('a transfer of zero');
    if (debit.ref.ledgerId === credit.ref.ledgerId) fail('a transfer from an account to itself');
    if (debit.ref.ledger !== credit.ref.ledger) fail('a transfer across ledgers');
    let flags = pending ? TransferFlags.pending : TransferFlags.none;
    if (i < count - 1) flags |= TransferFlags.linked;
    transfers.push({
      id: transferIdFromKey(key, 'create', i),
      debit_account_id: debit.ref.ledgerId,
      credit_account_id: credit.ref.ledgerId,
      amount,
      pending_id: 0n,
      user_data_128: contentHash,
      user_data_64: BigInt(dateMs),
      user_data_32: count,
      timeout: journal.pending === null ? 0 : journal.pending.timeoutSeconds,
      ledger: debit.ref.ledger,
      code: JOURNAL_TRANSFER_CODE,
      flags,
      timestamp: 0n,
    });
    lines.push({ debitLine: debit.line.lineNumber, creditLine: credit.line.lineNumber });
  }
  return { transfers, lines, contentHash };
}

/**
 * The transfers that post or void a hold (the journal's pending chain, as looked up from the
 * ledger, in any order). Ids are transferId(journalId, action, i), so a retried post or void is the
 * same event; a post and a void of one hold have different ids, and TigerBeetle answers the later
 * one with pending_transfer_already_posted/voided.
 *
 * Amounts (TigerBeetle ≥ 0.16): a post of the pending amount posts it all, a smaller amount posts
 * that much and releases the rest, a larger one fails. We always send an explicit amount: the full
 * pending amount unless `amount` asks for less (single-transfer holds only: a partial amount has no
 * single meaning across several transfers), and a void carries the pending amount, which every
 * TigerBeetle version accepts. Other fields repeat the pending transfer's, which TigerBeetle
 * requires to be zero or equal.
 */
export function planHoldResolution(
  journalId: string,
  pendingTransfers: readonly Transfer[],
  action: HoldAction,
  amount?: bigint,
): Transfer[] {
  if (pendingTransfers.length === 0) {
    throw new JournalError('journal_not_found', `no journal ${journalId}`);
  }
  const chain = [...pendingTransfers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const key = journalKey(journalId);
  chain.forEach((t, i) => {
    if (t.id !== transferIdFromKey(key, 'create', i)) fail(`${t.id} is not ${journalId}/${i}`);
    if (t.user_data_32 !== chain.length) fail(`${journalId}: ${chain.length} of ${t.user_data_32}`);
  });
  if (chain.some((t) => (t.flags & TransferFlags.pending) === 0)) {
    throw new JournalError('journal_not_pending', `journal ${journalId} is not a hold`);
  }
  if (action === 'void' && amount !== undefined) fail('a void has no amount');
  if (amount !== undefined) checkPartialAmount(journalId, chain, amount);

  const flag =
    action === 'post' ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer;
  return chain.map((p, i) => ({
    id: transferIdFromKey(key, action, i),
    debit_account_id: p.debit_account_id,
    credit_account_id: p.credit_account_id,
    amount: amount ?? p.amount,
    pending_id: p.id,
    user_data_128: p.user_data_128,
    user_data_64: p.user_data_64,
    user_data_32: p.user_data_32,
    timeout: 0,
    ledger: p.ledger,
    code: p.code,
    flags: i < chain.length - 1 ? flag | TransferFlags.linked : flag,
    timestamp: 0n,
  }));
}

function checkPartialAmount(journalId: string, chain: readonly Transfer[], amount: bigint): void {
  if (amount <= 0n) {
    throw new JournalError('amount_out_of_range', 'amount must be at least 1', { field: 'amount' });
  }
  if (chain.length > 1) {
    throw new JournalError(
      'hold_partial_unsupported',
      `journal ${journalId} holds ${chain.length} transfers; only a single-transfer hold can be ` +
        'posted in part',
      { field: 'amount' },
    );
  }
  const held = chain[0]!.amount;
  if (amount > held) {
    throw new JournalError(
      'hold_amount_exceeds_pending',
      `amount ${amount} exceeds the ${held} held by journal ${journalId}`,
      { field: 'amount', details: { held: held.toString() } },
    );
  }
}
