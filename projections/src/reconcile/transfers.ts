/**
 * Transfers: TigerBeetle's transfers with timestamps in [min, max] against `journal_transfer`
 * (migration 0002), in two streaming passes joined by transfer id, so a wrong timestamp in
 * PostgreSQL is reported as a field mismatch and not as one row missing on each side.
 *
 * 1. Ledger → store: query_transfers with a zero filter (no field set matches every transfer, as
 *    in TigerBeetle's state machine, which then scans its object tree by timestamp) and the
 *    window's bounds, paged by timestamp (limit BATCH_EVENTS_MAX, next page from the last
 *    timestamp + 1: timestamps are unique). Each page's ids are looked up in one statement on the
 *    primary key: present → every field compared; absent → looked up in the change feed's
 *    `ledger_change`: there, it is a raw movement (a transfer made without a journal, or a
 *    journal whose outcome was never published), counted and visible in balances and statements;
 *    not there either → `transfer_without_metadata`: the ledger committed it and nothing in
 *    PostgreSQL knows.
 * 2. Store → ledger: `journal_transfer` rows with tb_timestamp in the window, keyset-paged by
 *    (tb_timestamp, transfer_id), each page looked up with one lookup_transfers: absent →
 *    `transfer_missing_in_ledger`. Fields are compared again only where pass 1 could not have
 *    (TigerBeetle's timestamp outside the window). Each row is also checked for a second row at
 *    its chain position (`duplicate_transfer`) and for an id its position does not derive
 *    (`misattributed_transfer`).
 * 3. `journal_entry` stubs in the window (`journal_without_metadata`).
 *
 * What "duplicate" means here: with deterministic ids (ledger/ids.ts) a journal step
 * can only ever create the transfer ids derived from (journal id, step, chain index), and the
 * primary key forbids a transfer id twice. So the duplicate that matters on a payments ledger,
 * one journal posted twice, shows as two transfer ids at one (journal, step, chain index); and a
 * row whose id is not the derived one means the projection put a transfer under the wrong
 * journal. Two journals with the same content under different ids are not duplicates to the
 * reconciler: the ledger and the store agree on them, and only the client knows its intent.
 *
 * Memory: one page per side at a time, whatever the window holds.
 */
import {
  BATCH_EVENTS_MAX,
  type Ledger,
  type QueryFilter,
  type Transfer,
} from '../../../ledger/port';
import { transferId, type TransferPhase } from '../../../ledger/ids';
import type { Queryable } from '../../../core/postgres/pool';
import type { ReportBuilder } from './report';

export interface TransfersScope {
  /** Inclusive TigerBeetle timestamps (ns), min ≥ 1. */
  timestampMin: bigint;
  timestampMax: bigint;
  pageSize: number;
}

/** TigerBeetle field name → journal_transfer column, every field of a stored transfer but id. */
const FIELDS: readonly (readonly [keyof Transfer, string])[] = [
  ['debit_account_id', 'debit_account_ledger_id'],
  ['credit_account_id', 'credit_account_ledger_id'],
  ['amount', 'amount'],
  ['pending_id', 'pending_id'],
  ['ledger', 'ledger'],
  ['code', 'code'],
  ['flags', 'flags'],
  ['timeout', 'timeout'],
  ['user_data_128', 'user_data_128'],
  ['user_data_64', 'user_data_64'],
  ['user_data_32', 'user_data_32'],
  ['timestamp', 'tb_timestamp'],
];

/** Every compared column as text: one exact representation whatever its SQL type. */
const COLUMNS = FIELDS.map(([, column]) => `t.${column}::text AS ${column}`).join(', ');

type StoredRow = Record<string, string> & {
  transfer_id: string;
  journal_id: string;
  step: string;
  chain_index: number;
};

const BY_IDS = `
  SELECT t.transfer_id::text AS transfer_id, t.journal_id, t.step, t.chain_index, ${COLUMNS}
    FROM journal_transfer t
   WHERE t.transfer_id = ANY($1::numeric[])`;

/** Which of these transfers the change feed delivered (an expiry event repeats the pending's). */
const IN_FEED = `
  SELECT DISTINCT transfer_id::text AS transfer_id FROM ledger_change
   WHERE transfer_id = ANY($1::numeric[]) AND type <> 'two_phase_expired'`;

