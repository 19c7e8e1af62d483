/**
 * The contract of the account rooms: accounts, the asset and account-type registry, balances
 * through the cache, and statements.
 */
import { z } from 'zod';
import { accountIdSchema, createAccountSchema } from '../accounts/validation';
import { createAccountTypeSchema, createAssetSchema } from '../accounts/registry-validation';
import { BALANCE_TOKEN_QUERY } from '../balances/token';
import { STATEMENT_LIMIT_DEFAULT, STATEMENT_LIMIT_MAX } from '../statements/routes';
import { CONSISTENCY_HEADER, CONSISTENCY_QUERY } from './operations-journal';
import { CONSISTENT_READ, TENANT, UNAVAILABLE, account, other } from './errors';
import { ACCOUNT_EXAMPLES, EXAMPLE_CASH } from './examples';
import type { Operation, Param } from './operation';
import {
  AccountSchema,
  AccountWithBalance,
  BalanceToken,
  CacheLevel,
  CachedBalance,
  StatementPage,
} from './schemas';

const accountPath: Record<string, Param> = {
  accountId: { schema: accountIdSchema, description: 'the account', example: EXAMPLE_CASH },
};

/** bridge/src/accounts/registry-admin.ts assetJson */
const AssetSchema = z.strictObject({
  code: z.string(),
  ledger: z.int().min(1).max(0xffff_ffff),
  scale: z.int().min(0).max(18),
  name: z.string(),
});

/** bridge/src/accounts/registry-admin.ts accountTypeJson */
const AccountTypeSchema = z.strictObject({
  code: z.string(),
  normalSide: z.enum(['DEBIT', 'CREDIT']),
  tbCode: z.int().min(1).max(0xffff),
  defaultFlags: z.strictObject({
    debitsMustNotExceedCredits: z.boolean(),
    creditsMustNotExceedDebits: z.boolean(),
    history: z.boolean(),
  }),
  tbDefaultFlags: z.int().min(0).max(0xffff).describe("TigerBeetle's AccountFlags bits"),
  description: z.string(),
});

const created = (what: string, schema: z.ZodType) => ({
  201: { description: `${what} created`, schema },
  200: { description: `${what} already existed with the same content`, schema },
});

const REGISTRY_WRITE_ERRORS = [account('invalid_input'), other('store_unavailable')];

