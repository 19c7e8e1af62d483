/**
 * Verification of the hash chains: per chain, walks `ledger_event` by position — from the last
 * hash snapshot, or from genesis with `full` — recomputing every hash (chain.ts), checking every
 * previous_hash link, that positions run 1, 2, 3, … with no gap and no duplicate, every block
 * checkpoint and the chain head, and that the columns that are not hashed agree with the hashed
 * payload (journal_id, kind, occurred_at) or never fall along the chain (kafka_offset: the events
 * of one batch envelope share it). It reports OK or the first bad event exactly, and on OK records
 * a snapshot so the next run only reads what was appended since.
 *
 * What it finds: an edited row (its hash no longer matches, or, if the attacker recomputed it,
 * the next row's link breaks), a deleted row (a gap, or a head beyond the last row), an inserted
 * row (a duplicate position or a row beyond the head), swapped rows (position is hashed, and the
 * links break). What it cannot find: someone who rewrites the whole tail from some position on,
 * with the head, checkpoints and snapshots — a chain proves integrity relative to a hash you
 * kept elsewhere. Keep the head or block hashes outside this database to close that gap.
 * A snapshot makes the default run trust rows before it (only `--full` re-reads them).
 *
 * Each chain is walked inside one REPEATABLE READ, READ ONLY transaction (one consistent view
 * while appends go on), in pages by keyset on (position, event_hash): never all in memory.
 */
import type pg from 'pg';
import { type Queryable, withTransaction } from '../../../core/postgres/pool';
import { blockHash, changeEventId, eventHash, GENESIS_HASH, nsToTimestamp } from './chain';

/** Rows per page of the walk: ~1 KB each, so a page is a couple of MB. */
export const VERIFY_PAGE_ROWS = 2_000;

export type ProblemCode =
  | 'hash_mismatch'
  | 'broken_link'
  | 'missing_position'
  | 'duplicate_position'
  | 'beyond_head'
  | 'column_mismatch'
  | 'head_mismatch'
  | 'block_mismatch'
  | 'block_sequence'
  | 'snapshot_mismatch';

export interface BadEvent {
  chain: string;
  /** Decimal. */
  position: string;
  /** The row found at that position, or null when it is missing. */
  eventId: string | null;
  problem: ProblemCode;
  detail: string;
}

export interface ChainReport {
  chain: string;
  ok: boolean;
  /** Where the walk started (1 with `full`, else after the snapshot). */
  fromPosition: string;
  headPosition: string;
  eventsChecked: number;
  blocksChecked: number;
  firstBad: BadEvent | null;
}

export interface VerifyReport {
  ok: boolean;
  full: boolean;
  chains: ChainReport[];
  eventsChecked: number;
  /** Rows of ledger_event read, for the walk and block hashes (tests check incrementality). */
  rowsRead: number;
  elapsedMs: number;
}

export interface VerifyOptions {
  full?: boolean;
  pageRows?: number;
  /** Record a snapshot for each chain found OK (default true). */
  recordSnapshot?: boolean;
}

interface EventRow {
  position: bigint;
  event_id: string;
  occurred_at_ns: string;
  occurred_at_iso: string;
  kafka_offset: bigint;
  journal_id: string | null;
  kind: string;
  payload: Buffer;
  previous_hash: Buffer;
  event_hash: Buffer;
}

interface CheckpointRow {
  block_number: bigint;
  first_position: bigint;
  last_position: bigint;
  block_hash: Buffer;
}

const EVENT_COLUMNS =
  'position, event_id, occurred_at_ns, kafka_offset, journal_id, kind, payload, previous_hash, ' +
  `event_hash, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ` +
  'AS occurred_at_iso';

class Problem extends Error {
  constructor(readonly bad: Omit<BadEvent, 'chain'>) {
    super(bad.detail);
  }
}

function fail(position: bigint, eventId: string | null, problem: ProblemCode, detail: string) {
  return new Problem({ position: position.toString(), eventId, problem, detail });
}

