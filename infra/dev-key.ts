/**
 * `npm start`'s development API key: every scope, kept in `.run/dev-api-key.<database>` (0600) so a
 * restart prints the same key; a new one is made when the file is missing or its key no longer
 * works (revoked, expired, or the database was reset). Development only: production keys are
 * made with `ledger-bridge keys create`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../core/config';
import { migrateUp } from '../core/postgres/migrate';
import { createDirectPool } from '../core/postgres/pool';
import { parseKey, secretMatches } from '../bridge/src/access/api-key';
import { createKey, findKey, keyUsable } from '../bridge/src/access/key-store';
import { SCOPES } from '../bridge/src/access/scopes';

export async function developmentKey(env: NodeJS.ProcessEnv, runDir: string): Promise<string> {
  const config = loadConfig(env);
  // One file per database: a load run's bridge (database ledger_load) must not replace it.
  const database = new URL(config.DATABASE_DIRECT_URL).pathname.slice(1) || 'default';
  const file = path.join(runDir, `dev-api-key.${database}`);
  const pool = createDirectPool({
    url: config.DATABASE_DIRECT_URL,
    max: 1,
    applicationName: 'ledger-bridge-dev-key',
  });
  try {
    // The key's table must exist before the bridge's own start applies the migrations.
    await migrateUp(pool);
    const kept = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
    const presented = parseKey(kept);
    if (presented !== null) {
      const record = await findKey(pool, presented.id);
      if (
        record !== null &&
        keyUsable(record, new Date()) &&
        secretMatches(presented.secret, record.secretSha256)
      ) {
        return kept;
      }
    }
    const issued = await createKey(pool, { name: 'development (npm start)', scopes: SCOPES });
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(file, `${issued.text}\n`, { mode: 0o600 });
    return issued.text;
  } finally {
    await pool.end();
  }
}
