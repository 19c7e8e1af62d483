/**
 * The access refusals: a closed set of stable codes, each with its status. Every answer names
 * `authorization` as the field (the header that decides), and says what would be accepted.
 */
import { ApiError } from '../http/api-error';

export type AccessErrorCode =
  'key_missing' | 'key_invalid' | 'scope_missing' | 'key_restricted' | 'rate_limited';

export const ACCESS_ERRORS: Readonly<
  Record<AccessErrorCode, { httpStatus: 401 | 403 | 429; message: string }>
> = {
  key_missing: {
    httpStatus: 401,
    message: 'this route needs an API key: send Authorization: Bearer <key>',
  },
  key_invalid: {
    httpStatus: 401,
    message: 'the API key is malformed, unknown, revoked or expired',
  },
  scope_missing: { httpStatus: 403, message: "the API key lacks this route's scope" },
  key_restricted: {
    httpStatus: 403,
    message: 'the API key is restricted to other assets or holders',
  },
  rate_limited: { httpStatus: 429, message: "the API key's rate limit for this scope is spent" },
};

export const ACCESS_ERROR_CODES = Object.keys(ACCESS_ERRORS) as AccessErrorCode[];

/** RFC 6750 §3: a 401 says which scheme to use. */
const CHALLENGE = { 'www-authenticate': 'Bearer realm="ledger-bridge"' };

export function accessError(
  code: AccessErrorCode,
  facts: { field?: string; [extra: string]: unknown } = {},
  message: string = ACCESS_ERRORS[code].message,
  headers: Record<string, string> = {},
): ApiError {
  const { httpStatus } = ACCESS_ERRORS[code];
  const challenge =
    httpStatus === 401
      ? CHALLENGE
      : code === 'scope_missing'
        ? {
            'www-authenticate': `Bearer realm="ledger-bridge", error="insufficient_scope", scope="${String(facts.scope)}"`,
          }
        : {};
  return new ApiError(
    httpStatus,
    code,
    message,
    { field: 'authorization', ...facts },
    { ...challenge, ...headers },
  );
}