const hex = (bytes: Buffer) => bytes.toString('hex');

function recompute(chain: string, row: EventRow): Buffer {
  return eventHash({
    chain,
    position: row.position,
    previousHash: row.previous_hash,
    eventId: row.event_id,
    occurredAtNs: BigInt(row.occurred_at_ns),
    payload: row.payload,
  });
}

/**
 * The columns that are not hashed must agree with what is: the payload's own fields, and the
 * partition key with occurred_at_ns. Kafka offsets must rise along the chain.
 */
function columnProblem(row: EventRow, previousOffset: bigint): string | null {
  let event: {
    eventId?: unknown;
    journalId?: unknown;
    kind?: unknown;
    occurredAt?: unknown;
    type?: unknown;
    timestamp?: unknown;
    transfer?: unknown;
  };
  try {
    event = JSON.parse(row.payload.toString('utf8')) as typeof event;
  } catch {
    return 'the payload is not JSON';
  }
  // A ledger change event (TigerBeetle's CDC message, events/change.ts) names itself by its
  // timestamp and has no journal.
  if (event.transfer !== undefined && typeof event.type === 'string') {
    const timestamp = String(event.timestamp);
    event = {
      eventId: changeEventId(timestamp),
      journalId: null,
      kind: event.type,
      occurredAt: timestamp,
    };
  }
  if (event.eventId !== row.event_id) return `event_id differs from the payload's eventId`;
  if (event.journalId !== row.journal_id) return `journal_id differs from the payload's journalId`;
  if (event.kind !== row.kind) return `kind differs from the payload's kind`;
  if (event.occurredAt !== row.occurred_at_ns) return `occurred_at_ns differs from the payload's`;
  if (nsToTimestamp(BigInt(row.occurred_at_ns)) !== row.occurred_at_iso) {
    return `occurred_at ${row.occurred_at_iso} is not occurred_at_ns ${row.occurred_at_ns}`;
  }
  // Equal is allowed: the events of one batch envelope (events/envelope.ts) share its offset.
  if (row.kafka_offset < previousOffset) {
    return `kafka_offset ${row.kafka_offset} is below the previous event's ${previousOffset}`;
  }
  return null;
}

/** Chains named by a head or by any event (a loose index scan: one probe per chain). */
async function listChains(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ chain: string }>(
    `WITH RECURSIVE walk AS (
       SELECT min(chain) AS chain FROM ledger_event
       UNION ALL
       SELECT (SELECT min(chain) FROM ledger_event WHERE chain > walk.chain)
         FROM walk WHERE walk.chain IS NOT NULL)
     SELECT chain FROM walk WHERE chain IS NOT NULL
     UNION SELECT chain FROM ledger_chain_head ORDER BY chain`,
  );
  return rows.map((row) => row.chain);
}

/** Checks a block checkpoint's hash as the walk passes its last position. */
class BlockChecker {
  private index = 0;
  private hashes: Buffer[] = [];
  checked = 0;

  constructor(
    private readonly chain: string,
    private readonly blocks: readonly CheckpointRow[],
  ) {}

  get next(): CheckpointRow | undefined {
    return this.blocks[this.index];
  }

  /** The hashes of the block's positions before the walk's start (incremental runs). */
  prefill(hashes: Buffer[]): void {
    this.hashes = hashes;
  }

  push(row: EventRow): void {
    const block = this.next;
    if (block === undefined || row.position < block.first_position) return;
    this.hashes.push(row.event_hash);
    if (row.position !== block.last_position) return;
    const expected = blockHash(
      {
        chain: this.chain,
        blockNumber: block.block_number,
        firstPosition: block.first_position,
        lastPosition: block.last_position,
      },
      this.hashes,
    );
    if (!expected.equals(block.block_hash)) {
      throw fail(
        block.last_position,
        row.event_id,
        'block_mismatch',
        `block ${block.block_number} (positions ${block.first_position} … ` +
          `${block.last_position}): checkpoint ${hex(block.block_hash)}, events give ` +
          `${hex(expected)}`,
      );
    }
    this.checked += 1;
    this.index += 1;
    this.hashes = [];
  }
}

