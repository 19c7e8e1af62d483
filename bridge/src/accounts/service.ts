/**
 * The control plane's account service: creates accounts (metadata in PostgreSQL, the account
 * itself in TigerBeetle), reads their metadata, and resolves account ids for the journal path.
 *
 * Creating an account, idempotent on its account id:
 *   1. validate the input (400) and look up its asset and type in the registry (422);
 *   2. INSERT the metadata row ON CONFLICT DO NOTHING; if the id was taken, compare the stored row
 *      with the request: the same content is a retry, anything else a 409 naming the field;
 *   3. create the TigerBeetle account (id derived from the account id, so a retry asks for the
 *      same account): `created` and `exists` both succeed.
 * PostgreSQL goes first because TigerBeetle accounts cannot be deleted: a crash or a ledger outage
 * (503) between the steps leaves a metadata row without its TigerBeetle account, never the reverse.
 * That row is harmless (a journal naming it is rejected by the ledger: account not found) and the
 * client's retry, which is required after any 5xx, completes it through step 3.
 */
import type { Logger } from '../../../core/logger';
import {
  AccountFlags,
  CreateAccountStatus,
  type Account,
  type Ledger,
  LedgerError,
} from '../../../ledger/port';
import { isStoreUnavailable } from '../../../core/postgres/errors';
import type { Queryable } from '../../../core/postgres/pool';
import { type BoundedCache, lruCache } from './cache';
import { AccountError, assertSameAccount, createAccountOutcome, statusName } from './errors';
import { accountLedgerId } from '../../../ledger/ids';
import { newAccount } from '../../../ledger/records';
import {
  type AccountRecord,
  type AccountRef,
  type AccountType,
  type Asset,
  describeFlags,
  resolveFlags,
} from './model';
import type { AssetRegistry } from './registry';
import { RegistryAdmin } from './registry-admin';
import {
  ACCOUNT_ID,
  type CreateAccountInput,
  parseAccountId,
  parseCreateAccount,
} from './validation';

/** Account references kept in process: ~200 bytes each, so about 20 MiB at the bound. */
export const ACCOUNT_REF_CACHE_ENTRIES_MAX = 100_000;

export interface AccountServiceOptions {
  /** The primary through PgBouncer (or, in tests, a direct pool on the test's schema). */
  db: Queryable;
  ledger: Ledger;
  registry: AssetRegistry;
  cache?: BoundedCache<string, AccountRef>;
  logger?: Logger;
}

export interface CreateAccountResult {
  account: AccountRecord;
  /** True when this call wrote the metadata row or created the TigerBeetle account. */
  created: boolean;
}

type RefRow = Pick<AccountRow, 'account_id' | 'ledger_id' | 'asset' | 'holder_id'>;
const REF_COLUMNS = 'account_id, ledger_id, asset, holder_id';

interface AccountRow {
  account_id: string;
  /** numeric(39,0), parsed as a decimal string by the pool. */
  ledger_id: string;
  name: string;
  holder_id: string;
  account_type: string;
  asset: string;
  flags: number;
  created_at: Date;
  metadata: Record<string, unknown>;
  /** Read: the account's TigerBeetle flags as of the change feed's latest event (null: none). */
  balance_flags?: number | null;
}

type NewAccountRow = Omit<AccountRow, 'created_at'>;

const COLUMNS =
  'account_id, ledger_id, name, holder_id, account_type, asset, flags, created_at, metadata';

/**
 * A read of one account ($1): its row, and the flags the ledger's change feed last gave it (the
 * balance read model): a closing transfer sets `closed` there, its void or expiry clears it. The
 * `account` row keeps the flags the account was created with.
 */
const READ_SELECT = `SELECT ${COLUMNS.split(', ')
  .map((column) => `a.${column}`)
  .join(', ')}, b.flags AS balance_flags`;
const READ_FROM =
  'FROM account a LEFT JOIN rm_account_balance b ON b.ledger_account_id = a.ledger_id ' +
  'WHERE a.account_id = $1';

const INSERT =
  'INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags, ' +
  `metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) ON CONFLICT (account_id) DO NOTHING ` +
  `RETURNING ${COLUMNS}`;

/** The stored row's content compared with a request's, in the order a conflict reports them. */
const COMPARED: [keyof NewAccountRow, string][] = [
  ['account_type', 'accountType'],
  ['asset', 'asset'],
  ['holder_id', 'holderId'],
  ['name', 'name'],
  ['flags', 'flags'],
];

export class AccountService {
  private readonly db: Queryable;
  private readonly ledger: Ledger;
  private readonly registry: AssetRegistry;
  private readonly cache: BoundedCache<string, AccountRef>;
  private readonly logger: Logger | undefined;
  /** Lists and creates the assets and account types this service's accounts use. */
  readonly registryAdmin: RegistryAdmin;

