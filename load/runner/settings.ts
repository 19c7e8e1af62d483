/**
 * The runner's own settings from the environment, checked before anything starts: a bad value is a
 * UsageError naming the variable (exit status 2), never a NaN that fails later somewhere else.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Runs a command's `main`: exits with the status it returns (none: when its work is done), 2 with
 * the message alone for a UsageError, 1 with the error for anything else.
 */
export function runCommand(main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exit(code);
    },
    (error: unknown) => {
      console.error(error instanceof UsageError ? error.message : error);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}

/** An integer in [min, max] from `name`, or `fallback` when unset. */
export function envInt(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** A comma-separated list of integers in [min, max] from `name`, or `fallback` when unset. */
export function envInts(name: string, fallback: number[], min: number, max: number): number[] {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const values = text.split(',').map((item) => Number(item.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < min || v > max)) {
    throw new UsageError(`${name} must list integers from ${min} to ${max}, got "${text}"`);
  }
  return values;
}

/** One of `choices` from `name`, or the first choice when unset. */
export function envChoice<T extends string>(name: string, choices: readonly T[]): T {
  const text = process.env[name];
  if (text === undefined || text === '') return choices[0]!;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`${name} is one of ${choices.join(', ')}, got "${text}"`);
  }
  return text as T;
}
