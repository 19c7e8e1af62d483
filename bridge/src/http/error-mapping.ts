/**
 * Every error that can leave a route, translated to the API's one error shape. Domain errors
 * carry their own status and code; infrastructure failures become 503 with Retry-After (the
 * request is safe to retry as is: journal and account writes are idempotent). Anything else is a
 * bug: 500 with a stable code, logged with its stack by the caller.
 */
import { AccountError } from '../accounts/errors';
import { EventPublishError } from '../events/errors';
import { JournalError } from '../journal/errors';
import { BatcherError } from '../ledger/batcher';
import { LedgerError, type LedgerErrorCode } from '../ledger/port';
import { isStoreUnavailable } from '../store/errors';
import { ApiError } from './api-error';

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

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
  if (error instanceof ApiError) return answer(error.status, error.body(), error.headers);
  if (error instanceof JournalError) return answer(error.httpStatus, error.toBody());
  if (error instanceof AccountError) {
    const body = { error: { code: error.code, message: error.message } as Record<string, unknown> };
    if (error.field !== undefined) body.error.field = error.field;
    if (error.ledgerStatus !== undefined) body.error.status = error.ledgerStatus;
    const unexpected = error.http >= 500 && error.http !== 503;
    return { ...answer(error.http, body, error.http === 503 ? retry : {}), unexpected };
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