function checkSequence(blocks: readonly CheckpointRow[], full: boolean): void {
  let previous: CheckpointRow | undefined;
  for (const block of blocks) {
    const firstExpected = previous === undefined ? (full ? 1n : null) : previous.last_position + 1n;
    const numberExpected = previous === undefined ? (full ? 1n : null) : previous.block_number + 1n;
    if (
      (firstExpected !== null && block.first_position !== firstExpected) ||
      (numberExpected !== null && block.block_number !== numberExpected)
    ) {
      throw fail(
        block.first_position,
        null,
        'block_sequence',
        `block checkpoint ${block.block_number} covers ${block.first_position} … ` +
          `${block.last_position}; expected block ${numberExpected} from ${firstExpected}`,
      );
    }
    previous = block;
  }
}

interface Walk {
  chain: string;
  head: { position: bigint; event_hash: Buffer; block_position: bigint } | undefined;
  /** The last position covered by a block checkpoint. */
  blockPosition: bigint;
  expected: bigint;
  previousHash: Buffer;
  previousOffset: bigint;
  eventsChecked: number;
  rowsRead: number;
}

function checkRow(walk: Walk, row: EventRow): void {
  const { chain, expected } = walk;
  if (row.position < expected) {
    throw fail(row.position, row.event_id, 'duplicate_position', 'a second row at this position');
  }
  if (row.position > expected) {
    throw fail(
      expected,
      null,
      'missing_position',
      `no row at position ${expected}; the next is ${row.position} (${row.event_id})`,
    );
  }
  const headPosition = walk.head?.position ?? 0n;
  if (row.position > headPosition) {
    throw fail(row.position, row.event_id, 'beyond_head', `the head is at ${headPosition}`);
  }
  if (!row.previous_hash.equals(walk.previousHash)) {
    throw fail(
      row.position,
      row.event_id,
      'broken_link',
      `previous_hash ${hex(row.previous_hash)} is not the hash of position ` +
        `${row.position - 1n} (${hex(walk.previousHash)}): one of the two rows was altered`,
    );
  }
  const hash = recompute(chain, row);
  if (!hash.equals(row.event_hash)) {
    throw fail(
      row.position,
      row.event_id,
      'hash_mismatch',
      `stored event_hash ${hex(row.event_hash)}, the row's content gives ${hex(hash)}`,
    );
  }
  const problem = columnProblem(row, walk.previousOffset);
  if (problem !== null) throw fail(row.position, row.event_id, 'column_mismatch', problem);
  walk.previousHash = row.event_hash;
  walk.previousOffset = row.kafka_offset;
  walk.expected += 1n;
  walk.eventsChecked += 1;
}

async function walkEvents(
  tx: Queryable,
  walk: Walk,
  blocks: BlockChecker,
  pageRows: number,
): Promise<void> {
  let after: EventRow | undefined;
  for (;;) {
    const { rows } =
      after === undefined
        ? await tx.query<EventRow>(
            `SELECT ${EVENT_COLUMNS} FROM ledger_event WHERE chain = $1 AND position >= $2 ` +
              'ORDER BY position, event_hash LIMIT $3',
            [walk.chain, walk.expected.toString(), pageRows],
          )
        : // >= and skip the first row: an exact copy of the page's last row is still seen.
          await tx.query<EventRow>(
            `SELECT ${EVENT_COLUMNS} FROM ledger_event ` +
              'WHERE chain = $1 AND (position, event_hash) >= ($2, $3) ' +
              'ORDER BY position, event_hash LIMIT $4',
            [walk.chain, after.position.toString(), after.event_hash, pageRows + 1],
          );
    const page = after === undefined ? rows : rows.slice(1);
    walk.rowsRead += page.length;
    for (const row of page) {
      checkRow(walk, row);
      blocks.push(row);
    }
    if (page.length < pageRows) return;
    after = page.at(-1);
  }
}

