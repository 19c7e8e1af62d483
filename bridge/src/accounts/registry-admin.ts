/**
 * The registry's admin side: lists assets and account types, and creates them, idempotent by
 * content. Creating one:
 *   1. validate the request (400 naming the field);
 *   2. INSERT ON CONFLICT DO NOTHING: a new row is a 201, and this instance re-reads the
 *      registry at once (other instances find it on their next miss: ./registry.ts);
 *   3. else the code or the TigerBeetle value (ledger, tbCode) is taken: the stored row with the
 *      same code and the same content is a retry (200), with other content a 409 `*_conflict`
 *      naming the first field that differs; the value held by another code is a 409 `*_in_use`.
 * A ledger or tbCode names TigerBeetle accounts for good, so no route changes or removes one.
 */
import type { Logger } from '../../../core/logger';
import type { Queryable } from '../../../core/postgres/pool';
import { AccountError } from './errors';
import { type AccountType, type Asset, decodeDefaultFlags } from './model';
import {
  type AccountTypeRow,
  type AssetRegistry,
  type AssetRow,
  toAccountType,
  toAsset,
} from './registry';
import { parseCreateAccountType, parseCreateAsset } from './registry-validation';

export interface Created<T> {
  record: T;
  /** False when the same record already existed. */
  created: boolean;
}

const ASSET_COLUMNS = 'code, ledger, scale, name';
const TYPE_COLUMNS = 'code, normal_side, tb_code, default_flags, description';

/** The fields a conflict compares, in the order it reports them. */
const ASSET_COMPARED = ['ledger', 'scale', 'name'] as const;
const TYPE_COMPARED = ['normalSide', 'tbCode', 'defaultFlags', 'description'] as const;

export interface RegistryAdminOptions {
  db: Queryable;
  registry: AssetRegistry;
  logger?: Logger;
}

export class RegistryAdmin {
  private readonly db: Queryable;
  private readonly registry: AssetRegistry;
  private readonly logger: Logger | undefined;

  constructor(options: RegistryAdminOptions) {
    this.db = options.db;
    this.registry = options.registry;
    this.logger = options.logger;
  }

  /** Sorted by code; at most `missReloadMs` behind PostgreSQL. */
  async listAssets(): Promise<Asset[]> {
    await this.registry.refresh();
    return this.registry.assets();
  }

  /** Sorted by code; at most `missReloadMs` behind PostgreSQL. */
  async listAccountTypes(): Promise<AccountType[]> {
    await this.registry.refresh();
    return this.registry.accountTypes();
  }

  async createAsset(input: unknown): Promise<Created<Asset>> {
    const wanted = parseCreateAsset(input);
    const inserted = await this.db.query<AssetRow>(
      `INSERT INTO asset (${ASSET_COLUMNS}) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING ` +
        `RETURNING ${ASSET_COLUMNS}`,
      [wanted.code, wanted.ledger, wanted.scale, wanted.name],
    );
    const row = inserted.rows[0];
    if (row !== undefined) return this.created('asset', toAsset(row));
    const { rows } = await this.db.query<AssetRow>(
      `SELECT ${ASSET_COLUMNS} FROM asset WHERE code = $1 OR ledger = $2`,
      [wanted.code, wanted.ledger],
    );
    const stored = rows.map(toAsset);
    const same = stored.find((asset) => asset.code === wanted.code);
    if (same !== undefined) {
      assertSameContent('asset', assetJson(same), assetJson(wanted), ASSET_COMPARED);
      return this.existing(same, this.registry.findAsset(same.code));
    }
    const holder = stored.find((asset) => asset.ledger === wanted.ledger);
    if (holder === undefined) throw conflictVanished('asset', wanted.code);
    throw inUse('ledger_in_use', 'ledger', wanted.ledger, 'asset', holder.code);
  }

  async createAccountType(input: unknown): Promise<Created<AccountType>> {
    const wanted = parseCreateAccountType(input);
    const inserted = await this.db.query<AccountTypeRow>(
      `INSERT INTO account_type (${TYPE_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ` +
        `ON CONFLICT DO NOTHING RETURNING ${TYPE_COLUMNS}`,
      [wanted.code, wanted.normalSide, wanted.tbCode, wanted.defaultFlags, wanted.description],
    );
    const row = inserted.rows[0];
    if (row !== undefined) return this.created('account type', toAccountType(row));
    const { rows } = await this.db.query<AccountTypeRow>(
      `SELECT ${TYPE_COLUMNS} FROM account_type WHERE code = $1 OR tb_code = $2`,
      [wanted.code, wanted.tbCode],
    );
    const stored = rows.map(toAccountType);
    const same = stored.find((type) => type.code === wanted.code);
    if (same !== undefined) {
      assertSameContent(
        'account type',
        accountTypeJson(same),
        accountTypeJson(wanted),
        TYPE_COMPARED,
      );
      return this.existing(same, this.registry.findAccountType(same.code));
    }
    const holder = stored.find((type) => type.tbCode === wanted.tbCode);
    if (holder === undefined) throw conflictVanished('account type', wanted.code);
    throw inUse('tb_code_in_use', 'tbCode', wanted.tbCode, 'account type', holder.code);
  }

  /** This instance knows a new record before it answers 201, so the creator can use it at once. */
  private async created<T extends { code: string }>(kind: string, record: T): Promise<Created<T>> {
    await this.registry.reload();
    this.logger?.info({ kind, record }, `${kind} created`);
    return { record, created: true };
  }

  /** A retry: and if another instance created the record, this one learns it now. */
  private async existing<T>(record: T, known: T | undefined): Promise<Created<T>> {
    if (known === undefined) await this.registry.reload();
    return { record, created: false };
  }
}

/** An asset as the API answers it. */
export function assetJson(asset: Asset): Record<string, unknown> {
  return { code: asset.code, ledger: asset.ledger, scale: asset.scale, name: asset.name };
}

/** An account type as the API answers it: its default flags by name, and as TigerBeetle's bits. */
export function accountTypeJson(type: AccountType): Record<string, unknown> {
  return {
    code: type.code,
    normalSide: type.normalSide,
    tbCode: type.tbCode,
    defaultFlags: decodeDefaultFlags(type.defaultFlags),
    tbDefaultFlags: type.defaultFlags,
    description: type.description,
  };
}

/**
 * Codes are idempotent by content: the same code with other content is a 409 naming the first
 * field that differs, with the stored record as `existing`. Compared as the API shows them.
 */
function assertSameContent(
  kind: 'asset' | 'account type',
  stored: Record<string, unknown>,
  wanted: Record<string, unknown>,
  compared: readonly string[],
): void {
  const field = compared.find(
    (name) => JSON.stringify(stored[name]) !== JSON.stringify(wanted[name]),
  );
  if (field === undefined) return;
  const code = kind === 'asset' ? 'asset_conflict' : 'account_type_conflict';
  throw new AccountError(
    code,
    `${kind} ${String(stored.code)} already exists with ${field} ${JSON.stringify(stored[field])}`,
    field,
    undefined,
    { existing: stored },
  );
}

function inUse(
  code: 'ledger_in_use' | 'tb_code_in_use',
  field: string,
  value: number,
  kind: string,
  holder: string,
): AccountError {
  const message = `${field} ${value} already belongs to ${kind} ${holder}`;
  return new AccountError(code, message, field, undefined, { usedBy: holder });
}

/** Rows are never deleted, so an insert that conflicted must find the row it conflicted with. */
function conflictVanished(kind: string, code: string): Error {
  return new Error(`${kind} ${code}: insert conflicted, but neither its code nor value is held`);
}
