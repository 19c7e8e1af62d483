/**
 * The asset and account-type registry, read from PostgreSQL and kept in process, so lookups on
 * the hot path are synchronous map reads. Assets and types are created by migrations and by the
 * admin routes of any instance (./registry-service.ts), so a code this instance does not know may
 * be new rather than wrong: a miss re-reads both tables, but only when the snapshot in use was
 * read `missReloadMs` (REGISTRY_MISS_RELOAD_MS) ago or more, before answering `unknown_*`.
 *
 * The bound: a code committed at time c is found by every lookup that starts at c + missReloadMs
 * or later, on every instance. Such a lookup either re-reads (a read that starts after c) or finds
 * a snapshot read less than missReloadMs before it, that is after c; a read in flight is awaited
 * first, as it may have started before c. The cost: misses (a client sending unknown codes) read
 * PostgreSQL at most once per missReloadMs per instance, two small tables each time.
 */
import type { Queryable } from '../../../core/postgres/pool';
import { U16_MAX, U32_MAX } from '../../../ledger/port';
import { type AccountError, unknownCode } from './errors';
import type { AccountType, Asset, NormalSide } from './model';

/**
 * How old the registry may be when a lookup misses before it is read again: the longest another
 * instance's new asset or type stays unknown here. A second is shorter than an operator takes to
 * go from creating an asset to using it, and keeps a flood of unknown codes to one read a second.
 */
export const REGISTRY_MISS_RELOAD_MS = 1_000;

export interface RegistryOptions {
  /** Defaults to REGISTRY_MISS_RELOAD_MS. */
  missReloadMs?: number;
  /** Monotonic milliseconds (performance.now by default), for tests to drive. */
  nowMs?: () => number;
}

interface Snapshot {
  assets: Map<string, Asset>;
  assetsByLedger: Map<number, Asset>;
  accountTypes: Map<string, AccountType>;
}

export interface AssetRow {
  code: string;
  ledger: number;
  scale: number;
  name: string;
}

export interface AccountTypeRow {
  code: string;
  normal_side: string;
  tb_code: number;
  default_flags: number;
  description: string;
}

/** A stored row; the table constraints promise these, so a row that breaks them is a bug. */
export function toAsset(row: AssetRow): Asset {
  if (!Number.isInteger(row.ledger) || row.ledger < 1 || row.ledger > U32_MAX) {
    throw new Error(`asset ${row.code}: ledger ${row.ledger} outside 1..${U32_MAX}`);
  }
  if (!Number.isInteger(row.scale) || row.scale < 0 || row.scale > 18) {
    throw new Error(`asset ${row.code}: scale ${row.scale} outside 0..18`);
  }
  return { code: row.code, ledger: row.ledger, scale: row.scale, name: row.name };
}

export function toAccountType(row: AccountTypeRow): AccountType {
  if (row.normal_side !== 'DEBIT' && row.normal_side !== 'CREDIT') {
    throw new Error(`account type ${row.code}: normal side ${row.normal_side}`);
  }
  if (!Number.isInteger(row.tb_code) || row.tb_code < 1 || row.tb_code > U16_MAX) {
    throw new Error(`account type ${row.code}: tb_code ${row.tb_code} outside 1..${U16_MAX}`);
  }
  return {
    code: row.code,
    normalSide: row.normal_side as NormalSide,
    tbCode: row.tb_code,
    defaultFlags: row.default_flags,
    description: row.description,
  };
}

async function readSnapshot(db: Queryable): Promise<Snapshot> {
  const [assetRows, typeRows] = await Promise.all([
    db.query<AssetRow>('SELECT code, ledger, scale, name FROM asset ORDER BY code'),
    db.query<AccountTypeRow>(
      'SELECT code, normal_side, tb_code, default_flags, description FROM account_type ' +
        'ORDER BY code',
    ),
  ]);
  // Sorted here, by code point: ORDER BY follows the database's collation.
  const assets = new Map(
    assetRows.rows.map((row) => [row.code, toAsset(row)] as const).sort(byCode),
  );
  const assetsByLedger = new Map([...assets.values()].map((asset) => [asset.ledger, asset]));
  const accountTypes = new Map(
    typeRows.rows.map((row) => [row.code, toAccountType(row)] as const).sort(byCode),
  );
  return { assets, assetsByLedger, accountTypes };
}

