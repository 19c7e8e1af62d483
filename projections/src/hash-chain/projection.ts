/**
 * The hash-chain projection: appends each new event to its chain (chain.ts has the rule and the
 * encoding), with multi-row inserts, moves the chain head, and writes a block checkpoint whenever
 * a block fills. Runs inside the runner's transaction (../projection.ts), so the appended events,
 * the head and the checkpoint commit together with the partition's offset, or not at all.
 */
import { InvariantError } from '../../../core/assert';
import { serializeOutcomeEvent } from '../../../events/schema';
import type { ProjectedChange } from '../changes/feed';
import type { Queryable } from '../../../core/postgres/pool';
import { ensureMonths } from '../partitions/manager';
import { monthOfNs } from '../partitions/months';
import type { Located, Projection, ProjectedEvent } from '../projection';
import { blockHash, chainOf, changeEventId, eventHash, GENESIS_HASH, nsToTimestamp } from './chain';

/** Events per block checkpoint by default: verifying one block re-reads this many hashes. */
export const BLOCK_SIZE_DEFAULT = 1000;
const BLOCK_SIZE_MAX = 1_000_000;

export const HASH_CHAIN_TABLES = [
  'ledger_event',
  'ledger_event_id',
  'ledger_chain_head',
  'ledger_block_checkpoint',
  'ledger_hash_snapshot',
] as const;

interface Head {
  position: bigint;
  eventHash: Buffer;
  blockPosition: bigint;
}

/** What the chain records of one event, whichever feed it came from. */
export interface ChainEntry {
  eventId: string;
  occurredAtNs: bigint;
  /** The outcome's journal; null for a ledger change event (it has none). */
  journalId: string | null;
  kind: string;
  /** The bytes hashed and stored. */
  payload: Buffer;
}

/** An outcome event: its id, its `occurredAt`, and its canonical serialization. */
export function outcomeEntry({ event }: ProjectedEvent): ChainEntry {
  return {
    eventId: event.eventId,
    occurredAtNs: BigInt(event.occurredAt),
    journalId: event.journalId,
    kind: event.kind,
    payload: serializeOutcomeEvent(event),
  };
}

/**
 * A ledger change event, chained once: from its debit-side record (the credit side's is the same
 * event), with TigerBeetle's message bytes as they were relayed.
 */
export function changeEntry(record: ProjectedChange): ChainEntry | null {
  if (record.side !== 'debit') return null;
  const { change } = record;
  return {
    eventId: changeEventId(change.timestamp),
    occurredAtNs: change.timestamp,
    journalId: null,
    kind: change.type,
    payload: record.payload,
  };
}

interface Row {
  position: bigint;
  eventId: string;
  occurredAtNs: bigint;
  offset: string;
  journalId: string | null;
  kind: string;
  payload: Buffer;
  previousHash: Buffer;
  eventHash: Buffer;
}

/**
 * Lets this transaction UPDATE, DELETE or TRUNCATE the append-only tables (a rebuild truncating
 * them). See the trigger in migration 0003.
 */
export async function allowLedgerRewrite(tx: Queryable): Promise<void> {
  await tx.query("SELECT set_config('ledger_bridge.maintenance', 'rewrite', true)");
}

async function lockHead(tx: Queryable, chain: string): Promise<Head> {
  const select =
    'SELECT position, event_hash, block_position FROM ledger_chain_head ' +
    'WHERE chain = $1 FOR UPDATE';
  let { rows } = await tx.query<{ position: bigint; event_hash: Buffer; block_position: bigint }>(
    select,
    [chain],
  );
  if (rows.length === 0) {
    await tx.query(
      'INSERT INTO ledger_chain_head (chain, position, event_hash, block_position) ' +
        'VALUES ($1, 0, $2, 0) ON CONFLICT (chain) DO NOTHING',
      [chain, GENESIS_HASH],
    );
    ({ rows } = await tx.query(select, [chain]));
  }
  const row = rows[0]!;
  return { position: row.position, eventHash: row.event_hash, blockPosition: row.block_position };
}

/** The events whose id this chain (or any) has not appended yet; first occurrence wins. */
async function freshEvents(
  tx: Queryable,
  events: readonly Located[],
  entryOf: (each: Located) => ChainEntry,
): Promise<{ at: Located; entry: ChainEntry }[]> {
  const firsts = new Map<string, { at: Located; entry: ChainEntry }>();
  for (const each of events) {
    const entry = entryOf(each);
    if (!firsts.has(entry.eventId)) firsts.set(entry.eventId, { at: each, entry });
  }
  const { rows } = await tx.query<{ event_id: string }>(
    'SELECT event_id FROM ledger_event_id WHERE event_id = ANY($1::text[])',
    [[...firsts.keys()]],
  );
  for (const row of rows) firsts.delete(row.event_id);
  return [...firsts.values()];
}

