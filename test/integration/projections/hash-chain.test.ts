/**
 * Proves the hash-chain projection against real PostgreSQL, in schemas of this file's own: events
 * are appended in offset order with positions 1, 2, 3 … and hashes that follow the documented
 * byte encoding exactly (recomputed here by hand); duplicate event ids are skipped, within a
 * batch and across batches; a block checkpoint is written each time a block fills, whatever the
 * batch boundaries; applying the same events into two schemas, in different batch sizes, gives
 * identical rows and hashes; the tables refuse UPDATE, DELETE and TRUNCATE unless a rebuild says
 * so; and migration 0003 goes up, down and up again.
 */
import { createHash } from 'node:crypto';
import { serializeOutcomeEvent } from '../../../events/schema';
import { migrateDown, migrateUp } from '../../../core/postgres/migrate';
import { withTransaction } from '../../../core/postgres/pool';
import { blockHash, eventHash, GENESIS_HASH } from '../../../projections/src/hash-chain/chain';
import {
  allowLedgerRewrite,
  createHashChainProjection,
  hashChainProjection,
} from '../../../projections/src/hash-chain/projection';
import type { TestSchema } from '../../support/store/schema';
import {
  applyInBatches,
  hashChainMigrations,
  migratedSchema,
  projected,
  resetSchema,
  sequence,
  storedChain,
  TOPIC,
} from '../../support/projections/hash-chain-fixtures';

const CHAIN = `${TOPIC}/0`;
let schema: TestSchema;
let other: TestSchema;

beforeAll(async () => {
  [schema, other] = await Promise.all([migratedSchema('hc'), migratedSchema('hc2')]);
});
afterAll(async () => {
  await Promise.all([schema.drop(), other.drop()]);
});
beforeEach(() => resetSchema(schema));

function prefixed(bytes: Buffer): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, bytes];
}

function u64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
}

it('follows the documented encoding byte for byte', () => {
  const payload = Buffer.from('{"a":1}');
  const previous = Buffer.alloc(32, 7);
  const expected = createHash('sha256')
    .update(
      Buffer.concat([
        ...prefixed(Buffer.from('ledger-bridge/event/v1')),
        ...prefixed(Buffer.from('t/3')),
        u64(42n),
        previous,
        ...prefixed(Buffer.from('j1:posted')),
        u64(1_763_700_000_000_000_001n),
        ...prefixed(payload),
      ]),
    )
    .digest();
  const event = {
    chain: 't/3',
    position: 42n,
    previousHash: previous,
    eventId: 'j1:posted',
    occurredAtNs: 1_763_700_000_000_000_001n,
    payload,
  };
  expect(eventHash(event).equals(expected)).toBe(true);
  const hashes = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
  const block = createHash('sha256')
    .update(
      Buffer.concat([
        ...prefixed(Buffer.from('ledger-bridge/block/v1')),
        ...prefixed(Buffer.from('t/3')),
        u64(1n),
        u64(1n),
        u64(2n),
        ...hashes,
      ]),
    )
    .digest();
  const hashed = blockHash(
    { chain: 't/3', blockNumber: 1n, firstPosition: 1n, lastPosition: 2n },
    hashes,
  );
  expect(hashed.equals(block)).toBe(true);
});