  constructor(options: AccountServiceOptions) {
    this.db = options.db;
    this.ledger = options.ledger;
    this.registry = options.registry;
    this.cache = options.cache ?? lruCache<string, AccountRef>(ACCOUNT_REF_CACHE_ENTRIES_MAX);
    this.logger = options.logger;
    this.registryAdmin = new RegistryAdmin(options);
  }

  async createAccount(input: unknown): Promise<CreateAccountResult> {
    const request = parseCreateAccount(input);
    // A code unknown here may be another instance's new one: looked up with a bounded re-read.
    const type = await this.registry.lookupAccountType(request.accountType);
    const asset = await this.registry.lookupAsset(request.asset);
    const wanted = newRow(request, type);
    const { row, inserted } = await this.storeRow(wanted);
    const ledgerCreated = await this.createLedgerAccount(row, asset, type);
    const account = toRecord(row, asset, type);
    this.cache.set(account.accountId, toRef(account));
    if (inserted || ledgerCreated) {
      this.logger?.info(
        { accountId: account.accountId, inserted, ledgerCreated },
        'account created',
      );
    }
    return { account, created: inserted || ledgerCreated };
  }

  /** The account's metadata, or null when no account has this id. */
  async getAccount(accountId: string): Promise<AccountRecord | null> {
    const id = parseAccountId(accountId);
    const { rows } = await this.query<AccountRow>(`${READ_SELECT} ${READ_FROM}`, [id]);
    const row = rows[0];
    if (row === undefined) return null;
    const { asset, type } = await this.registryFacts(row);
    return toRecord(row, asset, type);
  }

  /** The account's metadata, or a 404 `account_not_found`. */
  async requireAccount(accountId: string): Promise<AccountRecord> {
    const account = await this.getAccount(accountId);
    if (account === null) {
      throw new AccountError('account_not_found', `no account '${accountId}'`, 'accountId');
    }
    return account;
  }

  /**
   * References for every known id among `accountIds` (unknown or malformed ids are absent from
   * the map: the caller names the offending line). Cached in process; one query for the misses.
   */
  async resolveAccounts(accountIds: string[]): Promise<Map<string, AccountRef>> {
    const refs = new Map<string, AccountRef>();
    const misses: string[] = [];
    for (const accountId of new Set(accountIds)) {
      const ref = this.cache.get(accountId);
      if (ref !== undefined) refs.set(accountId, ref);
      else if (ACCOUNT_ID.test(accountId)) misses.push(accountId);
    }
    if (misses.length === 0) return refs;
    const { rows } = await this.query<RefRow>(
      `SELECT ${REF_COLUMNS} FROM account WHERE account_id = ANY($1::text[])`,
      [misses],
    );
    for (const row of rows) {
      const ref = await this.refOf(row);
      refs.set(ref.accountId, ref);
    }
    return refs;
  }

  /** Known accounts among TigerBeetle account ids (raw transfers, a hold's transfers). */
  async resolveLedgerAccounts(ledgerIds: bigint[]): Promise<Map<bigint, AccountRef>> {
    const refs = new Map<bigint, AccountRef>();
    if (ledgerIds.length === 0) return refs;
    const { rows } = await this.query<RefRow>(
      `SELECT ${REF_COLUMNS} FROM account WHERE ledger_id = ANY($1::numeric[])`,
      [ledgerIds.map(String)],
    );
    for (const row of rows) {
      const ref = await this.refOf(row);
      refs.set(ref.ledgerId, ref);
    }
    return refs;
  }

  private async refOf(row: RefRow): Promise<AccountRef> {
    const asset = await this.assetOf(row.asset);
    const ref: AccountRef = {
      accountId: row.account_id,
      ledgerId: parseLedgerId(row.ledger_id),
      ledger: asset.ledger,
      asset: asset.code,
      scale: asset.scale,
      holderId: row.holder_id,
    };
    this.cache.set(ref.accountId, ref);
    return ref;
  }

  /** Inserts the row, or proves that the stored one has the same content (a retry). */
  private async storeRow(wanted: NewAccountRow): Promise<{ row: AccountRow; inserted: boolean }> {
    const metadata = JSON.stringify(wanted.metadata);
    const params = [
      wanted.account_id,
      wanted.ledger_id,
      wanted.name,
      wanted.holder_id,
      wanted.account_type,
      wanted.asset,
      wanted.flags,
      metadata,
    ];
    const insert = await this.query<AccountRow>(INSERT, params).catch((error: unknown) => {
      throw this.registry.foreignKeyError(error, wanted.asset, wanted.account_type) ?? error;
    });
    const created = insert.rows[0];
    if (created !== undefined) return { row: created, inserted: true };
    const { rows } = await this.query<AccountRow & { metadata_equal: boolean }>(
      `${READ_SELECT}, a.metadata = $2::jsonb AS metadata_equal ${READ_FROM}`,
      [wanted.account_id, metadata],
    );
    const stored = rows[0];
    if (stored === undefined) {
      throw new Error(`account ${wanted.account_id}: insert conflicted but no row is there`);
    }
    if (stored.ledger_id !== wanted.ledger_id) {
      throw new Error(
        `account ${wanted.account_id}: stored ledger id ${stored.ledger_id} is not the derived ` +
          `${wanted.ledger_id} (did the id scheme change?)`,
      );
    }
    assertSameAccount(wanted.account_id, stored, wanted, COMPARED);
    return { row: stored, inserted: false };
  }