function chainRows(
  chain: string,
  head: Head,
  events: readonly { at: Located; entry: ChainEntry }[],
): Row[] {
  let position = head.position;
  let previousHash = head.eventHash;
  let lastOffset = -1n;
  return events.map(({ at: { offset }, entry }) => {
    const kafkaOffset = BigInt(offset);
    // Equal is in order: the events of one batch envelope (events/envelope.ts) share its offset.
    if (kafkaOffset < lastOffset) {
      throw new InvariantError(`${chain} offsets out of order: ${offset} after ${lastOffset}`);
    }
    lastOffset = kafkaOffset;
    position += 1n;
    const { payload, occurredAtNs, eventId } = entry;
    const hash = eventHash({ chain, position, previousHash, eventId, occurredAtNs, payload });
    const row: Row = {
      position,
      eventId,
      occurredAtNs,
      offset,
      journalId: entry.journalId,
      kind: entry.kind,
      payload,
      previousHash,
      eventHash: hash,
    };
    previousHash = hash;
    return row;
  });
}

/**
 * The rows' bytes as ONE binary parameter each (payloads, previous hashes, event hashes) cut by
 * `substring` in the statement: node-pg sends a Buffer as binary, where a bytea[] would travel as
 * hex text escaped into an array literal (twice the bytes, and most of the statement's cost).
 */
function packed(buffers: readonly Buffer[]): {
  bytes: Buffer;
  starts: number[];
  lengths: number[];
} {
  const starts: number[] = [];
  const lengths: number[] = [];
  let at = 1; // substring() counts from 1
  for (const buffer of buffers) {
    starts.push(at);
    lengths.push(buffer.length);
    at += buffer.length;
  }
  return { bytes: Buffer.concat(buffers), starts, lengths };
}

async function insertRows(tx: Queryable, chain: string, rows: readonly Row[]): Promise<void> {
  const payloads = packed(rows.map((row) => row.payload));
  await tx.query(
    `INSERT INTO ledger_event (chain, position, event_id, occurred_at_ns, occurred_at,
       kafka_offset, journal_id, kind, payload, previous_hash, event_hash)
     SELECT $1, u.position, u.event_id, u.ns, u.at, u.off, u.journal, u.kind,
            substring($9::bytea FROM u.start FOR u.length),
            substring($12::bytea FROM u.i::int * 32 - 31 FOR 32),
            substring($13::bytea FROM u.i::int * 32 - 31 FOR 32)
       FROM unnest($2::bigint[], $3::text[], $4::numeric[], $5::timestamptz[], $6::bigint[],
                   $7::text[], $8::text[], $10::int[], $11::int[])
              WITH ORDINALITY AS u(position, event_id, ns, at, off, journal, kind, start, length, i)`,
    [
      chain,
      rows.map((row) => row.position.toString()),
      rows.map((row) => row.eventId),
      rows.map((row) => row.occurredAtNs.toString()),
      rows.map((row) => nsToTimestamp(row.occurredAtNs)),
      rows.map((row) => row.offset),
      rows.map((row) => row.journalId),
      rows.map((row) => row.kind),
      payloads.bytes,
      payloads.starts,
      payloads.lengths,
      Buffer.concat(rows.map((row) => row.previousHash)),
      Buffer.concat(rows.map((row) => row.eventHash)),
    ],
  );
  // A plain INSERT: an id appended concurrently by another chain fails the batch (the runner
  // retries it and then skips the id) rather than leaving a gap in this chain's positions.
  await tx.query(
    `INSERT INTO ledger_event_id (event_id, chain, position)
     SELECT u.event_id, $1, u.position FROM unnest($2::text[], $3::bigint[]) AS u(event_id, position)`,
    [chain, rows.map((row) => row.eventId), rows.map((row) => row.position.toString())],
  );
}

/** Hashes of positions first … last: this batch's from memory, earlier ones from the table. */
async function hashesOf(
  tx: Queryable,
  chain: string,
  first: bigint,
  last: bigint,
  batch: readonly Row[],
): Promise<Buffer[]> {
  const batchFirst = batch[0]!.position;
  const hashes: Buffer[] = [];
  if (first < batchFirst) {
    const { rows } = await tx.query<{ event_hash: Buffer }>(
      'SELECT event_hash FROM ledger_event WHERE chain = $1 AND position BETWEEN $2 AND $3 ' +
        'ORDER BY position',
      [chain, first.toString(), (batchFirst - 1n).toString()],
    );
    if (BigInt(rows.length) !== batchFirst - first) {
      throw new InvariantError(`${chain} lacks events in ${first} … ${batchFirst - 1n}`);
    }
    for (const row of rows) hashes.push(row.event_hash);
  }
  for (const row of batch) {
    if (row.position >= first && row.position <= last) hashes.push(row.eventHash);
  }
  return hashes;
}