/** Positions the walk starts from; checks the snapshot's own row on the way. */
async function startFrom(tx: Queryable, walk: Walk, full: boolean): Promise<void> {
  if (full) return;
  const { rows } = await tx.query<{ position: bigint; event_hash: Buffer }>(
    'SELECT position, event_hash FROM ledger_hash_snapshot WHERE chain = $1 ' +
      'ORDER BY position DESC LIMIT 1',
    [walk.chain],
  );
  const snapshot = rows[0];
  if (snapshot === undefined) return;
  const found = await tx.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM ledger_event WHERE chain = $1 AND position = $2 ` +
      'ORDER BY event_hash',
    [walk.chain, snapshot.position.toString()],
  );
  walk.rowsRead += found.rows.length;
  const [row, second] = found.rows;
  if (row === undefined || second !== undefined || !row.event_hash.equals(snapshot.event_hash)) {
    throw fail(
      snapshot.position,
      row?.event_id ?? null,
      'snapshot_mismatch',
      `the snapshot says ${hex(snapshot.event_hash)}; found ${found.rows.length} row(s)` +
        (row === undefined ? '' : ` hashed ${hex(row.event_hash)}`),
    );
  }
  if (!recompute(walk.chain, row).equals(row.event_hash)) {
    throw fail(row.position, row.event_id, 'hash_mismatch', "the snapshot row's content changed");
  }
  walk.expected = snapshot.position + 1n;
  walk.previousHash = snapshot.event_hash;
  walk.previousOffset = row.kafka_offset;
}

async function prepareBlocks(tx: Queryable, walk: Walk, full: boolean): Promise<BlockChecker> {
  // The last block wholly before the walk comes too, only so the sequence check sees a deleted
  // or forged checkpoint right after the snapshot.
  const { rows } = await tx.query<CheckpointRow>(
    `(SELECT block_number, first_position, last_position, block_hash
        FROM ledger_block_checkpoint WHERE chain = $1 AND last_position < $2
       ORDER BY block_number DESC LIMIT 1)
     UNION ALL
     (SELECT block_number, first_position, last_position, block_hash
        FROM ledger_block_checkpoint WHERE chain = $1 AND last_position >= $2
       ORDER BY block_number)`,
    [walk.chain, walk.expected.toString()],
  );
  checkSequence(rows, full);
  const before = rows[0] !== undefined && rows[0].last_position < walk.expected ? rows[0] : null;
  const ahead = before === null ? rows : rows.slice(1);
  walk.blockPosition = (rows.at(-1) ?? before)?.last_position ?? 0n;
  const checker = new BlockChecker(walk.chain, ahead);
  const first = ahead[0];
  if (first !== undefined && first.first_position < walk.expected) {
    // The block straddles the snapshot: its earlier hashes, trusted like the snapshot is.
    const { rows: earlier } = await tx.query<{ event_hash: Buffer }>(
      'SELECT event_hash FROM ledger_event WHERE chain = $1 AND position BETWEEN $2 AND $3 ' +
        'ORDER BY position, event_hash',
      [walk.chain, first.first_position.toString(), (walk.expected - 1n).toString()],
    );
    walk.rowsRead += earlier.length;
    checker.prefill(earlier.map((row) => row.event_hash));
  }
  return checker;
}

function checkEnd(walk: Walk, blocks: BlockChecker): void {
  const last = walk.expected - 1n;
  const head = walk.head;
  if (head === undefined) {
    if (last > 0n) throw fail(1n, null, 'head_mismatch', 'events exist but the chain has no head');
    return;
  }
  if (head.position > last) {
    throw fail(
      last + 1n,
      null,
      'missing_position',
      `the head is at ${head.position} but the last event is at ${last}`,
    );
  }
  if (!head.event_hash.equals(walk.previousHash)) {
    throw fail(
      last,
      null,
      'head_mismatch',
      `the head's hash ${hex(head.event_hash)} is not the last event's ${hex(walk.previousHash)}`,
    );
  }
  if (head.block_position !== walk.blockPosition) {
    throw fail(
      walk.blockPosition + 1n,
      null,
      'block_sequence',
      `the head says blocks cover 1 … ${head.block_position}, checkpoints end at ` +
        `${walk.blockPosition}`,
    );
  }
  const pending = blocks.next;
  if (pending !== undefined) {
    throw fail(
      pending.first_position,
      null,
      'block_sequence',
      `block checkpoint ${pending.block_number} covers ${pending.first_position} … ` +
        `${pending.last_position}, beyond the last event ${last}`,
    );
  }
}

async function verifyChain(
  db: pg.Pool,
  chain: string,
  full: boolean,
  pageRows: number,
): Promise<{ report: ChainReport; rowsRead: number; verified: Verified | null }> {
  return withTransaction(db, async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await tx.query<NonNullable<Walk['head']>>(
      'SELECT position, event_hash, block_position FROM ledger_chain_head WHERE chain = $1',
      [chain],
    );
    const walk: Walk = {
      chain,
      head: rows[0],
      expected: 1n,
      previousHash: GENESIS_HASH,
      previousOffset: -1n,
      blockPosition: 0n,
      eventsChecked: 0,
      rowsRead: 0,
    };
    const report: ChainReport = {
      chain,
      ok: true,
      fromPosition: '1',
      headPosition: (walk.head?.position ?? 0n).toString(),
      eventsChecked: 0,
      blocksChecked: 0,
      firstBad: null,
    };
    let blocks: BlockChecker | undefined;
    try {
      await startFrom(tx, walk, full);
      report.fromPosition = walk.expected.toString();
      blocks = await prepareBlocks(tx, walk, full);
      await walkEvents(tx, walk, blocks, pageRows);
      checkEnd(walk, blocks);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      report.ok = false;
      report.firstBad = { chain, ...error.bad };
    }
    report.eventsChecked = walk.eventsChecked;
    report.blocksChecked = blocks?.checked ?? 0;
    const last = walk.expected - 1n;
    const verified =
      report.ok && last > 0n ? { position: last, eventHash: walk.previousHash } : null;
    return { report, rowsRead: walk.rowsRead, verified };
  });
}

interface Verified {
  position: bigint;
  eventHash: Buffer;
}

/** The last event the walk verified (not the head now: appends since are checked next time). */
async function recordSnapshot(db: Queryable, chain: string, verified: Verified): Promise<void> {
  await db.query(
    `INSERT INTO ledger_hash_snapshot (chain, position, event_hash) VALUES ($1, $2, $3)
     ON CONFLICT (chain, position) DO UPDATE
       SET event_hash = EXCLUDED.event_hash, verified_at = now()`,
    [chain, verified.position.toString(), verified.eventHash],
  );
}

export async function verifyChains(
  db: pg.Pool,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const startedMs = performance.now();
  const full = options.full ?? false;
  const pageRows = options.pageRows ?? VERIFY_PAGE_ROWS;
  if (!Number.isInteger(pageRows) || pageRows < 1) throw new RangeError('pageRows must be ≥ 1');
  const report: VerifyReport = {
    ok: true,
    full,
    chains: [],
    eventsChecked: 0,
    rowsRead: 0,
    elapsedMs: 0,
  };
  for (const chain of await listChains(db)) {
    const checked = await verifyChain(db, chain, full, pageRows);
    const { report: chainReport, rowsRead, verified } = checked;
    report.chains.push(chainReport);
    report.eventsChecked += chainReport.eventsChecked;
    report.rowsRead += rowsRead;
    if (!chainReport.ok) report.ok = false;
    else if (verified !== null && options.recordSnapshot !== false) {
      await recordSnapshot(db, chain, verified);
    }
  }
  report.elapsedMs = Math.round(performance.now() - startedMs);
  return report;
}