  /** Creates the TigerBeetle account; true when it was new, false when it already existed. */
  private async createLedgerAccount(
    row: AccountRow,
    asset: Asset,
    type: AccountType,
  ): Promise<boolean> {
    const account = ledgerAccount(row, asset, type);
    let results;
    try {
      results = await this.ledger.createAccounts([account]);
    } catch (error) {
      if (
        error instanceof LedgerError &&
        (error.code === 'unavailable' || error.code === 'closed')
      ) {
        throw new AccountError('ledger_unavailable', `ledger unavailable: ${error.message}`);
      }
      throw error;
    }
    if (results.length !== 1) {
      throw new Error(`create_accounts answered ${results.length} results for 1 account`);
    }
    const status = results[0]!.status;
    const outcome = createAccountOutcome(status);
    if (outcome.kind === 'ok') return status === CreateAccountStatus.created;
    const name = statusName(status);
    if (outcome.kind === 'conflict') {
      throw new AccountError(
        'account_conflict',
        `the ledger holds account ${row.account_id} with a different ${outcome.field} (${name})`,
        outcome.field,
        name,
      );
    }
    this.logger?.error({ accountId: row.account_id, status: name, account }, 'ledger rejected');
    throw new AccountError(
      'ledger_rejected',
      `the ledger rejected the account: ${name}`,
      undefined,
      name,
    );
  }

  /** A stored row's asset and type; the registry is reloaded once if it predates them. */
  private async registryFacts(row: AccountRow): Promise<{ asset: Asset; type: AccountType }> {
    if (
      this.registry.findAsset(row.asset) === undefined ||
      this.registry.findAccountType(row.account_type) === undefined
    ) {
      await this.registry.reload();
    }
    return {
      asset: this.registry.asset(row.asset),
      type: this.registry.accountType(row.account_type),
    };
  }

  private async assetOf(code: string): Promise<Asset> {
    if (this.registry.findAsset(code) === undefined) await this.registry.reload();
    return this.registry.asset(code);
  }

  /** A database that cannot serve us is a 503; every other database error is a bug. */
  private async query<R extends object>(text: string, values: unknown[]) {
    try {
      return await this.db.query<R & Record<string, unknown>>(text, values);
    } catch (error) {
      if (isStoreUnavailable(error)) {
        throw new AccountError(
          'store_unavailable',
          `PostgreSQL unavailable: ${String((error as { message?: unknown }).message)}`,
        );
      }
      throw error;
    }
  }
}

function newRow(request: CreateAccountInput, type: AccountType): NewAccountRow {
  return {
    account_id: request.accountId,
    ledger_id: accountLedgerId(request.accountId).toString(),
    name: request.name,
    holder_id: request.holderId,
    account_type: request.accountType,
    asset: request.asset,
    flags: resolveFlags(type, request.flags),
    metadata: request.metadata ?? {},
  };
}

function parseLedgerId(text: string): bigint {
  if (!/^[1-9]\d{0,38}$/.test(text)) throw new Error(`ledger_id '${text}' is not a u128`);
  return BigInt(text);
}

function ledgerAccount(row: AccountRow, asset: Asset, type: AccountType): Account {
  return newAccount({
    id: parseLedgerId(row.ledger_id),
    ledger: asset.ledger,
    code: type.tbCode,
    flags: row.flags,
  });
}

function toRecord(row: AccountRow, asset: Asset, type: AccountType): AccountRecord {
  return {
    accountId: row.account_id,
    ledgerId: parseLedgerId(row.ledger_id),
    name: row.name,
    holderId: row.holder_id,
    accountType: type.code,
    normalSide: type.normalSide,
    asset: asset.code,
    ledger: asset.ledger,
    scale: asset.scale,
    tbFlags: row.flags,
    flags: describeFlags(row.flags, type.normalSide),
    createdAt: row.created_at,
    metadata: row.metadata,
    // A row just inserted has no balance row yet: nothing can have closed its account.
    closed: ((row.balance_flags ?? 0) & AccountFlags.closed) !== 0,
  };
}

function toRef(account: AccountRecord): AccountRef {
  return {
    accountId: account.accountId,
    ledgerId: account.ledgerId,
    ledger: account.ledger,
    asset: account.asset,
    scale: account.scale,
    holderId: account.holderId,
  };
}
