/**
 * The one error shape the API answers with: `{"error":{"code","message","field?","line?"}}`.
 * Domain errors (journal, account, ledger, events) are translated to it in ./error-mapping.ts;
 * nothing else reaches a client, so every failure has a stable code.
 */
export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    field?: string;
    line?: number;
    [extra: string]: unknown;
  };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field?: string; line?: number; [extra: string]: unknown } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}