/** Writes the checkpoint of every block this batch filled; returns the new block_position. */
async function writeBlocks(
  tx: Queryable,
  chain: string,
  head: Head,
  rows: readonly Row[],
  blockSize: number,
): Promise<bigint> {
  const size = BigInt(blockSize);
  const lastPosition = rows.at(-1)!.position;
  let blockPosition = head.blockPosition;
  if (blockPosition + size > lastPosition) return blockPosition;
  const { rows: numbers } = await tx.query<{ max: bigint | null }>(
    'SELECT max(block_number) AS max FROM ledger_block_checkpoint WHERE chain = $1',
    [chain],
  );
  let blockNumber = numbers[0]?.max ?? 0n;
  while (blockPosition + size <= lastPosition) {
    blockNumber += 1n;
    const block = { chain, blockNumber, firstPosition: blockPosition + 1n, lastPosition: 0n };
    block.lastPosition = blockPosition + size;
    const hashes = await hashesOf(tx, chain, block.firstPosition, block.lastPosition, rows);
    await tx.query(
      'INSERT INTO ledger_block_checkpoint ' +
        '(chain, block_number, first_position, last_position, block_hash) ' +
        'VALUES ($1, $2, $3, $4, $5)',
      [
        chain,
        blockNumber.toString(),
        block.firstPosition.toString(),
        block.lastPosition.toString(),
        blockHash(block, hashes),
      ],
    );
    blockPosition = block.lastPosition;
  }
  return blockPosition;
}

async function appendToChain(
  tx: Queryable,
  chain: string,
  events: readonly Located[],
  entryOf: (each: Located) => ChainEntry,
  blockSize: number,
): Promise<void> {
  const head = await lockHead(tx, chain);
  const fresh = await freshEvents(tx, events, entryOf);
  if (fresh.length === 0) return;
  const rows = chainRows(chain, head, fresh);
  await ensureMonths(
    tx,
    rows.map((row) => monthOfNs(row.occurredAtNs)),
  );
  await insertRows(tx, chain, rows);
  const blockPosition = await writeBlocks(tx, chain, head, rows, blockSize);
  const last = rows.at(-1)!;
  await tx.query(
    'UPDATE ledger_chain_head SET position = $2, event_hash = $3, block_position = $4 ' +
      'WHERE chain = $1',
    [chain, last.position.toString(), last.eventHash, blockPosition.toString()],
  );
}

export interface HashChainOptions<E extends Located> {
  /** Events per block checkpoint. Changing it later is safe: each checkpoint names its range. */
  blockSize?: number;
  /** The projection's name ('hash-chain' for the outcome feed). */
  name?: string;
  /** What to chain of a record; null: nothing (the record repeats another one's event). */
  entryOf?: (each: E) => ChainEntry | null;
}

export function createHashChainProjection<E extends Located = ProjectedEvent>(
  options: HashChainOptions<E> = {},
): Projection<E> {
  const entryOf = (options.entryOf ?? outcomeEntry) as (each: E) => ChainEntry | null;
  const blockSize = options.blockSize ?? BLOCK_SIZE_DEFAULT;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > BLOCK_SIZE_MAX) {
    throw new RangeError(`blockSize must be an integer 1 … ${BLOCK_SIZE_MAX}`);
  }
  return {
    name: options.name ?? 'hash-chain',
    tables: HASH_CHAIN_TABLES,
    async apply(tx, events) {
      // One chain per (topic, partition); chains are locked in name order (no deadlock when a
      // batch ever spans several).
      const byChain = new Map<string, E[]>();
      for (const each of events) {
        if (entryOf(each) === null) continue;
        const chain = chainOf(each.topic, each.partition);
        const list = byChain.get(chain);
        if (list === undefined) byChain.set(chain, [each]);
        else list.push(each);
      }
      for (const chain of [...byChain.keys()].sort()) {
        await appendToChain(
          tx,
          chain,
          byChain.get(chain)!,
          (each) => entryOf(each as E)!,
          blockSize,
        );
      }
    },
  };
}

export const hashChainProjection: Projection = createHashChainProjection();

/** The ledger's own events, chained per partition of the change topic. */
export const changeChainProjection: Projection<ProjectedChange> =
  createHashChainProjection<ProjectedChange>({ name: 'change-chain', entryOf: changeEntry });
