/**
 * Proves `verify` against real PostgreSQL, in a schema of this file's own: an intact chain is OK
 * and records a snapshot; each way of tampering (edit, delete, forge, swap, re-hash an edit, cut
 * the tail, edit a column that is not hashed, a block checkpoint, the head) is reported at the
 * exact first bad position with its problem; the snapshot makes the next run read only the new
 * events while `--full` re-reads everything (rows read are counted); the CLI exits 0, 1 and 2;
 * and it prints the verification speed over a 20,000-event chain.
 */
import { eventHash } from '../../../projections/src/hash-chain/chain';
import { createHashChainProjection } from '../../../projections/src/hash-chain/projection';
import { runVerify } from '../../../projections/src/hash-chain/verify-cli';
import { verifyChains } from '../../../projections/src/hash-chain/verify';
import { config, type TestSchema } from '../../support/store/schema';
import {
  applyInBatches,
  migratedSchema,
  projected,
  resetSchema,
  sequence,
  tamper,
  TOPIC,
} from '../../support/projections/hash-chain-fixtures';

const CHAIN = `${TOPIC}/0`;
const projection = createHashChainProjection({ blockSize: 8 });
let schema: TestSchema;

beforeAll(async () => {
  schema = await migratedSchema('hcv');
});
afterAll(() => schema.drop());

async function freshChain(count = 30): Promise<void> {
  await resetSchema(schema);
  await applyInBatches(schema.pool, projection, sequence(count), 7);
}

/** A forged row for `position` linked to `previousHash`, with a correct hash of its own. */
function forgedRowSql(position: number): string {
  return `INSERT INTO ledger_event
    SELECT chain, ${position}, event_id || '-forged', occurred_at_ns, occurred_at, kafka_offset,
           journal_id, kind, payload, previous_hash, event_hash
      FROM ledger_event WHERE chain = '${CHAIN}' AND position = ${position}`;
}

async function rehash(position: number): Promise<void> {
  const { rows } = await schema.pool.query(
    'SELECT position, event_id, occurred_at_ns, payload, previous_hash FROM ledger_event ' +
      'WHERE chain = $1 AND position = $2',
    [CHAIN, position],
  );
  const row = rows[0]!;
  const hash = eventHash({
    chain: CHAIN,
    position: row.position,
    previousHash: row.previous_hash,
    eventId: row.event_id,
    occurredAtNs: BigInt(row.occurred_at_ns),
    payload: row.payload,
  });
  await tamper(schema.pool, 'UPDATE ledger_event SET event_hash = $1 WHERE position = $2', [
    hash,
    position,
  ]);
}

it('reports an intact chain OK and records a snapshot at its last event', async () => {
  await freshChain();
  const report = await verifyChains(schema.pool, { full: true });
  expect(report).toMatchObject({ ok: true, full: true, eventsChecked: 30 });
  expect(report.chains).toEqual([
    {
      chain: CHAIN,
      ok: true,
      fromPosition: '1',
      headPosition: '30',
      eventsChecked: 30,
      blocksChecked: 3,
      firstBad: null,
    },
  ]);
  const { rows } = await schema.pool.query('SELECT chain, position FROM ledger_hash_snapshot');
  expect(rows).toEqual([{ chain: CHAIN, position: 30n }]);
});

const PAYLOAD_EDIT =
  "UPDATE ledger_event SET payload = convert_to(replace(convert_from(payload, 'UTF8'), " +
  "'acc-cash', 'acc-evil'), 'UTF8') WHERE position = 10";

