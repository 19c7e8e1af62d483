/**
 * The baseline's accounts: creation, idempotent on the account id as in the bridge (201 created,
 * 200 when the same account exists, 409 naming the first differing field), and the balance read.
 * Input is validated by the bridge's own schema (parseCreateAccount), with its typed errors.
 */
import type pg from 'pg';
import { AccountError, assertSameAccount } from '../../bridge/src/accounts/errors';
import {
  type CreateAccountInput,
  parseAccountId,
  parseCreateAccount,
} from '../../bridge/src/accounts/validation';
import { type BalanceView, balanceView } from '../../bridge/src/balances/view';
import { ACCOUNT_TYPES, ASSETS } from './schema';

interface AccountRow {
  account_id: string;
  name: string;
  holder_id: string;
  account_type: string;
  normal_side: 'DEBIT' | 'CREDIT';
  asset: string;
  must_not_go_negative: boolean;
  history: boolean;
  metadata: Record<string, unknown>;
  debits_posted: bigint;
  credits_posted: bigint;
  created_at: Date;
}

type WantedRow = Omit<AccountRow, 'debits_posted' | 'credits_posted' | 'created_at'>;

const COLUMNS =
  'account_id, name, holder_id, account_type, normal_side, asset, must_not_go_negative, ' +
  'history, metadata, debits_posted, credits_posted, created_at';

const INSERT_ACCOUNT = {
  name: 'baseline_insert_account',
  text:
    'INSERT INTO account (account_id, name, holder_id, account_type, normal_side, asset, ' +
    'must_not_go_negative, history, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ' +
    `ON CONFLICT (account_id) DO NOTHING RETURNING ${COLUMNS}`,
};

const SELECT_ACCOUNT = {
  name: 'baseline_select_account',
  text:
    `SELECT ${COLUMNS}, metadata = $2::jsonb AS metadata_equal ` +
    'FROM account WHERE account_id = $1',
};

const SELECT_BALANCE = {
  name: 'baseline_select_balance',
  text: `SELECT ${COLUMNS} FROM account WHERE account_id = $1`,
};

/** The stored row's content compared with a request's, in the order the bridge reports them. */
const COMPARED: [keyof WantedRow, string][] = [
  ['account_type', 'accountType'],
  ['asset', 'asset'],
  ['holder_id', 'holderId'],
  ['name', 'name'],
  ['must_not_go_negative', 'flags'],
  ['history', 'flags'],
];

/** The bridge's account body, without its TigerBeetle fields (ledgerId, ledger). */
export function accountJson(row: AccountRow): Record<string, unknown> {
  return {
    accountId: row.account_id,
    name: row.name,
    holderId: row.holder_id,
    accountType: row.account_type,
    normalSide: row.normal_side,
    asset: row.asset,
    scale: scaleOf(row.asset),
    flags: { mustNotGoNegative: row.must_not_go_negative, history: row.history },
    createdAt: row.created_at.toISOString(),
    metadata: row.metadata,
  };
}

function scaleOf(asset: string): number {
  const known = ASSETS.get(asset);
  if (known === undefined) throw new Error(`stored account has unknown asset ${asset}`);
  return known.scale;
}

/** The row a request asks for; unknown asset or type are the bridge's 422s. */
function wantedRow(request: CreateAccountInput): WantedRow {
  const type = ACCOUNT_TYPES.get(request.accountType);
  if (type === undefined) {
    throw new AccountError(
      'unknown_account_type',
      `unknown account type ${request.accountType}`,
      'accountType',
    );
  }
  if (!ASSETS.has(request.asset)) {
    throw new AccountError('unknown_asset', `unknown asset ${request.asset}`, 'asset');
  }
  return {
    account_id: request.accountId,
    name: request.name,
    holder_id: request.holderId,
    account_type: request.accountType,
    normal_side: type.normalSide,
    asset: request.asset,
    must_not_go_negative: request.flags?.mustNotGoNegative ?? type.mustNotGoNegative,
    history: request.flags?.history ?? false,
    metadata: request.metadata ?? {},
  };
}

export async function createAccount(
  pool: pg.Pool,
  input: unknown,
): Promise<{ account: Record<string, unknown>; created: boolean }> {
  const wanted = wantedRow(parseCreateAccount(input));
  const metadata = JSON.stringify(wanted.metadata);
  const inserted = await pool.query<AccountRow>({
    ...INSERT_ACCOUNT,
    values: [
      wanted.account_id,
      wanted.name,
      wanted.holder_id,
      wanted.account_type,
      wanted.normal_side,
      wanted.asset,
      wanted.must_not_go_negative,
      wanted.history,
      metadata,
    ],
  });
  const created = inserted.rows[0];
  if (created !== undefined) return { account: accountJson(created), created: true };
  const { rows } = await pool.query<AccountRow & { metadata_equal: boolean }>({
    ...SELECT_ACCOUNT,
    values: [wanted.account_id, metadata],
  });
  const stored = rows[0];
  // Accounts are never deleted: a conflicting insert means the row is there.
  if (stored === undefined) throw new Error(`account ${wanted.account_id}: conflict, no row`);
  assertSameAccount(wanted.account_id, stored, wanted, COMPARED);
  return { account: accountJson(stored), created: false };
}

/** The bridge's balance view (no holds here: pending is zero), or a 404 account_not_found. */
export async function readBalance(pool: pg.Pool, accountId: string): Promise<BalanceView> {
  const id = parseAccountId(accountId);
  const { rows } = await pool.query<AccountRow>({ ...SELECT_BALANCE, values: [id] });
  const row = rows[0];
  if (row === undefined) {
    throw new AccountError('account_not_found', `no account '${id}'`, 'accountId');
  }
  const subject = {
    accountId: row.account_id,
    asset: row.asset,
    scale: scaleOf(row.asset),
    normalSide: row.normal_side,
  };
  return balanceView(subject, {
    debits_posted: row.debits_posted,
    credits_posted: row.credits_posted,
    debits_pending: 0n,
    credits_pending: 0n,
    // The bridge shows TigerBeetle's account timestamp (ns, at creation): here, created_at.
    timestamp: BigInt(row.created_at.getTime()) * 1_000_000n,
  });
}