/** Which of these TigerBeetle account ids are this deployment's accounts. */
const OURS = `
  SELECT ledger_id::text AS ledger_id FROM account WHERE ledger_id = ANY($1::numeric[])`;

/**
 * `duplicated`: another row holds this row's chain position under a smaller transfer id, so a
 * pair is reported once (at its second row). Served by journal_transfer_journal_id_idx.
 */
const STORE_PAGE = `
  SELECT t.transfer_id::text AS transfer_id, t.journal_id, t.step, t.chain_index, ${COLUMNS},
         EXISTS (SELECT 1 FROM journal_transfer d
                  WHERE d.journal_id = t.journal_id AND d.step = t.step
                    AND d.chain_index = t.chain_index AND d.transfer_id < t.transfer_id)
           AS duplicated
    FROM journal_transfer t
   WHERE t.tb_timestamp >= $1::numeric
     AND (t.tb_timestamp > $1::numeric OR t.transfer_id > $2::numeric)
     AND t.tb_timestamp <= $3::numeric
   ORDER BY t.tb_timestamp, t.transfer_id
   LIMIT $4`;

const STUB_PAGE = `
  SELECT journal_id, tb_timestamp::text AS tb_timestamp, status
    FROM journal_entry
   WHERE date IS NULL
     AND tb_timestamp >= $1::numeric AND (tb_timestamp > $1::numeric OR journal_id > $2)
     AND tb_timestamp <= $3::numeric
   ORDER BY tb_timestamp, journal_id
   LIMIT $4`;

export async function reconcileTransfers(
  db: Queryable,
  ledger: Ledger,
  scope: TransfersScope,
  report: ReportBuilder,
): Promise<void> {
  if (scope.timestampMin > scope.timestampMax) return;
  await ledgerToStore(db, ledger, scope, report);
  await storeToLedger(db, ledger, scope, report);
  await stubs(db, scope, report);
}

function queryFilter(timestampMin: bigint, timestampMax: bigint, limit: number): QueryFilter {
  return {
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    ledger: 0,
    code: 0,
    timestamp_min: timestampMin,
    timestamp_max: timestampMax,
    limit,
    flags: 0,
  };
}

async function ledgerToStore(
  db: Queryable,
  ledger: Ledger,
  scope: TransfersScope,
  report: ReportBuilder,
): Promise<void> {
  const limit = Math.min(scope.pageSize, BATCH_EVENTS_MAX);
  let cursor = scope.timestampMin;
  while (cursor <= scope.timestampMax) {
    const page = await ledger.queryTransfers(queryFilter(cursor, scope.timestampMax, limit));
    if (page.length === 0) return;
    report.transfers.ledgerScanned += page.length;
    const { rows } = await db.query<StoredRow>(BY_IDS, [page.map((t) => t.id.toString())]);
    const stored = new Map(rows.map((row) => [row.transfer_id, row]));
    const unknown: Transfer[] = [];
    for (const transfer of page) {
      const row = stored.get(transfer.id.toString());
      if (row === undefined) unknown.push(transfer);
      else compareFields(transfer, row, report);
    }
    await reportWithoutMetadata(db, unknown, report);
    const last = page[page.length - 1]!.timestamp;
    if (last < cursor) throw new Error(`query_transfers went back: ${last} after ${cursor}`);
    if (page.length < limit) return;
    cursor = last + 1n;
  }
}

/**
 * Transfers TigerBeetle holds and the journal store does not: a raw movement when the change feed
 * delivered it, else `transfer_without_metadata` when it moves one of this deployment's accounts.
 * One cluster may serve several deployments (and test runs); a transfer between two accounts of
 * others is counted `foreign`, not ours to judge.
 */
async function reportWithoutMetadata(
  db: Queryable,
  unknown: readonly Transfer[],
  report: ReportBuilder,
): Promise<void> {
  if (unknown.length === 0) return;
  const accountIds = unknown.flatMap((t) => [t.debit_account_id, t.credit_account_id]);
  const { rows } = await db.query<{ ledger_id: string }>(OURS, [
    [...new Set(accountIds)].map(String),
  ]);
  const ours = new Set(rows.map((row) => row.ledger_id));
  const { rows: fed } = await db.query<{ transfer_id: string }>(IN_FEED, [
    unknown.map((t) => t.id.toString()),
  ]);
  const inFeed = new Set(fed.map((row) => row.transfer_id));
  for (const transfer of unknown) {
    const touchesOurs =
      ours.has(transfer.debit_account_id.toString()) ||
      ours.has(transfer.credit_account_id.toString());
    if (!touchesOurs) {
      report.transfers.foreign += 1;
      continue;
    }
    if (inFeed.has(transfer.id.toString())) {
      report.transfers.raw += 1;
      continue;
    }
    report.add({
      kind: 'transfer_without_metadata',
      transferId: transfer.id.toString(),
      detail: `TigerBeetle timestamp ${transfer.timestamp}, amount ${transfer.amount}`,
    });
  }
}

