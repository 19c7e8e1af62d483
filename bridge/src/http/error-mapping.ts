/**
 * Every error that can leave a route, translated to the API's one error shape. Domain errors
 * (core/errors.ts ServiceError: journal, account, HTTP refusals) carry their own status and code; infrastructure failures become 503 with Retry-After (the
 * request is safe to retry as is: journal and account writes are idempotent). Anything else is a
 * bug: 500 with a stable code, logged with its stack by the caller.
 */
import { RETRY_AFTER_SECONDS, ServiceError } from '../../../core/errors';
import { EventPublishError } from '../../../events/errors';
import { isStoreUnavailable } from '../../../core/postgres/errors';
import { BatcherError } from '../../../ledger/batcher';
import { LedgerError, type LedgerErrorCode } from '../../../ledger/port';

export { RETRY_AFTER_SECONDS };

const retry = { 'retry-after': String(RETRY_AFTER_SECONDS) };

const LEDGER_ERRORS: Record<LedgerErrorCode, { status: number; code: string }> = {
  too_much_data: { status: 413, code: 'batch_too_large' },
  invalid_event: { status: 400, code: 'invalid_transfer' },
  closed: { status: 503, code: 'shutting_down' },
  unavailable: { status: 503, code: 'ledger_unavailable' },
};

export interface ErrorAnswer {
  status: number;
  body: { error: Record<string, unknown> };
  headers: Record<string, string>;
  /** True when the error is not an expected outcome and deserves a stack trace in the log. */
  unexpected: boolean;
}

export function toErrorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof ServiceError) {
    const status = error.httpStatus;
    // A 500 a domain chose (a ledger refusing what the bridge built) is a bug worth its stack.
    const unexpected = status >= 500 && status !== 503;
    return { ...answer(status, error.toBody(), error.headers()), unexpected };
  }
  if (error instanceof LedgerError) {
    const { status, code } = LEDGER_ERRORS[error.code];
    const body = { error: { code, message: error.message } as Record<string, unknown> };
    if (error.eventIndex !== undefined) body.error.index = error.eventIndex;
    return answer(status, body, status === 503 ? retry : {});
  }
  if (error instanceof BatcherError) {
    const code = error.code === 'overloaded' ? 'overloaded' : 'shutting_down';
    return answer(503, { error: { code, message: error.message } }, retry);
  }
  if (error instanceof EventPublishError) {
    return answer(503, { error: { code: 'events_unavailable', message: error.message } }, retry);
  }
  if (isStoreUnavailable(error)) {
    const message = 'the database is unreachable; retry later';
    return answer(503, { error: { code: 'store_unavailable', message } }, retry);
  }
  return {
    ...answer(500, { error: { code: 'internal_error', message: 'internal error' } }),
    unexpected: true,
  };
}

function answer(
  status: number,
  body: { error: Record<string, unknown> },
  headers: Record<string, string> = {},
): ErrorAnswer {
  return { status, body, headers, unexpected: false };
}
