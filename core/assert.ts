/**
 * The one way to state an invariant: a condition our own code guarantees. When it fails the
 * process has a bug, not a client mistake (those are ServiceError values, ./errors.ts), so it
 * throws loudly and callers never catch it to carry on; the API answers 500 `internal_error`.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
  constructor(message: string) {
    super(`invariant: ${message}`);
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === 'string' ? message : message());
  }
}