function compareFields(transfer: Transfer, row: StoredRow, report: ReportBuilder): void {
  for (const [field, column] of FIELDS) {
    const ledgerValue = String(transfer[field]);
    const storeValue = row[column];
    if (storeValue !== undefined && BigInt(storeValue) === BigInt(ledgerValue)) continue;
    report.add({
      kind: 'transfer_field_mismatch',
      transferId: row.transfer_id,
      journalId: row.journal_id,
      field,
      ledgerValue,
      storeValue: storeValue ?? null,
    });
  }
}

const STEPS: Record<string, TransferPhase> = { create: 'create', post: 'post', void: 'void' };

async function storeToLedger(
  db: Queryable,
  ledger: Ledger,
  scope: TransfersScope,
  report: ReportBuilder,
): Promise<void> {
  const limit = Math.min(scope.pageSize, BATCH_EVENTS_MAX);
  let afterTimestamp = (scope.timestampMin - 1n).toString();
  let afterId = '0';
  for (;;) {
    const { rows } = await db.query<StoredRow & { duplicated: boolean }>(STORE_PAGE, [
      afterTimestamp,
      afterId,
      scope.timestampMax.toString(),
      limit,
    ]);
    if (rows.length === 0) return;
    report.transfers.storeScanned += rows.length;
    const found = await ledger.lookupTransfers(rows.map((row) => BigInt(row.transfer_id)));
    const byId = new Map(found.map((t) => [t.id.toString(), t]));
    for (const row of rows) checkStoredRow(row, byId.get(row.transfer_id), scope, report);
    const last = rows[rows.length - 1]!;
    afterTimestamp = last.tb_timestamp!;
    afterId = last.transfer_id;
    if (rows.length < limit) return;
  }
}

function checkStoredRow(
  row: StoredRow & { duplicated: boolean },
  transfer: Transfer | undefined,
  scope: TransfersScope,
  report: ReportBuilder,
): void {
  const ids = { transferId: row.transfer_id, journalId: row.journal_id };
  if (transfer === undefined) {
    report.add({ kind: 'transfer_missing_in_ledger', ...ids, detail: `step ${row.step}` });
  } else if (transfer.timestamp < scope.timestampMin || transfer.timestamp > scope.timestampMax) {
    compareFields(transfer, row, report);
  }
  if (row.duplicated) {
    report.add({
      kind: 'duplicate_transfer',
      ...ids,
      detail: `a second transfer at ${row.step} chain index ${row.chain_index}`,
    });
  }
  const step = STEPS[row.step];
  const derived = step === undefined ? null : transferId(row.journal_id, step, row.chain_index);
  if (derived === null || derived.toString() !== row.transfer_id) {
    report.add({
      kind: 'misattributed_transfer',
      ...ids,
      detail:
        `${row.step} chain index ${row.chain_index} of this journal derives transfer id ` +
        `${derived ?? '(none)'}`,
    });
  }
}

async function stubs(db: Queryable, scope: TransfersScope, report: ReportBuilder): Promise<void> {
  const limit = Math.min(scope.pageSize, BATCH_EVENTS_MAX);
  let afterTimestamp = (scope.timestampMin - 1n).toString();
  let afterId = '';
  for (;;) {
    const { rows } = await db.query<{ journal_id: string; tb_timestamp: string; status: string }>(
      STUB_PAGE,
      [afterTimestamp, afterId, scope.timestampMax.toString(), limit],
    );
    for (const row of rows) {
      report.add({
        kind: 'journal_without_metadata',
        journalId: row.journal_id,
        detail: `status ${row.status}: its journal (the held event) was never applied`,
      });
    }
    if (rows.length < limit) return;
    const last = rows[rows.length - 1]!;
    afterTimestamp = last.tb_timestamp;
    afterId = last.journal_id;
  }
}
