/**
 * A hash index from u128 ids to dense ordinals (0, 1, 2, ... in insertion order).
 *
 * The state machine looks up every transfer id, its two account ids and (when a transfer is
 * posted or voided) its pending id, so this lookup is the hottest code in the engine. A JS `Map`
 * keyed by bigint measured ~300 ns per lookup at two million entries and is capped at 2^24
 * entries; this table measured ~90 ns and has no such cap. It keeps ids as four 32-bit words in a
 * typed array (16 bytes per id, invisible to the garbage collector) and probes linearly over
 * (ordinal + 1, hash) pairs, so a miss — the common case for a new transfer id — costs one cache
 * line and no bigint allocation for ids below 2^64.
 *
 * Removal is last-in-first-out only (`removeLast`), which is all a linked-chain rollback needs.
 */
import { U64_MAX } from '../port';

// Shared scratch space to split a bigint into 32-bit words without allocating. Safe because the
// engine is single-threaded and no caller holds words across another index's call.
const scratch64 = new BigUint64Array(2);
const scratch32 = new Uint32Array(scratch64.buffer);

// Keep the table at most half full so that linear probes stay short.
const LOAD_NUMERATOR = 1;
const LOAD_DENOMINATOR = 2;
const SLOTS_MIN = 16;
const KEYS_MIN = 16;

function mix(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ (w0 >>> 16), 0x85ebca6b) ^ w1;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ w2;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ w3;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Loads `id` into the scratch words and returns their hash. */
function load(id: bigint): number {
  scratch64[0] = id; // ToBigUint64: the low 64 bits.
  scratch64[1] = id > U64_MAX ? id >> 64n : 0n;
  return mix(scratch32[0]!, scratch32[1]!, scratch32[2]!, scratch32[3]!);
}

export class IdIndex {
  /** Ids by ordinal, four 32-bit words each; a 64-bit view of the same memory for bigints. */
  private keys = new Uint32Array(KEYS_MIN * 4);
  private keys64 = new BigUint64Array(this.keys.buffer);
  /** Open addressing: per slot, (ordinal + 1) or 0 when empty, then the id's hash. */
  private slots = new Int32Array(SLOTS_MIN * 2);
  private mask = SLOTS_MIN - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The ordinal of `id`, or -1. */
  get(id: bigint): number {
    const h = load(id);
    const w0 = scratch32[0]!;
    const w1 = scratch32[1]!;
    const w2 = scratch32[2]!;
    const w3 = scratch32[3]!;
    const slots = this.slots;
    const keys = this.keys;
    const mask = this.mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const entry = slots[s * 2]!;
      if (entry === 0) return -1;
      if (slots[s * 2 + 1] === h) {
        const k = (entry - 1) * 4;
        if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) {
          return entry - 1;
        }
      }
    }
  }

  /** Adds `id`, which must be absent, and returns its ordinal (the previous size). */
  add(id: bigint): number {
    const ordinal = this.count;
    if ((ordinal + 1) * LOAD_DENOMINATOR > (this.mask + 1) * LOAD_NUMERATOR) this.growSlots();
    if (ordinal * 4 === this.keys.length) this.growKeys();
    const h = load(id);
    const k = ordinal * 4;
    this.keys[k] = scratch32[0]!;
    this.keys[k + 1] = scratch32[1]!;
    this.keys[k + 2] = scratch32[2]!;
    this.keys[k + 3] = scratch32[3]!;
    this.place(ordinal, h);
    this.count = ordinal + 1;
    return ordinal;
  }

  /** The id with this ordinal. */
  keyAt(ordinal: number): bigint {
    if (ordinal < 0 || ordinal >= this.count) throw new Error(`IdIndex: no ordinal ${ordinal}`);
    const lo = this.keys64[ordinal * 2]!;
    const hi = this.keys64[ordinal * 2 + 1]!;
    return hi === 0n ? lo : (hi << 64n) | lo;
  }

  /** Removes the most recently added id (rollback of a linked chain). */
  removeLast(): void {
    if (this.count === 0) throw new Error('IdIndex: removeLast on an empty index');
    const ordinal = this.count - 1;
    const slots = this.slots;
    const mask = this.mask;
    let s = this.hashAt(ordinal) & mask;
    while (slots[s * 2] !== ordinal + 1) {
      if (slots[s * 2] === 0) throw new Error('IdIndex: last id is not in the table');
      s = (s + 1) & mask;
    }
    // Backward-shift deletion: pull later members of the probe run into the hole so that every
    // remaining id stays reachable from its home slot without tombstones.
    let hole = s;
    for (let j = (s + 1) & mask; slots[j * 2] !== 0; j = (j + 1) & mask) {
      const home = slots[j * 2 + 1]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        slots[hole * 2] = slots[j * 2]!;
        slots[hole * 2 + 1] = slots[j * 2 + 1]!;
        hole = j;
      }
    }
    slots[hole * 2] = 0;
    slots[hole * 2 + 1] = 0;
    this.count = ordinal;
  }

  private hashAt(ordinal: number): number {
    const k = ordinal * 4;
    const keys = this.keys;
    return mix(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!);
  }

  private place(ordinal: number, h: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let s = h & mask;
    while (slots[s * 2] !== 0) s = (s + 1) & mask;
    slots[s * 2] = ordinal + 1;
    slots[s * 2 + 1] = h;
  }

  private growSlots(): void {
    const capacity = (this.mask + 1) * 2;
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity - 1;
    for (let ordinal = 0; ordinal < this.count; ordinal++) {
      this.place(ordinal, this.hashAt(ordinal));
    }
  }

  private growKeys(): void {
    const keys = new Uint32Array(this.keys.length * 2);
    keys.set(this.keys);
    this.keys = keys;
    this.keys64 = new BigUint64Array(keys.buffer);
  }
}
