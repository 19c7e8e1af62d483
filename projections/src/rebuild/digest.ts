/**
 * `tableDigest(db, table)`: the MD5 of a table's rows, each in PostgreSQL's text form, ordered by
 * the primary key. Two tables with the same digest hold the same values, row for row: how a test
 * or an operator proves that a rebuild gave byte-identical tables to the incremental build.
 */
import type { Queryable } from '../../../core/postgres/pool';

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface TableDigest {
  table: string;
  rows: number;
  /** MD5 (hex) of the rows' text joined by newlines; the MD5 of '' for an empty table. */
  md5: string;
}

/** The primary key's columns, in key order, of a table of the current search_path. */
async function primaryKey(db: Queryable, table: string): Promise<string[]> {
  const { rows } = await db.query<{ column: string }>(
    `SELECT a.attname AS column
     FROM pg_index i
     JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = to_regclass($1) AND i.indisprimary
     ORDER BY k.n`,
    [table],
  );
  return rows.map((row) => row.column);
}

export async function tableDigest(db: Queryable, table: string): Promise<TableDigest> {
  if (!TABLE_NAME.test(table)) throw new Error(`not a table name: ${table}`);
  const key = await primaryKey(db, table);
  if (key.length === 0) throw new Error(`table ${table} is missing or has no primary key`);
  const order = key.map((column) => `t.${column}`).join(', ');
  const { rows } = await db.query<{ rows: bigint; md5: string }>(
    `SELECT count(*)::bigint AS rows,
            md5(COALESCE(string_agg(t::text, E'\\n' ORDER BY ${order}), '')) AS md5
     FROM ${table} t`,
  );
  const row = rows[0]!;
  return { table, rows: Number(row.rows), md5: row.md5 };
}
