/**
 * The shapes of the admin requests that create an asset or an account type, checked with zod.
 * The formats are the registry tables' own CHECK constraints (0001_control_plane.up.sql), so a
 * request that passes here is one PostgreSQL stores; the numeric bounds are the narrower of
 * TigerBeetle's field and the column that holds it.
 */
import { z } from 'zod';
import { isStorableText, STORABLE_TEXT_RULE } from '../../../core/text';
import {
  type AccountType,
  type Asset,
  DEFAULT_FLAG_BITS,
  type DefaultFlags,
  encodeDefaultFlags,
} from './model';
import { invalidInput } from './validation';

export const ASSET_CODE = /^[A-Z][A-Z0-9]{1,11}$/;
export const ACCOUNT_TYPE_CODE = /^[a-z][a-z0-9_]{0,31}$/;
/** TigerBeetle's ledger is a u32, but asset.ledger is a PostgreSQL integer (i32). */
export const ASSET_LEDGER_MAX = 2_147_483_647;
export const ASSET_SCALE_MAX = 18;
/** TigerBeetle's account code is a u16, but account_type.tb_code is a smallint (i16). */
export const TB_CODE_MAX = 32_767;
/** Names and descriptions, as the tables bound them. */
export const REGISTRY_TEXT_LENGTH_MAX = 200;

const text = z
  .string()
  .min(1, `must be 1-${REGISTRY_TEXT_LENGTH_MAX} characters`)
  .max(REGISTRY_TEXT_LENGTH_MAX, `must be 1-${REGISTRY_TEXT_LENGTH_MAX} characters`)
  .refine(isStorableText, STORABLE_TEXT_RULE);

function integer(min: number, max: number) {
  const rule = `must be an integer from ${min} to ${max}`;
  return z.number(rule).int(rule).min(min, rule).max(max, rule);
}

export const createAssetSchema = z.strictObject({
  code: z
    .string()
    .regex(ASSET_CODE, 'must be 2-12 characters of A-Z and 0-9, starting with a letter'),
  ledger: integer(1, ASSET_LEDGER_MAX),
  scale: integer(0, ASSET_SCALE_MAX),
  name: text,
});

const flag = z.boolean('must be true or false').optional();

export const createAccountTypeSchema = z.strictObject({
  code: z
    .string()
    .regex(ACCOUNT_TYPE_CODE, 'must be 1-32 characters of a-z, 0-9 and _, starting with a letter'),
  normalSide: z.enum(['DEBIT', 'CREDIT'], 'must be DEBIT or CREDIT'),
  tbCode: integer(1, TB_CODE_MAX),
  defaultFlags: z
    .strictObject({
      debitsMustNotExceedCredits: flag,
      creditsMustNotExceedDebits: flag,
      history: flag,
    } satisfies Record<keyof typeof DEFAULT_FLAG_BITS, unknown>)
    // TigerBeetle refuses both limits on one account (flags_are_mutually_exclusive).
    .refine(
      (flags) => !(flags.debitsMustNotExceedCredits && flags.creditsMustNotExceedDebits),
      'debitsMustNotExceedCredits and creditsMustNotExceedDebits exclude each other',
    )
    .optional(),
  description: text,
});

export function parseCreateAsset(input: unknown): Asset {
  const parsed = createAssetSchema.safeParse(input);
  if (!parsed.success) throw invalidInput(parsed.error, input);
  return parsed.data;
}

/** The account type a request asks for, its default flags as TigerBeetle's bits. */
export function parseCreateAccountType(input: unknown): AccountType {
  const parsed = createAccountTypeSchema.safeParse(input);
  if (!parsed.success) throw invalidInput(parsed.error, input);
  const { defaultFlags, ...rest } = parsed.data;
  return { ...rest, defaultFlags: encodeDefaultFlags(defaultFlags as Partial<DefaultFlags>) };
}
