/**
 * Why the batcher refused a submission, or found the ledger broken: typed, with stable codes
 * (bridge/src/http/error-mapping.ts answers them). Re-exported by ./batcher.ts.
 */
export type BatcherErrorCode = 'overloaded' | 'draining';

/** Why the batcher refused a chain without sending it; the chain may be retried as is. */
export abstract class BatcherError extends Error {
  abstract readonly code: BatcherErrorCode;
}

/** The queue is full: the ledger is not keeping up. Answer 503 with Retry-After. */
export class BatcherOverloadedError extends BatcherError {
  override readonly name = 'BatcherOverloadedError';
  readonly code = 'overloaded';
  constructor(
    readonly queuedEvents: number,
    readonly queueEventsMax: number,
  ) {
    super(`ledger batcher overloaded: ${queuedEvents} transfers queued of ${queueEventsMax}`);
  }
}

/** The batcher is draining for shutdown. Answer 503 (another instance can take the retry). */
export class BatcherDrainingError extends BatcherError {
  override readonly name = 'BatcherDrainingError';
  readonly code = 'draining';
  constructor() {
    super('ledger batcher is draining for shutdown');
  }
}

/** The ledger broke its contract (e.g. a result count that does not match the request). */
export class LedgerInvariantError extends Error {
  override readonly name = 'LedgerInvariantError';
}
