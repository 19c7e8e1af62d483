/**
 * The one error shape the API answers with: `{"error":{"code","message","field?","line?"}}`.
 * Domain errors (journal, account, ledger, events) are translated to it in ./error-mapping.ts;
 * nothing else reaches a client, so every failure has a stable code.
 */
import { ServiceError } from '../../../core/errors';

export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    field?: string;
    line?: number;
    [extra: string]: unknown;
  };
}

/** An HTTP-level refusal (body, media type, route, query) with its status and code. */
export class ApiError extends ServiceError {
  override readonly name = 'ApiError';
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    private readonly facts: { field?: string; line?: number; [extra: string]: unknown } = {},
    private readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message, { field: facts.field, line: facts.line });
  }

  override details(): Readonly<Record<string, unknown>> {
    return this.facts;
  }

  override headers(): Record<string, string> {
    return { ...super.headers(), ...this.extraHeaders };
  }

  body(): ApiErrorBody {
    return this.toBody() as ApiErrorBody;
  }
}