describe.each([
  ['an edited payload', PAYLOAD_EDIT, 10, 'hash_mismatch', 'j10:posted'],
  [
    'an edited event id',
    "UPDATE ledger_event SET event_id = 'x' WHERE position = 10",
    10,
    'hash_mismatch',
    'x',
  ],
  ['a deleted event', 'DELETE FROM ledger_event WHERE position = 10', 10, 'missing_position', null],
  ['a forged duplicate', forgedRowSql(10), 10, 'duplicate_position', expect.any(String)],
  [
    'a forged event past the head',
    forgedRowSql(30).replace(', 30,', ', 31,'),
    31,
    'beyond_head',
    'j30:posted-forged',
  ],
  [
    'swapped positions',
    'UPDATE ledger_event SET position = 21 - position WHERE position IN (10, 11)',
    10,
    'broken_link',
    'j11:posted',
  ],
  ['a cut tail', 'DELETE FROM ledger_event WHERE position >= 29', 29, 'missing_position', null],
  [
    'an edited kind column',
    "UPDATE ledger_event SET kind = 'rejected' WHERE position = 10",
    10,
    'column_mismatch',
    'j10:posted',
  ],
  [
    'an edited partition key',
    "UPDATE ledger_event SET occurred_at = occurred_at + interval '1 us' WHERE position = 10",
    10,
    'column_mismatch',
    'j10:posted',
  ],
  [
    'a forged block checkpoint',
    "UPDATE ledger_block_checkpoint SET block_hash = sha256('x') WHERE block_number = 2",
    16,
    'block_mismatch',
    'j16:posted',
  ],
  [
    'a deleted block checkpoint',
    'DELETE FROM ledger_block_checkpoint WHERE block_number = 2',
    17,
    'block_sequence',
    null,
  ],
  [
    'a deleted last block checkpoint',
    'DELETE FROM ledger_block_checkpoint WHERE block_number = 3',
    17,
    'block_sequence',
    null,
  ],
])('%s', (_name, sql, position, problem, eventId) => {
  it('is caught at the exact first bad event, with --full and from a snapshot', async () => {
    await resetSchema(schema);
    const events = sequence(30);
    await applyInBatches(schema.pool, projection, events.slice(0, 8), 8);
    expect((await verifyChains(schema.pool)).ok).toBe(true); // a snapshot at 8
    await applyInBatches(schema.pool, projection, events.slice(8), 7);
    await tamper(schema.pool, sql);
    const expected = {
      chain: CHAIN,
      position: String(position),
      eventId,
      problem,
      detail: expect.any(String),
    };
    const fromSnapshot = await verifyChains(schema.pool);
    expect(fromSnapshot.chains[0]).toMatchObject({ ok: false, fromPosition: '9' });
    expect(fromSnapshot.chains[0]!.firstBad).toEqual(expected);
    const full = await verifyChains(schema.pool, { full: true });
    expect(full.ok).toBe(false);
    expect(full.chains[0]!.firstBad).toEqual(expected);
    const snapshots = await schema.pool.query(
      'SELECT count(*)::int AS n FROM ledger_hash_snapshot',
    );
    expect(snapshots.rows[0]).toEqual({ n: 1 }); // none recorded for a tampered chain
  });
});

it('chains the events of batch envelopes, which share their record offset, and verifies them', async () => {
  await resetSchema(schema);
  // Four events per Kafka record, as a version-2 envelope carries them; batches cut across records.
  const events = Array.from({ length: 30 }, (_, i) =>
    projected({ journal: i + 1, offset: Math.floor(i / 4) }),
  );
  await applyInBatches(schema.pool, projection, events, 7);
  const report = await verifyChains(schema.pool, { full: true });
  expect(report.ok).toBe(true);
  expect(report.eventsChecked).toBe(30);
  // A record's events still may not go back in the log.
  const backwards = [projected({ journal: 40, offset: 9 }), projected({ journal: 41, offset: 8 })];
  await expect(applyInBatches(schema.pool, projection, backwards, 2)).rejects.toThrow(
    /offsets out of order: 8 after 9/,
  );
});

it('catches an edit whose hash was recomputed: the next link breaks', async () => {
  await freshChain();
  await tamper(schema.pool, PAYLOAD_EDIT);
  await rehash(10);
  const report = await verifyChains(schema.pool, { full: true });
  expect(report.chains[0]!.firstBad).toMatchObject({
    position: '11',
    eventId: 'j11:posted',
    problem: 'broken_link',
  });
});

it('catches an edited head', async () => {
  await freshChain();
  await schema.pool.query("UPDATE ledger_chain_head SET event_hash = sha256('x')");
  const report = await verifyChains(schema.pool, { full: true });
  expect(report.chains[0]!.firstBad).toMatchObject({ position: '30', problem: 'head_mismatch' });
});

it('reads only events after the snapshot, unless --full', async () => {
  await freshChain(100);
  const first = await verifyChains(schema.pool);
  expect(first).toMatchObject({ ok: true, eventsChecked: 100, rowsRead: 100 });
  await applyInBatches(schema.pool, projection, sequence(10, 101), 10);
  const second = await verifyChains(schema.pool);
  expect(second.chains[0]).toMatchObject({ ok: true, fromPosition: '101', eventsChecked: 10 });
  // The snapshot's own row, the 10 new events and the 4 earlier hashes of the block 97 … 104.
  expect(second.rowsRead).toBe(1 + 10 + 4);
  const third = await verifyChains(schema.pool);
  expect(third).toMatchObject({ ok: true, eventsChecked: 0, rowsRead: 1 });
  // An edit before the snapshot: only --full re-reads it.
  await tamper(schema.pool, PAYLOAD_EDIT);
  expect((await verifyChains(schema.pool)).ok).toBe(true);
  const full = await verifyChains(schema.pool, { full: true });
  expect(full.rowsRead).toBe(110);
  expect(full.chains[0]!.firstBad).toMatchObject({ position: '10', problem: 'hash_mismatch' });
});

