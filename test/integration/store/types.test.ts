/**
 * Proves that money-sized integers never come back from PostgreSQL as JavaScript floats: each pool
 * parses INT8 as bigint and NUMERIC as an exact decimal string (arrays too), through its own type
 * parsers, leaving pg's process-global parsers alone. The parsers are checked directly, then with
 * real values read over a direct connection and through PgBouncer.
 */
import pg from 'pg';
import { ledgerTypes } from '../../../core/postgres/pool';
import { createTestSchema, primaryPool, type TestSchema } from '../../support/store/schema';

const INT8 = 20;
const NUMERIC = 1700;
const INT8_ARRAY = 1016;
const NUMERIC_ARRAY = 1231;
const INT4 = 23;

describe('ledgerTypes (parsers alone)', () => {
  const types = ledgerTypes();
  const parse = (oid: number, text: string) =>
    (types.getTypeParser(oid, 'text') as (t: string) => unknown)(text);

  it('parses INT8 beyond 2^53 exactly, as bigint', () => {
    expect(parse(INT8, '9223372036854775807')).toBe(9223372036854775807n);
    expect(parse(INT8, '-9007199254740993')).toBe(-9007199254740993n);
  });

  it('keeps NUMERIC as its exact decimal string', () => {
    expect(parse(NUMERIC, '340282366920938463463374607431768211455')).toBe(
      '340282366920938463463374607431768211455',
    );
    expect(parse(NUMERIC, '0.10')).toBe('0.10');
  });

  it('parses arrays, nested and with NULLs, element by element', () => {
    expect(parse(INT8_ARRAY, '{1,NULL,9007199254740993}')).toEqual([1n, null, 9007199254740993n]);
    expect(parse(INT8_ARRAY, '{{1,2},{3,4}}')).toEqual([
      [1n, 2n],
      [3n, 4n],
    ]);
    expect(parse(NUMERIC_ARRAY, '{1.50,NULL}')).toEqual(['1.50', null]);
  });

  it('keeps the default for other types and leaves the global parsers untouched', () => {
    expect(parse(INT4, '42')).toBe(42);
    expect(pg.types.getTypeParser(INT8, 'text')).not.toBe(types.getTypeParser(INT8, 'text'));
  });
});

const SQL = `SELECT 9007199254740993::int8 AS big, count(*) AS n,
  '340282366920938463463374607431768211455'::numeric(39,0) AS u128,
  12.345::numeric AS fraction, ARRAY[1, 9007199254740993]::int8[] AS bigs
  FROM generate_series(1, 3)`;

describe.each([
  ['a direct connection', 'direct'],
  ['PgBouncer', 'pgbouncer'],
] as const)('INT8 and NUMERIC read over %s', (_label, kind) => {
  let schema: TestSchema;
  let pool: pg.Pool;
  beforeAll(async () => {
    schema = await createTestSchema('types');
    pool = kind === 'direct' ? schema.pool : primaryPool(2);
  });
  afterAll(async () => {
    if (kind === 'pgbouncer') await pool.end();
    await schema.drop();
  });

  it('come back as bigint and exact strings', async () => {
    const { rows } = await pool.query(SQL);
    expect(rows[0]).toEqual({
      big: 9007199254740993n,
      n: 3n,
      u128: '340282366920938463463374607431768211455',
      fraction: '12.345',
      bigs: [1n, 9007199254740993n],
    });
  });
});