export const ACCOUNT_OPERATIONS: readonly Operation[] = [
  {
    method: 'POST',
    pattern: '/api/accounts',
    access: { scope: 'accounts:write' },
    id: 'createAccount',
    tag: 'Accounts',
    summary: 'Create an account (idempotent on accountId)',
    description:
      'Metadata in PostgreSQL, the account itself in the ledger. The same request again ' +
      'answers 200 with the stored account; other content under the same id is a 409 naming ' +
      'the first `field` that differs.',
    body: { schema: createAccountSchema, required: true, examples: ACCOUNT_EXAMPLES },
    responses: created('the account', AccountSchema),
    errors: [
      account('invalid_input'),
      account('account_conflict'),
      account('unknown_asset'),
      account('unknown_account_type'),
      account('ledger_rejected'),
      ...TENANT,
      ...UNAVAILABLE,
    ],
  },
  {
    method: 'GET',
    pattern: '/api/accounts/:accountId',
    access: { scope: 'accounts:read' },
    id: 'getAccount',
    tag: 'Accounts',
    summary: 'An account: metadata and balance',
    params: accountPath,
    responses: { 200: { description: 'the account', schema: AccountWithBalance } },
    errors: [
      account('invalid_input'),
      account('account_not_found'),
      other('account_incomplete'),
      ...TENANT,
      ...UNAVAILABLE,
    ],
  },
  {
    method: 'GET',
    pattern: '/api/assets',
    access: { scope: 'accounts:read' },
    id: 'listAssets',
    tag: 'Registry',
    summary: 'Every asset, by code',
    responses: {
      200: { description: 'the assets', schema: z.strictObject({ assets: z.array(AssetSchema) }) },
    },
    errors: [other('store_unavailable')],
  },
  {
    method: 'POST',
    pattern: '/api/assets',
    access: { scope: 'registry:write' },
    id: 'createAsset',
    tag: 'Registry',
    summary: 'Create an asset (idempotent by content)',
    description:
      'The same code with other content is a 409 naming the first `field` that differs, with ' +
      'the stored asset as `existing`; a ledger another asset has is a 409 naming it (`usedBy`).',
    body: { schema: createAssetSchema, required: true },
    responses: created('the asset', AssetSchema),
    errors: [...REGISTRY_WRITE_ERRORS, account('asset_conflict'), account('ledger_in_use')],
  },
  {
    method: 'GET',
    pattern: '/api/account-types',
    access: { scope: 'accounts:read' },
    id: 'listAccountTypes',
    tag: 'Registry',
    summary: 'Every account type, by code',
    responses: {
      200: {
        description: 'the account types',
        schema: z.strictObject({ accountTypes: z.array(AccountTypeSchema) }),
      },
    },
    errors: [other('store_unavailable')],
  },
  {
    method: 'POST',
    pattern: '/api/account-types',
    access: { scope: 'registry:write' },
    id: 'createAccountType',
    tag: 'Registry',
    summary: 'Create an account type (idempotent by content)',
    description:
      'The same code with other content is a 409 naming the first `field` that differs, with ' +
      'the stored type as `existing`; a tbCode another type has is a 409 naming it (`usedBy`).',
    body: { schema: createAccountTypeSchema, required: true },
    responses: created('the account type', AccountTypeSchema),
    errors: [...REGISTRY_WRITE_ERRORS, account('account_type_conflict'), account('tb_code_in_use')],
  },
  {
    method: 'GET',
    pattern: '/api/balance/:accountId',
    access: { scope: 'balances:read' },
    id: 'getBalance',
    tag: 'Balances',
    summary: "An account's balance, through the cache",
    description:
      'L1 in process, L2 Redis, then the ledger. With a balance token from a posting, the ' +
      'answer includes that posting (read-your-writes, on any instance).',
    params: accountPath,
    query: {
      [BALANCE_TOKEN_QUERY]: { schema: BalanceToken, description: 'as the Balance-Token header' },
    },
    headers: {
      'Balance-Token': { schema: BalanceToken, description: "a posting's Balance-Token" },
    },
    responses: {
      200: {
        description: 'the balance, and where it was read',
        schema: CachedBalance,
        headers: {
          'Cache-Level': { schema: CacheLevel, description: 'where it was read', required: true },
          'Cache-Age-Ms': {
            schema: z.string().regex(/^[0-9]+(\.[0-9]+)?$/),
            description: 'how old the cached value is (ms)',
            required: true,
          },
        },
      },
    },
    errors: [
      other('invalid_balance_token'),
      account('invalid_input'),
      account('account_not_found'),
      other('account_incomplete'),
      ...TENANT,
      ...UNAVAILABLE,
    ],
  },
  {
    method: 'GET',
    pattern: '/api/accounts/:accountId/entries',
    access: { scope: 'journals:read' },
    id: 'getStatement',
    tag: 'Statements',
    summary: "An account's statement, with running balances",
    description:
      'Every posting of the account in ledger order with the balance on its normal side after ' +
      'it (the ledger’s own). Keyset pagination: a page never skips nor repeats an entry. ' +
      '`kind` `raw` is a transfer without a journal (journal fields null).',
    params: accountPath,
    query: {
      limit: {
        schema: z.int().min(1).max(STATEMENT_LIMIT_MAX).default(STATEMENT_LIMIT_DEFAULT),
        description: 'entries per page',
      },
      cursor: { schema: z.string(), description: 'the previous page’s nextCursor' },
      ...CONSISTENCY_QUERY,
    },
    headers: CONSISTENCY_HEADER,
    responses: { 200: { description: 'one page', schema: StatementPage } },
    errors: [
      other('invalid_limit'),
      other('invalid_cursor'),
      account('invalid_input'),
      account('account_not_found'),
      ...CONSISTENT_READ,
      ...TENANT,
      other('store_unavailable'),
    ],
  },
];
