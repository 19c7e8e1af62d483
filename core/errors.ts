/**
 * The one base of every error a client is answered with: a stable `code`, the HTTP status it
 * answers with, and where there is one the offending `field` (JSON path, e.g. `lines[2].amount`)
 * and journal `line` (its lineNumber). Input checks and business outcomes throw these; a broken
 * invariant is an `assert` (./assert.ts) and answers 500 `internal_error`, never one of these.
 */

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

export interface ErrorWhere {
  field?: string;
  line?: number;
}

export abstract class ServiceError extends Error {
  abstract readonly code: string;
  abstract readonly httpStatus: number;
  readonly field?: string;
  readonly line?: number;

  constructor(message: string, where: ErrorWhere = {}) {
    super(message);
    if (where.field !== undefined) this.field = where.field;
    if (where.line !== undefined) this.line = where.line;
  }

  /** Extra facts of the answer, beside code, message, field and line (which they never replace). */
  details(): Readonly<Record<string, unknown>> {
    return {};
  }

  /** Response headers: a 503 says when to retry (the request is safe to retry as it is). */
  headers(): Record<string, string> {
    return this.httpStatus === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {};
  }

  /** The API's error body: `{error: {code, message, field?, line?, ...details}}`. */
  toBody(): { error: Record<string, unknown> } {
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.line !== undefined) error.line = this.line;
    for (const [key, value] of Object.entries(this.details())) {
      if (!(key in error)) error[key] = value;
    }
    return { error };
  }
}