function byCode(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export class AssetRegistry {
  private reloading: Promise<void> | null = null;
  private readonly missReloadMs: number;
  private readonly nowMs: () => number;

  private constructor(
    private readonly db: Queryable,
    private snapshot: Snapshot,
    /** When the read of `snapshot` started. */
    private snapshotReadAtMs: number,
    options: RegistryOptions,
  ) {
    this.missReloadMs = options.missReloadMs ?? REGISTRY_MISS_RELOAD_MS;
    this.nowMs = options.nowMs ?? (() => performance.now());
    if (!Number.isFinite(this.missReloadMs) || this.missReloadMs < 0) {
      throw new RangeError(`missReloadMs must be a non-negative number, got ${this.missReloadMs}`);
    }
  }

  static async load(db: Queryable, options: RegistryOptions = {}): Promise<AssetRegistry> {
    const readAtMs = (options.nowMs ?? (() => performance.now()))();
    return new AssetRegistry(db, await readSnapshot(db), readAtMs, options);
  }

  /** Reads both tables again and swaps them in at once; concurrent calls share one read. */
  reload(): Promise<void> {
    if (this.reloading === null) {
      const startedMs = this.nowMs();
      this.reloading = readSnapshot(this.db)
        .then((snapshot) => {
          this.snapshot = snapshot;
          this.snapshotReadAtMs = startedMs;
        })
        .finally(() => {
          this.reloading = null;
        });
    }
    return this.reloading;
  }

  /**
   * Brings the registry within `missReloadMs` of PostgreSQL: waits for a read in flight, then
   * reads again if the snapshot is that old. For misses and for listings (which cannot miss).
   */
  async refresh(): Promise<void> {
    if (this.reloading !== null) await this.reloading;
    if (this.nowMs() - this.snapshotReadAtMs >= this.missReloadMs) await this.reload();
  }

  findAsset(code: string): Asset | undefined {
    return this.snapshot.assets.get(code);
  }

  findAssetByLedger(ledger: number): Asset | undefined {
    return this.snapshot.assetsByLedger.get(ledger);
  }

  findAccountType(code: string): AccountType | undefined {
    return this.snapshot.accountTypes.get(code);
  }

  /** The asset with this code in the snapshot, or a 422 `unknown_asset` naming the field. */
  asset(code: string, field = 'asset'): Asset {
    const asset = this.findAsset(code);
    if (asset === undefined) throw unknownCode('asset', code, field, this.assetCodes());
    return asset;
  }

  /** The account type with this code in the snapshot, or a 422 `unknown_account_type`. */
  accountType(code: string, field = 'accountType'): AccountType {
    const type = this.findAccountType(code);
    if (type === undefined) {
      throw unknownCode('account type', code, field, this.accountTypeCodes());
    }
    return type;
  }

  /** As `asset`, but a miss first refreshes the registry (the bound in the header). */
  async lookupAsset(code: string, field = 'asset'): Promise<Asset> {
    if (this.findAsset(code) === undefined) await this.refresh();
    return this.asset(code, field);
  }

  /** As `accountType`, but a miss first refreshes the registry (the bound in the header). */
  async lookupAccountType(code: string, field = 'accountType'): Promise<AccountType> {
    if (this.findAccountType(code) === undefined) await this.refresh();
    return this.accountType(code, field);
  }

  /**
   * The 422 for an account insert a registry foreign key refused (the registry in process is
   * newer than its table, e.g. a reverted seed); null for any other error.
   */
  foreignKeyError(error: unknown, asset: string, accountType: string): AccountError | null {
    const constraint = (error as { constraint?: unknown } | null)?.constraint;
    if (constraint === 'account_asset_fkey') {
      return unknownCode('asset', asset, 'asset', this.assetCodes());
    }
    if (constraint === 'account_account_type_fkey') {
      return unknownCode('account type', accountType, 'accountType', this.accountTypeCodes());
    }
    return null;
  }

  /** Sorted by code. */
  assets(): Asset[] {
    return [...this.snapshot.assets.values()];
  }

  /** Sorted by code. */
  accountTypes(): AccountType[] {
    return [...this.snapshot.accountTypes.values()];
  }

  assetCodes(): string[] {
    return [...this.snapshot.assets.keys()];
  }

  accountTypeCodes(): string[] {
    return [...this.snapshot.accountTypes.keys()];
  }
}
