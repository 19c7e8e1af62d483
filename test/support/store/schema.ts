/**
 * Test helper: a PostgreSQL schema of its own for one test file, so files can run at once without
 * seeing each other's tables. The direct pool selects it with the `options` startup parameter
 * (`-c search_path=…`); PgBouncer cannot carry that parameter, so tests that need the schema use
 * direct connections. `drop()` removes the schema and everything in it.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { loadConfig } from '../../../core/config';
import { createDirectPool, createPrimaryPool } from '../../../core/postgres/pool';

export const config = loadConfig();

export interface TestSchema {
  name: string;
  /** Direct connections whose search_path is this schema only. */
  pool: pg.Pool;
  /** Another pool on the same schema (a second process, for races). */
  newPool(max?: number): pg.Pool;
  /** Empties the schema (drops and recreates it under the same name). */
  reset(): Promise<void>;
  drop(): Promise<void>;
}

function directPool(searchPath?: string[], max = 4): pg.Pool {
  return createDirectPool({
    url: config.DATABASE_DIRECT_URL,
    max,
    applicationName: 'ledger-bridge-test',
    searchPath,
  });
}

/** A pool through PgBouncer, as the bridge uses it (no schema of its own). */
export function primaryPool(max = 4): pg.Pool {
  return createPrimaryPool({
    url: config.DATABASE_URL,
    max,
    applicationName: 'ledger-bridge-test',
  });
}

export async function createTestSchema(prefix: string): Promise<TestSchema> {
  const name = `t_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = directPool(undefined, 1);
  const pools: pg.Pool[] = [];
  await admin.query(`CREATE SCHEMA ${name}`);
  const newPool = (max = 4) => {
    const pool = directPool([name], max);
    pools.push(pool);
    return pool;
  };
  const pool = newPool();
  return {
    name,
    pool,
    newPool,
    async reset() {
      await admin.query(`DROP SCHEMA ${name} CASCADE`);
      await admin.query(`CREATE SCHEMA ${name}`);
    },
    async drop() {
      await Promise.all(pools.filter((each) => !each.ended).map((each) => each.end()));
      await admin.query(`DROP SCHEMA ${name} CASCADE`);
      await admin.end();
    },
  };
}
