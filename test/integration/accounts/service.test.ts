/**
 * Proves the account service end to end against real PostgreSQL (a schema of this file's own,
 * migrated up) and the real TigerBeetle cluster when configured (test/support/ledger.ts), else
 * the embedded engine: an account is created in both stores with the ledger, code and flags of
 * its asset and type; a retry is an idempotent success; changed content is a 409 naming the
 * field; unknown assets and types are 422 and write nothing; a ledger outage leaves a metadata
 * row that the retry completes; the ledger's own conflicts and rejections are typed; account ids
 * resolve (cached) to their TigerBeetle references.
 *
 * The cluster outlives test runs and serves every test file, and its accounts are never deleted:
 * every account id here carries RUN, so a run never meets an earlier run's account.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AccountError } from '../../../bridge/src/accounts/errors';
import type { AccountRef } from '../../../bridge/src/accounts/model';
import { AssetRegistry } from '../../../bridge/src/accounts/registry';
import { AccountService } from '../../../bridge/src/accounts/service';
import { accountLedgerId } from '../../../ledger/ids';
import { AccountFlags, CreateAccountStatus, type Ledger, LedgerError } from '../../../ledger/port';
import { migrateUp } from '../../../core/postgres/migrate';
import { createPrimaryPool, type Queryable } from '../../../core/postgres/pool';
import { createTestSchema, type TestSchema } from '../../support/store/schema';
import { openTestLedger, type TestLedger } from '../../support/ledger';

/** This run's account ids: `name.RUN` (the charset allows [A-Za-z0-9._:-]). */
const RUN = randomUUID().slice(0, 8);
const id = (name: string) => `${name}.${RUN}`;

let schema: TestSchema;
let db: pg.Pool;
let testLedger: TestLedger;
let ledger: Ledger;
let registry: AssetRegistry;
let service: AccountService;

const alice = {
  accountId: id('wallet:alice.usd'),
  name: 'Alice',
  holderId: 'alice',
  accountType: 'liability',
  asset: 'USD',
  metadata: { tier: 'gold', tags: ['a', 'b'] },
};

async function caught(promise: Promise<unknown>): Promise<AccountError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AccountError) return error;
    throw error;
  }
  throw new Error('expected an AccountError');
}

async function rowCount(accountId: string): Promise<number> {
  const { rows } = await db.query('SELECT 1 FROM account WHERE account_id = $1', [accountId]);
  return rows.length;
}

/** A ledger that answers create_accounts its own way and delegates everything else. */
function ledgerWith(createAccounts: Ledger['createAccounts']): Ledger {
  return new Proxy(ledger, {
    get: (target, key) =>
      key === 'createAccounts' ? createAccounts : Reflect.get(target, key, target),
  });
}

beforeAll(async () => {
  schema = await createTestSchema('accounts');
  db = schema.pool;
  await migrateUp(db);
  testLedger = await openTestLedger('accounts');
  ledger = testLedger.ledger;
  registry = await AssetRegistry.load(db);
  service = new AccountService({ db, ledger, registry });
});

afterAll(async () => {
  // The ledger first, even after a failed set-up: an open cluster client keeps jest from exiting.
  try {
    await testLedger?.dispose();
  } finally {
    await schema?.drop();
  }
});

describe('the registry', () => {
  it('loads the seeded assets and account types', () => {
    expect(registry.asset('JPY')).toEqual({
      code: 'JPY',
      ledger: 3,
      scale: 0,
      name: 'Japanese yen',
    });
    expect(registry.findAssetByLedger(4)?.code).toBe('BTC');
    expect(registry.accountTypes().map((type) => type.code)).toEqual([
      'asset',
      'equity',
      'expense',
      'fee',
      'house',
      'liability',
      'revenue',
      'world',
    ]);
    expect(registry.accountType('liability')).toMatchObject({
      normalSide: 'CREDIT',
      tbCode: 2,
      defaultFlags: AccountFlags.debits_must_not_exceed_credits,
    });
  });

  it('sees a new asset only after reload()', async () => {
    await db.query("INSERT INTO asset VALUES ('XAU', 5, 4, 'Gold (troy ounce)')");
    expect(registry.findAsset('XAU')).toBeUndefined();
    await Promise.all([registry.reload(), registry.reload()]);
    expect(registry.asset('XAU')).toMatchObject({ ledger: 5, scale: 4 });
  });
});

