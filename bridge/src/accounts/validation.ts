/**
 * The shape of a create-account request, checked with zod; the HTTP layer reuses the schema.
 * Whether the asset and account type exist is the registry's question (422), not this one's (400).
 * Metadata is free-form JSON, so its nesting and key count are bounded first, without recursion
 * (core/json-tree.ts), before zod's recursive z.json() sees it.
 */
import { z } from 'zod';
import { findJsonTreeProblem, type JsonTreeLimits } from '../../../core/json-tree';
import { isStorableJson, isStorableText, STORABLE_TEXT_RULE } from '../../../core/text';
import { jsonTreeError } from '../http/edge-errors';
import { AccountError } from './errors';

/** Same alphabet and length as journal ids. */
export const ACCOUNT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CODE = /^[A-Za-z0-9_]{1,32}$/;
/** Free-form metadata is for labels, not documents: at most this many bytes of JSON. */
export const METADATA_BYTES_MAX = 4_096;
/**
 * ... and at most this deep and this many keys and array items in all, checked first: the byte
 * bound is checked by zod after z.json() has walked the value recursively, and 4 KiB of JSON still
 * holds ~2,000 array items or ~2,000 levels of `[`.
 */
export const METADATA_LIMITS: JsonTreeLimits = { depthMax: 32, keysMax: 1_000 };

/** Text PostgreSQL stores as given (core/text.ts). */
const text = (max: number) => z.string().min(1).max(max).refine(isStorableText, STORABLE_TEXT_RULE);

export const accountIdSchema = z
  .string()
  .regex(ACCOUNT_ID, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');

export const createAccountSchema = z.strictObject({
  accountId: accountIdSchema,
  name: text(200),
  holderId: text(128),
  accountType: z.string().regex(CODE, 'must be an account type code'),
  asset: z.string().regex(CODE, 'must be an asset code'),
  flags: z
    .strictObject({
      mustNotGoNegative: z.boolean().optional(),
      history: z.boolean().optional(),
    })
    .optional(),
  metadata: z
    .record(z.string().min(1).max(64), z.json())
    .refine(
      (value) => Buffer.byteLength(JSON.stringify(value), 'utf8') <= METADATA_BYTES_MAX,
      `must be at most ${METADATA_BYTES_MAX} bytes of JSON`,
    )
    .refine(isStorableJson, STORABLE_TEXT_RULE)
    .optional(),
});

export type CreateAccountInput = z.infer<typeof createAccountSchema>;

/**
 * A 400 `invalid_input` for the first issue, always naming a field: an unknown key is named
 * itself (`flags.linked`), a body that is not an object is `body`.
 */
export function invalidInput(error: z.ZodError, input: unknown): AccountError {
  const issue = error.issues[0];
  if (issue === undefined) return new AccountError('invalid_input', 'body: invalid input', 'body');
  const unknownKey = issue.code === 'unrecognized_keys';
  const path = unknownKey ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const field = path.length === 0 ? 'body' : path.map(String).join('.');
  const message = unknownKey
    ? 'is not a field of this request'
    : isAbsent(input, path)
      ? 'is required'
      : issue.message;
  return new AccountError('invalid_input', `${field}: ${message}`, field);
}

/** True when the input has nothing at `path` (zod's own message would say "received undefined"). */
function isAbsent(input: unknown, path: readonly PropertyKey[]): boolean {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return true;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value === undefined;
}

export function parseCreateAccount(input: unknown): CreateAccountInput {
  if (typeof input === 'object' && input !== null && Object.hasOwn(input, 'metadata')) {
    const metadata = (input as { metadata: unknown }).metadata;
    const problem = findJsonTreeProblem(metadata, METADATA_LIMITS);
    if (problem !== null) throw jsonTreeError(problem, ['metadata'], METADATA_LIMITS);
  }
  const parsed = createAccountSchema.safeParse(input);
  if (!parsed.success) throw invalidInput(parsed.error, input);
  return parsed.data;
}

export function parseAccountId(accountId: unknown): string {
  const parsed = accountIdSchema.safeParse(accountId);
  if (!parsed.success) {
    throw new AccountError(
      'invalid_input',
      `accountId: ${parsed.error.issues[0]?.message}`,
      'accountId',
    );
  }
  return parsed.data;
}
