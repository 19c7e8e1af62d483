/**
 * The hash chain's rule and its exact byte encoding. Everything that writes or verifies
 * `ledger_event` hashes goes through the two functions here.
 *
 * ## Which chain, which order
 *
 * One chain per Kafka (topic, partition), named `'<topic>/<partition>'`. Events enter their chain
 * in Kafka offset order, which is the same on every rebuild (Kafka keeps the log forever), so a
 * rebuild from the topic assigns the same positions and computes the same hashes. A partition is
 * owned by one projection worker at a time and the runner fences its checkpoint; the batch also
 * locks the chain's `ledger_chain_head` row (`SELECT … FOR UPDATE`), so two workers can never
 * assign the same position even while a rebalance hands the partition over.
 *
 * Positions are 1, 2, 3, … without gaps. A duplicate event id (a republished outcome) is skipped,
 * not appended: the first occurrence in offset order wins, on every rebuild alike.
 *
 * ## Event hash (version 1)
 *
 * event_hash = SHA-256 of the concatenation of, in this order:
 *
 * | field          | encoding                                                       |
 * |----------------|----------------------------------------------------------------|
 * | domain         | bytes('ledger-bridge/event/v1'), length-prefixed               |
 * | chain          | UTF-8, length-prefixed                                         |
 * | position       | u64 big-endian (8 bytes)                                       |
 * | previous_hash  | 32 bytes as they are (genesis: 32 zero bytes)                  |
 * | event_id       | UTF-8, length-prefixed                                         |
 * | occurred_at    | u64 big-endian: the event's `occurredAt`, TigerBeetle ns       |
 * | payload        | `serializeOutcomeEvent(event)` bytes, length-prefixed          |
 *
 * "Length-prefixed" is a u32 big-endian byte count followed by the bytes, so no two different
 * field tuples encode to the same bytes. The payload is stored as it was hashed (bytea), so the
 * hash can be recomputed from the row alone.
 *
 * ## Block hash (version 1)
 *
 * Every `blockSize` events (positions (k-1)·N+1 … k·N for block k when N never changed) a
 * checkpoint row holds SHA-256 of: bytes('ledger-bridge/block/v1') length-prefixed, chain
 * length-prefixed, u64 block_number, u64 first_position, u64 last_position, then the 32-byte
 * event hashes of positions first … last in order.
 */
import { assert, InvariantError } from '../../../core/assert';
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;
/** The previous_hash of position 1. */
export const GENESIS_HASH: Buffer = Buffer.alloc(HASH_BYTES);

const EVENT_DOMAIN = Buffer.from('ledger-bridge/event/v1', 'utf8');
const BLOCK_DOMAIN = Buffer.from('ledger-bridge/block/v1', 'utf8');
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffff;

/** The id under which a ledger change event is chained: TigerBeetle timestamps are unique. */
export function changeEventId(timestamp: bigint | string): string {
  return `tb:${timestamp}`;
}

export function chainOf(topic: string, partition: number): string {
  if (!Number.isInteger(partition) || partition < 0) {
    throw new InvariantError(`partition ${partition} is not a non-negative integer`);
  }
  return `${topic}/${partition}`;
}

export interface ChainedEvent {
  chain: string;
  position: bigint;
  previousHash: Buffer;
  eventId: string;
  /** TigerBeetle timestamp, u64 ns. */
  occurredAtNs: bigint;
  payload: Buffer;
}

function u64(value: bigint, what: string): Buffer {
  assert(!(value < 0n || value > U64_MAX), `${what} ${value} is not a u64`);
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
}

function lengthPrefix(length: number): Buffer {
  assert(!(length > U32_MAX), `field of ${length} bytes exceeds u32`);
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(length);
  return bytes;
}

function assertHash(hash: Buffer, what: string): void {
  if (hash.length !== HASH_BYTES) {
    throw new InvariantError(`${what} has ${hash.length} bytes, not ${HASH_BYTES}`);
  }
}

export function eventHash(event: ChainedEvent): Buffer {
  assertHash(event.previousHash, 'previous_hash');
  const chain = Buffer.from(event.chain, 'utf8');
  const eventId = Buffer.from(event.eventId, 'utf8');
  return createHash('sha256')
    .update(lengthPrefix(EVENT_DOMAIN.length))
    .update(EVENT_DOMAIN)
    .update(lengthPrefix(chain.length))
    .update(chain)
    .update(u64(event.position, 'position'))
    .update(event.previousHash)
    .update(lengthPrefix(eventId.length))
    .update(eventId)
    .update(u64(event.occurredAtNs, 'occurred_at'))
    .update(lengthPrefix(event.payload.length))
    .update(event.payload)
    .digest();
}

export interface Block {
  chain: string;
  blockNumber: bigint;
  firstPosition: bigint;
  lastPosition: bigint;
}

/** `hashes` are the event hashes of positions first … last, in order. */
export function blockHash(block: Block, hashes: readonly Buffer[]): Buffer {
  const count = block.lastPosition - block.firstPosition + 1n;
  if (count < 1n || BigInt(hashes.length) !== count) {
    throw new InvariantError(
      `block ${block.blockNumber} of ${block.chain} spans ${count} positions ` +
        `but ${hashes.length} hashes were given`,
    );
  }
  const chain = Buffer.from(block.chain, 'utf8');
  const hash = createHash('sha256')
    .update(lengthPrefix(BLOCK_DOMAIN.length))
    .update(BLOCK_DOMAIN)
    .update(lengthPrefix(chain.length))
    .update(chain)
    .update(u64(block.blockNumber, 'block_number'))
    .update(u64(block.firstPosition, 'first_position'))
    .update(u64(block.lastPosition, 'last_position'));
  for (const each of hashes) {
    assertHash(each, 'event_hash');
    hash.update(each);
  }
  return hash.digest();
}

/** The partition key: TigerBeetle ns → an ISO timestamp truncated to microseconds, UTC. */
export function nsToTimestamp(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const micros = (ns / 1_000n) % 1_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2025-11-21T04:26:40.000Z
  return `${iso.slice(0, -1)}${micros.toString().padStart(3, '0')}Z`;
}