it('catches an edit of the snapshot row itself', async () => {
  await freshChain();
  await verifyChains(schema.pool);
  await tamper(schema.pool, PAYLOAD_EDIT.replace('position = 10', 'position = 30'));
  const report = await verifyChains(schema.pool);
  expect(report.chains[0]!.firstBad).toMatchObject({ position: '30', problem: 'hash_mismatch' });
});

it('walks in pages without missing a duplicate on a page boundary', async () => {
  await freshChain();
  // A forged copy of row 5 identical in every column: with pages of 5 it falls on the boundary.
  await tamper(
    schema.pool,
    'INSERT INTO ledger_event SELECT * FROM ledger_event WHERE position = 5',
  );
  const report = await verifyChains(schema.pool, { full: true, pageRows: 5 });
  expect(report.chains[0]!.firstBad).toMatchObject({
    position: '5',
    problem: 'duplicate_position',
  });
  const intact = await verifyChains(schema.pool, { full: true, pageRows: 1 });
  expect(intact.chains[0]!.firstBad).toMatchObject({ position: '5' });
});

describe('the CLI', () => {
  const lines: string[] = [];
  const errors: string[] = [];
  const io = () => {
    const url = new URL(config.DATABASE_DIRECT_URL);
    url.searchParams.set('options', `-c search_path=${schema.name}`);
    return {
      env: { ...process.env, DATABASE_DIRECT_URL: url.toString() },
      out: (line: string) => lines.push(line),
      err: (line: string) => errors.push(line),
    };
  };
  beforeEach(() => {
    lines.length = 0;
    errors.length = 0;
  });

  it('exits 0 when OK, 1 when tampered (naming the event), 2 on bad usage', async () => {
    await freshChain();
    expect(await runVerify([], io())).toBe(0);
    expect(lines.at(-1)).toMatch(/^verify: OK, 1 chain\(s\), 30 event\(s\) checked/);
    await tamper(schema.pool, 'DELETE FROM ledger_event WHERE position = 12');
    expect(await runVerify(['--full'], io())).toBe(1);
    expect(lines).toContainEqual(
      expect.stringMatching(/^TAMPERED .*\/0 at position 12 \(no event\): missing_position/),
    );
    lines.length = 0;
    expect(await runVerify(['--full', '--json'], io())).toBe(1);
    const report = JSON.parse(lines[0]!);
    expect(report.chains[0].firstBad).toMatchObject({
      position: '12',
      problem: 'missing_position',
    });
    expect(await runVerify(['--fast'], io())).toBe(2);
    expect(errors).toEqual(['usage: verify [--full] [--json]']);
  });

  it('exits 2 when the database cannot be read', async () => {
    const env = { ...io().env, DATABASE_DIRECT_URL: 'postgres://nobody:x@127.0.0.1:1/none' };
    expect(await runVerify([], { ...io(), env })).toBe(2);
    expect(errors[0]).toMatch(/^verify failed/);
  });
});

it('verifies a 20,000-event chain and prints its speed', async () => {
  await resetSchema(schema);
  const big = createHashChainProjection({ blockSize: 1000 });
  const events = sequence(20_000);
  const appliedAt = performance.now();
  await applyInBatches(schema.pool, big, events, 1000);
  const applyMs = performance.now() - appliedAt;
  const report = await verifyChains(schema.pool, { full: true });
  expect(report).toMatchObject({ ok: true, eventsChecked: 20_000 });
  expect(report.chains[0]!.blocksChecked).toBe(20);
  const rate = Math.round((20_000 * 1000) / Math.max(1, report.elapsedMs));
  console.log(
    `hash chain: applied 20000 events in ${Math.round(applyMs)} ms ` +
      `(${Math.round((20_000 * 1000) / applyMs)} events/s); verify --full ${report.elapsedMs} ms ` +
      `(${rate} events/s)`,
  );
}, 120_000);
