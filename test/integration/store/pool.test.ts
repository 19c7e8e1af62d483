/**
 * Proves the pools behave as the store relies on: `withTransaction` commits on success and rolls
 * back on a throw (over a direct connection in this file's own schema); the PgBouncer pool runs
 * many concurrent unnamed parameterised statements and transactions without tripping over
 * PgBouncer's transaction pooling; and a search_path cannot be carried through PgBouncer, which
 * is why per-test schemas use direct connections.
 */
import pg from 'pg';
import { isStoreUnavailable } from '../../../core/postgres/errors';
import { withTransaction } from '../../../core/postgres/pool';
import { config, createTestSchema, primaryPool, type TestSchema } from '../../support/store/schema';

let schema: TestSchema;

beforeAll(async () => {
  schema = await createTestSchema('pool');
  await schema.pool.query('CREATE TABLE item (id int PRIMARY KEY)');
});
afterAll(() => schema.drop());

describe('withTransaction', () => {
  it('commits what the function wrote', async () => {
    const result = await withTransaction(schema.pool, async (tx) => {
      await tx.query('INSERT INTO item VALUES ($1), ($2)', [1, 2]);
      return 'done';
    });
    expect(result).toBe('done');
    const { rows } = await schema.pool.query('SELECT count(*) AS n FROM item');
    expect(rows[0]).toEqual({ n: 2n });
  });

  it('rolls everything back when the function throws, and rethrows', async () => {
    await expect(
      withTransaction(schema.pool, async (tx) => {
        await tx.query('INSERT INTO item VALUES ($1)', [3]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const { rows } = await schema.pool.query('SELECT 1 FROM item WHERE id = 3');
    expect(rows).toEqual([]);
  });

  it('returns a client whose transaction failed to the pool in a usable state', async () => {
    const pool = schema.newPool(1);
    await expect(
      withTransaction(pool, (tx) => tx.query('INSERT INTO item VALUES (1)')),
    ).rejects.toMatchObject({ code: '23505' });
    const { rows } = await pool.query('SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
  });

  it('survives its connection ending between two queries (a server restart), and the pool goes on', async () => {
    const pool = schema.newPool(1);
    await expect(
      withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // As a PostgreSQL restart does: the server ends the session while the holder is busy
        // elsewhere. Unhandled, the client's 'error' event would end this process.
        await schema.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await tx.query('SELECT 1');
      }),
    ).rejects.toThrow();
    const { rows } = await pool.query('SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
    await pool.end();
  });
});

describe('through PgBouncer (transaction pooling)', () => {
  const pool = primaryPool(8);
  afterAll(() => pool.end());

  it('runs many concurrent unnamed statements and transactions', async () => {
    const work = Array.from({ length: 200 }, (_, i) =>
      i % 4 === 0
        ? withTransaction(pool, async (tx) => {
            const { rows } = await tx.query<{ n: bigint }>('SELECT $1::int8 * 2 AS n', [i]);
            return rows[0]!.n;
          })
        : pool.query<{ n: bigint }>('SELECT $1::int8 * 2 AS n', [i]).then((r) => r.rows[0]!.n),
    );
    const results = await Promise.all(work);
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i * 2)));
  });

  it('cannot carry a search_path: the options parameter is refused or ignored', async () => {
    const client = new pg.Client({
      connectionString: config.DATABASE_URL,
      options: `-c search_path=${schema.name}`,
      connectionTimeoutMillis: 5_000,
    });
    let searchPath: string | undefined;
    try {
      await client.connect();
      const { rows } = await client.query<{ search_path: string }>('SHOW search_path');
      searchPath = rows[0]!.search_path;
    } catch (error) {
      // PgBouncer 1.18: "unsupported startup parameter: options".
      expect(String(error)).toMatch(/options|startup parameter/i);
    } finally {
      await client.end().catch(() => undefined);
    }
    if (searchPath !== undefined) expect(searchPath).not.toBe(schema.name);
  });
});

describe('isStoreUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), true],
    ['an admin shutdown', Object.assign(new Error('terminating'), { code: '57P01' }), true],
    ['a connection exception', Object.assign(new Error('lost'), { code: '08006' }), true],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect'), true],
    ['a unique violation', Object.assign(new Error('duplicate'), { code: '23505' }), false],
    ['a syntax error', Object.assign(new Error('syntax'), { code: '42601' }), false],
    ['not an error', 'ECONNREFUSED', false],
  ])('%s → %s', (_label, error, unavailable) => {
    expect(isStoreUnavailable(error)).toBe(unavailable);
  });
});
