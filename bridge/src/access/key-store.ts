/**
 * API keys in PostgreSQL (table `api_key`, migration 0010): create, list, find, rotate, revoke.
 * Only the secret's SHA-256 is stored; the key's text exists once, in what `createKey` and
 * `rotateKey` return to the operator.
 */
import type pg from 'pg';
import { type Queryable, withTransaction } from '../../../core/postgres/pool';
import { generateKey } from './api-key';
import type { Scope } from './scopes';

export interface KeySpec {
  name: string;
  scopes: readonly Scope[];
  /** Only these assets (codes); omitted: every asset. */
  assets?: readonly string[];
  /** Only these holders; omitted: every holder. */
  holders?: readonly string[];
  expiresAt?: Date;
}

export interface KeyRecord {
  id: string;
  name: string;
  secretSha256: Buffer;
  scopes: Scope[];
  assets: string[] | null;
  holders: string[] | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  replacedBy: string | null;
}

export interface IssuedKey {
  record: KeyRecord;
  /** The key itself, shown to the operator once. */
  text: string;
}

interface KeyRow {
  id: string;
  name: string;
  secret_sha256: Buffer;
  scopes: string[];
  assets: string[] | null;
  holders: string[] | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  replaced_by: string | null;
}

const COLUMNS =
  'id, name, secret_sha256, scopes, assets, holders, created_at, expires_at, revoked_at, replaced_by';

function toRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    secretSha256: row.secret_sha256,
    scopes: row.scopes as Scope[],
    assets: row.assets,
    holders: row.holders,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    replacedBy: row.replaced_by,
  };
}

/** Whether the key may be used at `now`: not revoked, not past its expiry. */
export function keyUsable(record: KeyRecord, now: Date): boolean {
  return keyUsableAt(record, now.getTime());
}

/** The same at `nowMs` (ms since the epoch): the request path allocates no Date. */
export function keyUsableAt(record: KeyRecord, nowMs: number): boolean {
  return (
    record.revokedAt === null && (record.expiresAt === null || record.expiresAt.getTime() > nowMs)
  );
}

export async function createKey(db: Queryable, spec: KeySpec): Promise<IssuedKey> {
  const key = generateKey();
  const { rows } = await db.query<KeyRow>(
    `INSERT INTO api_key (id, name, secret_sha256, scopes, assets, holders, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [
      key.id,
      spec.name,
      key.secretSha256,
      [...spec.scopes],
      spec.assets === undefined ? null : [...spec.assets],
      spec.holders === undefined ? null : [...spec.holders],
      spec.expiresAt ?? null,
    ],
  );
  return { record: toRecord(rows[0]!), text: key.text };
}

export async function findKey(db: Queryable, id: string): Promise<KeyRecord | null> {
  const { rows } = await db.query<KeyRow>(`SELECT ${COLUMNS} FROM api_key WHERE id = $1`, [id]);
  return rows.length === 0 ? null : toRecord(rows[0]!);
}

export async function listKeys(db: Queryable): Promise<KeyRecord[]> {
  const { rows } = await db.query<KeyRow>(`SELECT ${COLUMNS} FROM api_key ORDER BY created_at, id`);
  return rows.map(toRecord);
}

/** Revokes at once; a key already revoked keeps its first revocation time. Null: no such key. */
export async function revokeKey(db: Queryable, id: string): Promise<KeyRecord | null> {
  const { rows } = await db.query<KeyRow>(
    `UPDATE api_key SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
     RETURNING ${COLUMNS}`,
    [id],
  );
  return rows.length === 0 ? null : toRecord(rows[0]!);
}

export class KeyRotationError extends Error {
  override readonly name = 'KeyRotationError';
}

/**
 * A new key with the old one's name, scopes and restrictions; the old key keeps working for
 * `graceSeconds` (0: it stops now), so clients can move over without an outage. One
 * transaction: the old row is locked, so two rotations of one key cannot both succeed.
 */
export async function rotateKey(
  pool: pg.Pool,
  id: string,
  graceSeconds: number,
): Promise<IssuedKey> {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
    throw new KeyRotationError(`grace must be a whole number of seconds ≥ 0, not ${graceSeconds}`);
  }
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<KeyRow>(
      `SELECT ${COLUMNS} FROM api_key WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (rows.length === 0) throw new KeyRotationError(`no key ${id}`);
    const old = toRecord(rows[0]!);
    const { rows: now } = await client.query<{ now: Date }>('SELECT now() AS now');
    if (!keyUsable(old, now[0]!.now) || old.replacedBy !== null) {
      throw new KeyRotationError(`key ${id} is revoked, expired or already rotated`);
    }
    const issued = await createKey(client, {
      name: old.name,
      scopes: old.scopes,
      assets: old.assets ?? undefined,
      holders: old.holders ?? undefined,
      expiresAt: old.expiresAt ?? undefined,
    });
    await client.query(
      `UPDATE api_key
          SET replaced_by = $2,
              expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => $3))
        WHERE id = $1`,
      [id, issued.record.id, graceSeconds],
    );
    return issued;
  });
}
