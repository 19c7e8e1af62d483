/**
 * The one seed variable of every seeded test: `SEED=<n> npx jest <file>` replays a run. Each
 * seeded test puts `replay(seed)` in its name, so a failure's report carries its replay line.
 */
export function testSeed(fallback: number): number {
  const given = process.env.SEED;
  if (given === undefined || given === '') return fallback;
  const seed = Number.parseInt(given, 10);
  if (!Number.isSafeInteger(seed)) throw new Error(`SEED=${given} is not an integer`);
  return seed;
}

/** A random seed when SEED is unset, for tests that explore a new case every run. */
export function freshSeed(): number {
  return testSeed((Date.now() ^ Math.floor(Math.random() * 0x7fff_ffff)) | 0);
}

export function replay(seed: number): string {
  return `[replay: SEED=${seed}]`;
}