it('appends in offset order, links each event to the previous and stores hashable bytes', async () => {
  const events = sequence(5);
  await applyInBatches(schema.pool, hashChainProjection, events, 2);
  const { rows } = await schema.pool.query<{
    position: bigint;
    event_id: string;
    occurred_at_ns: string;
    occurred_at: Date;
    kafka_offset: bigint;
    payload: Buffer;
    previous_hash: Buffer;
    event_hash: Buffer;
  }>('SELECT * FROM ledger_event WHERE chain = $1 ORDER BY position', [CHAIN]);
  expect(rows.map((row) => row.position)).toEqual([1n, 2n, 3n, 4n, 5n]);
  let previous = GENESIS_HASH;
  rows.forEach((row, index) => {
    const source = events[index]!.event;
    expect(row.event_id).toBe(source.eventId);
    expect(row.kafka_offset).toBe(BigInt(index));
    expect(row.payload.equals(serializeOutcomeEvent(source))).toBe(true);
    expect(row.occurred_at_ns).toBe(source.occurredAt);
    expect(row.occurred_at.getTime()).toBe(Number(BigInt(source.occurredAt) / 1_000_000n));
    expect(row.previous_hash.equals(previous)).toBe(true);
    const recomputed = eventHash({
      chain: CHAIN,
      position: row.position,
      previousHash: previous,
      eventId: row.event_id,
      occurredAtNs: BigInt(row.occurred_at_ns),
      payload: row.payload,
    });
    expect(row.event_hash.equals(recomputed)).toBe(true);
    previous = row.event_hash;
  });
  const head = await schema.pool.query('SELECT position, event_hash FROM ledger_chain_head');
  expect(head.rows).toEqual([{ position: 5n, event_hash: previous }]);
});

it('skips duplicate event ids, first occurrence wins, within and across batches', async () => {
  const first = projected({ journal: 1, offset: 0 });
  const second = projected({ journal: 2, offset: 1 });
  const retry = { ...projected({ journal: 1, offset: 2 }) }; // same id, later offset
  await applyInBatches(schema.pool, hashChainProjection, [first, second, retry], 3);
  await applyInBatches(schema.pool, hashChainProjection, [projected({ journal: 2, offset: 3 })], 1);
  await applyInBatches(schema.pool, hashChainProjection, [projected({ journal: 3, offset: 4 })], 1);
  const { rows } = await schema.pool.query(
    'SELECT position, event_id, kafka_offset FROM ledger_event ORDER BY position',
  );
  expect(rows).toEqual([
    { position: 1n, event_id: 'j1:posted', kafka_offset: 0n },
    { position: 2n, event_id: 'j2:posted', kafka_offset: 1n },
    { position: 3n, event_id: 'j3:posted', kafka_offset: 4n },
  ]);
  const ids = await schema.pool.query('SELECT count(*)::int AS n FROM ledger_event_id');
  expect(ids.rows[0]).toEqual({ n: 3 });
});

it('keeps one chain per partition', async () => {
  const events = [
    projected({ journal: 1, offset: 0, partition: 0 }),
    projected({ journal: 2, offset: 0, partition: 1 }),
    projected({ journal: 3, offset: 1, partition: 0 }),
  ];
  await applyInBatches(schema.pool, hashChainProjection, events, 3);
  const { rows } = await schema.pool.query(
    'SELECT chain, position, event_id FROM ledger_event ORDER BY chain, position',
  );
  expect(rows).toEqual([
    { chain: `${TOPIC}/0`, position: 1n, event_id: 'j1:posted' },
    { chain: `${TOPIC}/0`, position: 2n, event_id: 'j3:posted' },
    { chain: `${TOPIC}/1`, position: 1n, event_id: 'j2:posted' },
  ]);
});

it('writes a block checkpoint each time a block fills, across batch boundaries', async () => {
  const projection = createHashChainProjection({ blockSize: 4 });
  await applyInBatches(schema.pool, projection, sequence(11), 3);
  const { rows } = await schema.pool.query<{
    block_number: bigint;
    first_position: bigint;
    last_position: bigint;
    block_hash: Buffer;
  }>(
    'SELECT block_number, first_position, last_position, block_hash ' +
      'FROM ledger_block_checkpoint ORDER BY block_number',
  );
  expect(rows.map((row) => [row.block_number, row.first_position, row.last_position])).toEqual([
    [1n, 1n, 4n],
    [2n, 5n, 8n],
  ]);
  const stored = await storedChain(schema.pool, CHAIN);
  for (const row of rows) {
    const hashes = stored
      .slice(Number(row.first_position) - 1, Number(row.last_position))
      .map((event) => Buffer.from(event.event_hash, 'hex'));
    const block = {
      chain: CHAIN,
      blockNumber: row.block_number,
      firstPosition: row.first_position,
      lastPosition: row.last_position,
    };
    expect(row.block_hash.equals(blockHash(block, hashes))).toBe(true);
  }
  const head = await schema.pool.query('SELECT block_position FROM ledger_chain_head');
  expect(head.rows).toEqual([{ block_position: 8n }]);
});

