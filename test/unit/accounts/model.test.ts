/**
 * Proves the control plane's pure rules, table-driven and without a database: how type defaults
 * and requested flags combine into TigerBeetle AccountFlags (and read back), what a create-account
 * request must look like (400 with the offending field), that every TigerBeetle create_accounts
 * status maps to an outcome and every error code to its HTTP status, and the bounded cache.
 */
import { lruCache } from '../../../bridge/src/accounts/cache';
import {
  ACCOUNT_ERROR_HTTP,
  AccountError,
  CREATE_ACCOUNT_OUTCOME,
  createAccountOutcome,
} from '../../../bridge/src/accounts/errors';
import {
  type AccountFlagsInput,
  type AccountType,
  describeFlags,
  resolveFlags,
} from '../../../bridge/src/accounts/model';
import { parseAccountId, parseCreateAccount } from '../../../bridge/src/accounts/validation';
import { AccountFlags, CreateAccountStatus } from '../../../ledger/port';

const DEBITS_LIMIT = AccountFlags.debits_must_not_exceed_credits;
const CREDITS_LIMIT = AccountFlags.credits_must_not_exceed_debits;
const HISTORY = AccountFlags.history;

const liability: AccountType = {
  code: 'liability',
  normalSide: 'CREDIT',
  tbCode: 2,
  defaultFlags: DEBITS_LIMIT,
  description: 'wallets',
};
const asset: AccountType = { ...liability, code: 'asset', normalSide: 'DEBIT', defaultFlags: 0 };

describe('resolveFlags and describeFlags', () => {
  it.each([
    ['liability, defaults', liability, {}, DEBITS_LIMIT],
    ['liability, lifted limit', liability, { mustNotGoNegative: false }, 0],
    ['liability, history', liability, { history: true }, DEBITS_LIMIT | HISTORY],
    ['asset, defaults', asset, {}, 0],
    ['asset, must not go negative', asset, { mustNotGoNegative: true }, CREDITS_LIMIT],
    [
      'asset with an odd default, must not go negative',
      { ...asset, defaultFlags: DEBITS_LIMIT | HISTORY },
      { mustNotGoNegative: true, history: false },
      CREDITS_LIMIT,
    ],
  ] as [string, AccountType, AccountFlagsInput, number][])('%s', (_label, type, input, flags) => {
    expect(resolveFlags(type, input)).toBe(flags);
    const described = describeFlags(flags, type.normalSide);
    if (input.mustNotGoNegative !== undefined) {
      expect(described.mustNotGoNegative).toBe(input.mustNotGoNegative);
    }
    if (input.history !== undefined) expect(described.history).toBe(input.history);
  });
});

const valid = {
  accountId: 'wallet:alice.usd-1',
  name: 'Alice',
  holderId: 'alice',
  accountType: 'liability',
  asset: 'USD',
};

describe('parseCreateAccount', () => {
  it('accepts a minimal and a full request', () => {
    expect(parseCreateAccount(valid)).toEqual(valid);
    const full = { ...valid, flags: { history: true }, metadata: { tier: 'gold', n: [1, 2] } };
    expect(parseCreateAccount(full)).toEqual(full);
  });

  it.each([
    ['not an object', 'nope', 'body'],
    ['an empty account id', { ...valid, accountId: '' }, 'accountId'],
    ['a space in the account id', { ...valid, accountId: 'a b' }, 'accountId'],
    ['a 129-character account id', { ...valid, accountId: 'a'.repeat(129) }, 'accountId'],
    ['an empty name', { ...valid, name: '' }, 'name'],
    ['a 201-character name', { ...valid, name: 'n'.repeat(201) }, 'name'],
    ['a NUL in the name', { ...valid, name: 'a\u0000b' }, 'name'],
    ['a lone surrogate in the name', { ...valid, name: 'a\ud83db' }, 'name'],
    ['a lone surrogate in the holder', { ...valid, holderId: '\udc00' }, 'holderId'],
    ['a missing holder', { ...valid, holderId: undefined }, 'holderId'],
    ['an asset code with a space', { ...valid, asset: 'US D' }, 'asset'],
    ['a numeric account type', { ...valid, accountType: 7 }, 'accountType'],
    ['an unknown flag', { ...valid, flags: { linked: true } }, 'flags.linked'],
    ['a non-boolean flag', { ...valid, flags: { history: 'yes' } }, 'flags.history'],
    ['metadata that is an array', { ...valid, metadata: [1] }, 'metadata'],
    ['metadata over 4 KiB', { ...valid, metadata: { big: 'x'.repeat(5000) } }, 'metadata'],
    ['a NUL inside metadata', { ...valid, metadata: { a: ['\u0000'] } }, 'metadata'],
    ['a lone surrogate in a metadata key', { ...valid, metadata: { 'k\ud800': 1 } }, 'metadata'],
    ['an unknown field', { ...valid, balance: 5 }, 'balance'],
    ['a missing name', { ...valid, name: undefined }, 'name'],
  ])('refuses %s with 400 invalid_input', (_label, input, field) => {
    let caught: unknown;
    try {
      parseCreateAccount(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AccountError);
    expect(caught).toMatchObject({ code: 'invalid_input', httpStatus: 400 });
    expect((caught as AccountError).field).toBe(field);
    expect((caught as AccountError).message).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
  });

  it('checks an account id on its own', () => {
    expect(parseAccountId('a.b:c_d-e')).toBe('a.b:c_d-e');
    expect(() => parseAccountId('a/b')).toThrow(AccountError);
  });
});

describe('error tables', () => {
  it('map every create_accounts status; only created and exists succeed', () => {
    const statuses = Object.values(CreateAccountStatus).filter(
      (value): value is CreateAccountStatus => typeof value === 'number',
    );
    expect(Object.keys(CREATE_ACCOUNT_OUTCOME)).toHaveLength(statuses.length);
    const ok = statuses.filter((status) => createAccountOutcome(status).kind === 'ok');
    expect(ok.sort()).toEqual([CreateAccountStatus.exists, CreateAccountStatus.created].sort());
    expect(createAccountOutcome(CreateAccountStatus.exists_with_different_flags)).toEqual({
      kind: 'conflict',
      field: 'flags',
    });
    expect(() => createAccountOutcome(999 as CreateAccountStatus)).toThrow(/unknown/);
  });

  it('give every error code an HTTP status', () => {
    expect(ACCOUNT_ERROR_HTTP).toEqual({
      invalid_input: 400,
      account_not_found: 404,
      account_conflict: 409,
      asset_conflict: 409,
      account_type_conflict: 409,
      ledger_in_use: 409,
      tb_code_in_use: 409,
      unknown_asset: 422,
      unknown_account_type: 422,
      ledger_unavailable: 503,
      store_unavailable: 503,
      ledger_rejected: 500,
    });
    expect(new AccountError('unknown_asset', 'x', 'asset')).toMatchObject({ httpStatus: 422 });
  });
});

describe('lruCache', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const cache = lruCache<string, { n: number }>(2);
    cache.set('a', { n: 1 });
    cache.set('b', { n: 2 });
    expect(cache.get('a')).toEqual({ n: 1 });
    cache.set('c', { n: 3 });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(2);
    expect(() => lruCache(0)).toThrow(RangeError);
  });
});
