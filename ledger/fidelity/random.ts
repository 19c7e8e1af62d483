/**
 * The fuzzer's only source of randomness for what it sends: sfc32, a small counter-based PRNG,
 * seeded with a u32. The same seed generates the same batches on every machine, so a divergence
 * replays from its seed alone. (Run-unique ids and ledger numbers come from node:crypto instead:
 * they must differ between replays on a shared cluster.)
 */
const WARM_UP_ROUNDS = 16;

export class Random {
  private a = 0x9e37_79b9;
  private b = 0x243f_6a88;
  private c = 0xb7e1_5162;
  private d: number;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
      throw new Error(`seed must be a u32, got ${seed}`);
    }
    this.d = seed >>> 0;
    for (let i = 0; i < WARM_UP_ROUNDS; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Random.int: bad bound ${n}`);
    return Math.floor(this.fraction() * n);
  }

  /** A uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** A uniform number in [0, 1). */
  fraction(): number {
    return this.u32() / 0x1_0000_0000;
  }

  chance(p: number): boolean {
    return this.fraction() < p;
  }

  pick<T>(xs: readonly T[]): T {
    const x = xs[this.int(xs.length)];
    if (x === undefined) throw new Error('Random.pick: empty list');
    return x;
  }

  /** One of `pairs`' values, with probability proportional to its weight. */
  weighted<T>(pairs: readonly (readonly [number, T])[]): T {
    const total = pairs.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.fraction() * total;
    for (const [weight, value] of pairs) {
      roll -= weight;
      if (roll < 0) return value;
    }
    const last = pairs[pairs.length - 1];
    if (last === undefined) throw new Error('Random.weighted: no choices');
    return last[1];
  }

  /** A uniform bigint of `bits` bits (a multiple of 32). */
  bits(bits: number): bigint {
    let value = 0n;
    for (let i = 0; i < bits; i += 32) value = (value << 32n) | BigInt(this.u32());
    return value;
  }
}