it('gives identical hashes when rebuilt, whatever the batch sizes', async () => {
  const events = sequence(40);
  events.splice(10, 0, { ...events[3]!, offset: '1000' }); // a republished duplicate
  const renumbered = events.map((each, index) => ({ ...each, offset: String(index) }));
  const projection = createHashChainProjection({ blockSize: 7 });
  await applyInBatches(schema.pool, projection, renumbered, 1);
  await resetSchema(other);
  await applyInBatches(other.pool, projection, renumbered, 13);
  const columns =
    'chain, position, event_id, occurred_at_ns, occurred_at, kafka_offset, journal_id, kind, ' +
    "encode(payload, 'hex') AS payload, encode(previous_hash, 'hex') AS previous_hash, " +
    "encode(event_hash, 'hex') AS event_hash";
  const read = async (s: TestSchema) => ({
    events: (await s.pool.query(`SELECT ${columns} FROM ledger_event ORDER BY chain, position`))
      .rows,
    blocks: (
      await s.pool.query(
        "SELECT chain, block_number, first_position, last_position, encode(block_hash, 'hex') " +
          'FROM ledger_block_checkpoint ORDER BY chain, block_number',
      )
    ).rows,
    heads: (await s.pool.query('SELECT * FROM ledger_chain_head ORDER BY chain')).rows,
  });
  const [a, b] = await Promise.all([read(schema), read(other)]);
  expect(a.events).toHaveLength(40);
  expect(a.blocks).toHaveLength(5);
  expect(b).toEqual(a);
});

it('refuses UPDATE, DELETE and TRUNCATE, unless a rebuild allows its transaction', async () => {
  await applyInBatches(schema.pool, hashChainProjection, sequence(3), 3);
  const refused = expect.objectContaining({ message: expect.stringMatching(/append-only/) });
  await expect(schema.pool.query("UPDATE ledger_event SET kind = 'x'")).rejects.toEqual(refused);
  await expect(schema.pool.query('DELETE FROM ledger_event')).rejects.toEqual(refused);
  await expect(schema.pool.query('TRUNCATE ledger_event')).rejects.toEqual(refused);
  await expect(schema.pool.query('TRUNCATE ledger_event_y2025m11')).rejects.toEqual(refused);
  await expect(schema.pool.query('DELETE FROM ledger_event_id')).rejects.toEqual(refused);
  await expect(schema.pool.query('TRUNCATE ledger_block_checkpoint')).rejects.toEqual(refused);
  await withTransaction(schema.pool, async (tx) => {
    await allowLedgerRewrite(tx);
    await tx.query(`TRUNCATE ${hashChainProjection.tables.join(', ')}`);
  });
  const { rows } = await schema.pool.query('SELECT count(*)::int AS n FROM ledger_event');
  expect(rows[0]).toEqual({ n: 0 });
  // The permission was the transaction's only.
  await applyInBatches(schema.pool, hashChainProjection, sequence(1), 1);
  await expect(schema.pool.query('DELETE FROM ledger_event')).rejects.toEqual(refused);
});

it('migrates 0003 up, down and up again', async () => {
  const dir = hashChainMigrations();
  await applyInBatches(schema.pool, hashChainProjection, sequence(2), 2);
  await migrateDown(schema.pool, 1, { dir });
  const gone = await schema.pool.query(
    "SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'ledger_%' " +
      'AND relnamespace = current_schema()::regnamespace',
  );
  expect(gone.rows[0]).toEqual({ n: 0 });
  expect(await migrateUp(schema.pool, { dir })).toHaveLength(1);
  await applyInBatches(schema.pool, hashChainProjection, sequence(2), 2);
  expect((await storedChain(schema.pool, CHAIN)).map((row) => row.position)).toEqual(['1', '2']);
});
