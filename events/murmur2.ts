/**
 * Kafka's key hash, murmur2 as the Java client computes it (`Utils.murmur2`, seed 0x9747b28c), and
 * the default partitioner's use of it: `toPositive(murmur2(utf8(key))) % partitions`. Every Kafka
 * client that keys by journal id must agree on it, so a journal's events land on one partition
 * whichever client wrote them.
 *
 * Why not kafkajs's: it computes in 64-bit `Long` objects, about 4% of the bridge's CPU under bulk
 * load (a hash per journal). Math.imul is the exact 32-bit product Java's int arithmetic gives.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** murmur2 of a key's UTF-8 bytes, as a Java int (signed 32-bit). */
export function murmur2(key: string): number {
  return murmur2Bytes(isAscii(key) ? asciiBytes(key) : Buffer.from(key, 'utf8'));
}

/** The partition of `key` among `partitions`, as Kafka's default partitioner chooses it. */
export function kafkaPartitionOf(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

function murmur2Bytes(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

// Journal ids are ASCII: their bytes are their char codes, without a Buffer per key.
const scratch = new Uint8Array(256);

function isAscii(key: string): boolean {
  if (key.length > scratch.length) return false;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return false;
  return true;
}

function asciiBytes(key: string): Uint8Array {
  for (let i = 0; i < key.length; i++) scratch[i] = key.charCodeAt(i);
  return scratch.subarray(0, key.length);
}