describe('createAccount', () => {
  it('creates the row and the TigerBeetle account with its ledger, code and flags', async () => {
    const { account, created } = await service.createAccount(alice);
    expect(created).toBe(true);
    expect(account).toMatchObject({
      accountId: alice.accountId,
      ledgerId: accountLedgerId(alice.accountId),
      name: 'Alice',
      holderId: 'alice',
      accountType: 'liability',
      normalSide: 'CREDIT',
      asset: 'USD',
      ledger: 1,
      scale: 2,
      tbFlags: AccountFlags.debits_must_not_exceed_credits,
      flags: { mustNotGoNegative: true, history: false },
      metadata: alice.metadata,
    });
    expect(account.createdAt).toBeInstanceOf(Date);
    const [tb] = await ledger.lookupAccounts([account.ledgerId]);
    expect(tb).toMatchObject({
      id: account.ledgerId,
      ledger: 1,
      code: 2,
      flags: AccountFlags.debits_must_not_exceed_credits,
      debits_posted: 0n,
      credits_posted: 0n,
    });
  });

  it.each([
    ['the same request', {}],
    ['the type default stated explicitly', { flags: { mustNotGoNegative: true } }],
    ['metadata keys in another order', { metadata: { tags: ['a', 'b'], tier: 'gold' } }],
  ])('is an idempotent success on a retry with %s', async (_label, change) => {
    const first = await service.getAccount(alice.accountId);
    const { account, created } = await service.createAccount({ ...alice, ...change });
    expect(created).toBe(false);
    expect(account).toEqual(first);
  });

  it.each([
    ['name', { name: 'Alice B.' }],
    ['holderId', { holderId: 'bob' }],
    ['asset', { asset: 'EUR' }],
    ['accountType', { accountType: 'asset' }],
    ['flags', { flags: { history: true } }],
    ['metadata', { metadata: { tier: 'silver' } }],
    ['metadata', { metadata: undefined }],
  ])('is a 409 account_conflict naming %s when the content differs', async (field, change) => {
    const error = await caught(service.createAccount({ ...alice, ...change }));
    expect(error).toMatchObject({ code: 'account_conflict', httpStatus: 409, field });
  });

  it.each([
    ['an unknown asset', { asset: 'DOGE' }, 'unknown_asset', 422, 'asset'],
    [
      'an unknown account type',
      { accountType: 'loan' },
      'unknown_account_type',
      422,
      'accountType',
    ],
    ['invalid input', { name: '' }, 'invalid_input', 400, 'name'],
  ])('refuses %s and writes nothing', async (_label, change, code, http, field) => {
    const input = { ...alice, accountId: id('never.written'), ...change };
    const error = await caught(service.createAccount(input));
    expect(error).toMatchObject({ code, httpStatus: http, field });
    expect(await rowCount(id('never.written'))).toBe(0);
    expect(await ledger.lookupAccounts([accountLedgerId(id('never.written'))])).toEqual([]);
  });

  it('applies requested flags: history, must-not-go-negative on a debit account', async () => {
    const { account } = await service.createAccount({
      accountId: id('bank:usd'),
      name: 'Bank',
      holderId: 'house',
      accountType: 'asset',
      asset: 'USD',
      flags: { mustNotGoNegative: true, history: true },
    });
    const wanted = AccountFlags.credits_must_not_exceed_debits | AccountFlags.history;
    expect(account.tbFlags).toBe(wanted);
    expect(account.flags).toEqual({ mustNotGoNegative: true, history: true });
    const [tb] = await ledger.lookupAccounts([account.ledgerId]);
    expect(tb).toMatchObject({ ledger: 1, code: 1, flags: wanted });
  });

  it('lets concurrent creations all succeed, with one account in each store', async () => {
    const input = { ...alice, accountId: id('race.1') };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => service.createAccount(input)),
    );
    expect(results.some((result) => result.created)).toBe(true);
    expect(new Set(results.map((result) => result.account.createdAt.getTime())).size).toBe(1);
    expect(await rowCount(id('race.1'))).toBe(1);
    expect(await ledger.lookupAccounts([accountLedgerId(id('race.1'))])).toHaveLength(1);
  });
});

