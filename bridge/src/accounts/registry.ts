/**
 * The asset and account-type registry, loaded from PostgreSQL once and kept in process: it never
 * changes on the hot path (new assets arrive by migration or by an operator, followed by an
 * explicit `reload()`). Lookups are synchronous map reads.
 */
import type { Queryable } from '../../../core/postgres/pool';
import { U16_MAX, U32_MAX } from '../../../ledger/port';
import { AccountError } from './errors';
import type { AccountType, Asset, NormalSide } from './model';

interface Snapshot {
  assets: Map<string, Asset>;
  assetsByLedger: Map<number, Asset>;
  accountTypes: Map<string, AccountType>;
}

interface AssetRow {
  code: string;
  ledger: number;
  scale: number;
  name: string;
}

interface AccountTypeRow {
  code: string;
  normal_side: string;
  tb_code: number;
  default_flags: number;
  description: string;
}

/** The table constraints promise these; a row that breaks them is a broken invariant. */
function assertAsset(row: AssetRow): Asset {
  if (!Number.isInteger(row.ledger) || row.ledger < 1 || row.ledger > U32_MAX) {
    throw new Error(`asset ${row.code}: ledger ${row.ledger} outside 1..${U32_MAX}`);
  }
  if (!Number.isInteger(row.scale) || row.scale < 0 || row.scale > 18) {
    throw new Error(`asset ${row.code}: scale ${row.scale} outside 0..18`);
  }
  return { code: row.code, ledger: row.ledger, scale: row.scale, name: row.name };
}

function assertAccountType(row: AccountTypeRow): AccountType {
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
  const assets = new Map(assetRows.rows.map((row) => [row.code, assertAsset(row)]));
  const assetsByLedger = new Map([...assets.values()].map((asset) => [asset.ledger, asset]));
  const accountTypes = new Map(typeRows.rows.map((row) => [row.code, assertAccountType(row)]));
  return { assets, assetsByLedger, accountTypes };
}

export class AssetRegistry {
  private reloading: Promise<void> | null = null;

  private constructor(
    private readonly db: Queryable,
    private snapshot: Snapshot,
  ) {}

  static async load(db: Queryable): Promise<AssetRegistry> {
    return new AssetRegistry(db, await readSnapshot(db));
  }

  /** Reads both tables again and swaps them in at once; concurrent calls share one read. */
  reload(): Promise<void> {
    this.reloading ??= readSnapshot(this.db)
      .then((snapshot) => {
        this.snapshot = snapshot;
      })
      .finally(() => {
        this.reloading = null;
      });
    return this.reloading;
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

  /** The asset with this code, or a 422 `unknown_asset` naming the field. */
  asset(code: string, field = 'asset'): Asset {
    const asset = this.findAsset(code);
    if (asset === undefined) {
      throw new AccountError('unknown_asset', `unknown asset '${code}'`, field);
    }
    return asset;
  }

  /** The account type with this code, or a 422 `unknown_account_type` naming the field. */
  accountType(code: string, field = 'accountType'): AccountType {
    const type = this.findAccountType(code);
    if (type === undefined) {
      throw new AccountError('unknown_account_type', `unknown account type '${code}'`, field);
    }
    return type;
  }

  assets(): Asset[] {
    return [...this.snapshot.assets.values()];
  }

  accountTypes(): AccountType[] {
    return [...this.snapshot.accountTypes.values()];
  }
}
