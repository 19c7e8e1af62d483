/**
 * API keys for tests: minted straight into a database's `api_key` table (as
 * `ledger-bridge keys create` does), and the headers that present one.
 */
import pg from 'pg';
import { createKey, type KeySpec } from '../../../bridge/src/access/key-store';
import { SCOPES } from '../../../bridge/src/access/scopes';
import type { TenantDirectory } from '../../../bridge/src/access/tenant';

/** A key with every scope unless `spec` says otherwise; its text. */
export async function mintKey(databaseUrl: string, spec: Partial<KeySpec> = {}): Promise<string> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const issued = await createKey(pool, { name: 'test', scopes: SCOPES, ...spec });
    return issued.text;
  } finally {
    await pool.end();
  }
}

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}

/**
 * A tenant directory for routes mounted without the access check (route tests): no caller is
 * bound, so no lookup may happen; one that did would be a bug.
 */
export const NO_TENANTS: TenantDirectory = {
  resolveAccounts: async () => {
    throw new Error('a tenant lookup without a caller');
  },
  resolveLedgerAccounts: async () => {
    throw new Error('a tenant lookup without a caller');
  },
};