describe('createAccount when the ledger misbehaves', () => {
  it('answers 503 on a ledger outage; the retry completes the half-written account', async () => {
    const down = new AccountService({
      db,
      registry,
      ledger: ledgerWith(() => Promise.reject(new LedgerError('unavailable', 'timed out'))),
    });
    const input = { ...alice, accountId: id('outage.1') };
    const error = await caught(down.createAccount(input));
    expect(error).toMatchObject({ code: 'ledger_unavailable', httpStatus: 503 });
    expect(await rowCount(id('outage.1'))).toBe(1);
    expect(await ledger.lookupAccounts([accountLedgerId(id('outage.1'))])).toEqual([]);

    const { created, account } = await service.createAccount(input);
    expect(created).toBe(true);
    expect(await ledger.lookupAccounts([account.ledgerId])).toHaveLength(1);
  });

  it('is a 409 when the ledger already holds the id with another code', async () => {
    const accountId = id('preexisting.1');
    const [result] = await ledger.createAccounts([
      {
        id: accountLedgerId(accountId),
        debits_pending: 0n,
        debits_posted: 0n,
        credits_pending: 0n,
        credits_posted: 0n,
        user_data_128: 0n,
        user_data_64: 0n,
        user_data_32: 0,
        reserved: 0,
        ledger: 1,
        code: 99,
        flags: AccountFlags.debits_must_not_exceed_credits,
        timestamp: 0n,
      },
    ]);
    expect(result!.status).toBe(CreateAccountStatus.created);
    const error = await caught(service.createAccount({ ...alice, accountId }));
    expect(error).toMatchObject({
      code: 'account_conflict',
      httpStatus: 409,
      field: 'accountType',
      ledgerStatus: 'exists_with_different_code',
    });
  });

  it('is a 500 ledger_rejected naming the status if the ledger refuses our account', async () => {
    const odd = new AccountService({
      db,
      registry,
      ledger: ledgerWith(async () => [
        { status: CreateAccountStatus.reserved_flag, timestamp: 0n },
      ]),
    });
    const error = await caught(odd.createAccount({ ...alice, accountId: id('rejected.1') }));
    expect(error).toMatchObject({
      code: 'ledger_rejected',
      httpStatus: 500,
      ledgerStatus: 'reserved_flag',
    });
  });
});

describe('getAccount and resolveAccounts', () => {
  it('returns metadata, null (or 404) for an unknown id, 400 for a malformed one', async () => {
    expect(await service.getAccount(alice.accountId)).toMatchObject({ name: 'Alice' });
    expect(await service.getAccount(id('nobody'))).toBeNull();
    expect(await caught(service.requireAccount(id('nobody')))).toMatchObject({
      code: 'account_not_found',
      httpStatus: 404,
    });
    expect(await caught(service.getAccount('no body'))).toMatchObject({
      code: 'invalid_input',
      field: 'accountId',
    });
  });

  it('resolves known ids, skips unknown and malformed ones, then hits the cache', async () => {
    const aliceJpy = id('wallet:alice.jpy');
    await service.createAccount({ ...alice, accountId: aliceJpy, asset: 'JPY' });
    let queries = 0;
    const counting: Queryable = {
      query: (text, values) => {
        queries += 1;
        return db.query(text, values);
      },
    };
    const resolver = new AccountService({ db: counting, ledger, registry });
    const ids = [alice.accountId, aliceJpy, id('nobody'), 'bad id', alice.accountId];
    const refs = await resolver.resolveAccounts(ids);
    expect([...refs.keys()].sort()).toEqual([aliceJpy, alice.accountId].sort());
    expect(refs.get(aliceJpy)).toEqual<AccountRef>({
      accountId: aliceJpy,
      ledgerId: accountLedgerId(aliceJpy),
      ledger: 3,
      asset: 'JPY',
      scale: 0,
      holderId: alice.holderId,
    });
    expect(queries).toBe(1);
    await resolver.resolveAccounts([alice.accountId, aliceJpy]);
    expect(queries).toBe(1);
    expect(await resolver.resolveAccounts([])).toEqual(new Map());
  });
});

describe('when PostgreSQL is unreachable', () => {
  it('answers 503 store_unavailable', async () => {
    const nowhere = createPrimaryPool({
      url: 'postgres://ledger:ledger@127.0.0.1:1/ledger',
      max: 1,
      connectTimeoutMs: 500,
    });
    try {
      const offline = new AccountService({ db: nowhere, ledger, registry });
      const error = await caught(offline.createAccount({ ...alice, accountId: id('offline.1') }));
      expect(error).toMatchObject({ code: 'store_unavailable', httpStatus: 503 });
    } finally {
      await nowhere.end();
    }
  });
});
