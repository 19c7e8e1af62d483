/**
 * Proves the registry routes over HTTP, on two whole bridges sharing the stack's PostgreSQL (the
 * harness): GET /api/assets and /api/account-types list the seeded registry sorted by code in
 * their documented shapes; the admin POSTs create (201), answer a repeat with the stored record
 * (200), refuse the same code with other content and a ledger or tbCode of another code (409
 * naming the field), and refuse invalid bodies naming the field; unknown codes on account creation
 * list the valid ones; and a second instance sees what the first created within
 * REGISTRY_MISS_RELOAD_MS, both on a miss and in its listing.
 */
import { REGISTRY_MISS_RELOAD_MS } from '../../../bridge/src/accounts/registry';
import { type Answer, call, type Harness, startHarness } from '../../support/http/harness';

let a: Harness;
let b: Harness;
/** Room beyond the bound for a request's own round trip on a busy test machine. */
const REQUEST_SLACK_MS = 500;
const POLL_INTERVAL_MS = 25;

beforeAll(async () => {
  a = await startHarness();
  b = await startHarness({}, { joining: a });
}, 60_000);

afterAll(async () => {
  await b?.dispose();
  await a?.dispose();
});

const asset = { code: 'XAU', ledger: 1001, scale: 4, name: 'Gold (troy ounce)' };
const accountType = {
  code: 'loan_book',
  normalSide: 'DEBIT',
  tbCode: 1001,
  defaultFlags: { creditsMustNotExceedDebits: true, history: true },
  description: 'Loans the operator has made',
};
const accountOf = (accountId: string, patch: Record<string, unknown> = {}) => ({
  accountId: `${a.run}-${accountId}`,
  name: accountId,
  holderId: 'holder',
  accountType: 'asset',
  asset: 'USD',
  ...patch,
});

describe('listing', () => {
  it('lists the seeded assets sorted by code, in the documented shape', async () => {
    const res = await call(a.bridge.url, 'GET', '/api/assets');
    expect(res.status).toBe(200);
    expect(res.body.assets).toEqual([
      { code: 'BTC', ledger: 4, scale: 8, name: 'Bitcoin' },
      { code: 'EUR', ledger: 2, scale: 2, name: 'Euro' },
      { code: 'JPY', ledger: 3, scale: 0, name: 'Japanese yen' },
      { code: 'USD', ledger: 1, scale: 2, name: 'US dollar' },
    ]);
  });

  it('lists the account types sorted by code, default flags by name and as bits', async () => {
    const res = await call(a.bridge.url, 'GET', '/api/account-types');
    expect(res.status).toBe(200);
    const codes = res.body.accountTypes.map((type: { code: string }) => type.code);
    expect(codes).toEqual([
      'asset',
      'equity',
      'expense',
      'fee',
      'house',
      'liability',
      'revenue',
      'world',
    ]);
    expect(res.body.accountTypes[5]).toEqual({
      code: 'liability',
      normalSide: 'CREDIT',
      tbCode: 2,
      defaultFlags: {
        debitsMustNotExceedCredits: true,
        creditsMustNotExceedDebits: false,
        history: false,
      },
      tbDefaultFlags: 2,
      description: 'What the operator owes (customer wallets); never negative',
    });
  });
});

describe('creating', () => {
  it('creates an asset (201), answers a repeat with it (200), and lists it', async () => {
    const created = await call(a.bridge.url, 'POST', '/api/assets', asset);
    expect(created.status).toBe(201);
    expect(created.body).toEqual(asset);
    const again = await call(a.bridge.url, 'POST', '/api/assets', asset);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(asset);
    const list = await call(a.bridge.url, 'GET', '/api/assets');
    expect(list.body.assets.map((x: { code: string }) => x.code)).toEqual([
      'BTC',
      'EUR',
      'JPY',
      'USD',
      'XAU',
    ]);
    // The creating instance knows it at once.
    const account = await call(
      a.bridge.url,
      'POST',
      '/api/accounts',
      accountOf('gold', { asset: 'XAU' }),
    );
    expect(account.status).toBe(201);
    expect(account.body).toMatchObject({ asset: 'XAU', ledger: 1001, scale: 4 });
  });

  it('creates an account type (201), again (200), its flags as TigerBeetle bits', async () => {
    const created = await call(a.bridge.url, 'POST', '/api/account-types', accountType);
    expect(created.status).toBe(201);
    const expected = {
      ...accountType,
      defaultFlags: {
        debitsMustNotExceedCredits: false,
        creditsMustNotExceedDebits: true,
        history: true,
      },
      tbDefaultFlags: 4 | 8,
    };
    expect(created.body).toEqual(expected);
    const again = await call(a.bridge.url, 'POST', '/api/account-types', accountType);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(expected);
    const account = await call(
      a.bridge.url,
      'POST',
      '/api/accounts',
      accountOf('loan', { accountType: 'loan_book' }),
    );
    expect(account.status).toBe(201);
    expect(account.body).toMatchObject({
      normalSide: 'DEBIT',
      flags: { mustNotGoNegative: true, history: true },
    });
  });
});

describe('conflicts', () => {
  beforeAll(async () => {
    await call(a.bridge.url, 'POST', '/api/assets', asset);
    await call(a.bridge.url, 'POST', '/api/account-types', accountType);
  });

  it.each([
    ['the same code with another scale', { ...asset, scale: 2 }, 'asset_conflict', 'scale'],
    ['the same code with another ledger', { ...asset, ledger: 1002 }, 'asset_conflict', 'ledger'],
    ['the same code with another name', { ...asset, name: 'Gold' }, 'asset_conflict', 'name'],
    ['a ledger of another asset', { ...asset, code: 'XAG', ledger: 1 }, 'ledger_in_use', 'ledger'],
  ])('refuses an asset: %s', async (_label, body, code, field) => {
    const res = await call(a.bridge.url, 'POST', '/api/assets', body);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code, field });
    if (code === 'ledger_in_use') expect(res.body.error.usedBy).toBe('USD');
    else expect(res.body.error.existing).toEqual(asset);
  });

  it.each([
    ['another normal side', { normalSide: 'CREDIT' }, 'account_type_conflict', 'normalSide'],
    ['another tbCode', { tbCode: 1002 }, 'account_type_conflict', 'tbCode'],
    ['no default flags', { defaultFlags: undefined }, 'account_type_conflict', 'defaultFlags'],
    ['another description', { description: 'Loans' }, 'account_type_conflict', 'description'],
    ['a tbCode of another type', { code: 'mortgage', tbCode: 2 }, 'tb_code_in_use', 'tbCode'],
  ])('refuses an account type with %s', async (_label, patch, code, field) => {
    const res = await call(a.bridge.url, 'POST', '/api/account-types', {
      ...accountType,
      ...patch,
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code, field });
    if (code === 'tb_code_in_use') expect(res.body.error.usedBy).toBe('liability');
    else expect(res.body.error.existing).toMatchObject({ code: 'loan_book', tbDefaultFlags: 12 });
  });
});

describe('invalid bodies name the field', () => {
  const goodAsset = { code: 'XPD', ledger: 1010, scale: 4, name: 'Palladium' };
  it.each([
    ['a lower-case code', { code: 'xpd' }, 'code'],
    ['a one-letter code', { code: 'X' }, 'code'],
    ['a 13-character code', { code: 'X'.repeat(13) }, 'code'],
    ['a code starting with a digit', { code: '1XP' }, 'code'],
    ['ledger 0', { ledger: 0 }, 'ledger'],
    ['a negative ledger', { ledger: -1 }, 'ledger'],
    ['a fractional ledger', { ledger: 1.5 }, 'ledger'],
    ['a ledger past the column', { ledger: 2 ** 31 }, 'ledger'],
    ['a ledger as a string', { ledger: '1010' }, 'ledger'],
    ['scale 19', { scale: 19 }, 'scale'],
    ['a negative scale', { scale: -1 }, 'scale'],
    ['an empty name', { name: '' }, 'name'],
    ['a 201-character name', { name: 'n'.repeat(201) }, 'name'],
    ['a name with U+0000', { name: 'a\u0000b' }, 'name'],
    ['no name', { name: undefined }, 'name'],
    ['an unknown field', { symbol: 'Pd' }, 'symbol'],
  ])('asset: %s', async (_label, patch, field) => {
    const res = await call(a.bridge.url, 'POST', '/api/assets', { ...goodAsset, ...patch });
    expectInvalid(res, field);
  });

  const goodType = { code: 'escrow', normalSide: 'CREDIT', tbCode: 1010, description: 'Escrow' };
  it.each([
    ['an upper-case code', { code: 'Escrow' }, 'code'],
    ['a code starting with _', { code: '_escrow' }, 'code'],
    ['a 33-character code', { code: 'e'.repeat(33) }, 'code'],
    ['a normal side in lower case', { normalSide: 'credit' }, 'normalSide'],
    ['tbCode 0', { tbCode: 0 }, 'tbCode'],
    ['a tbCode past the column', { tbCode: 32_768 }, 'tbCode'],
    ['a linked default flag', { defaultFlags: { linked: true } }, 'defaultFlags.linked'],
    ['a closed default flag', { defaultFlags: { closed: true } }, 'defaultFlags.closed'],
    ['a flag that is a string', { defaultFlags: { history: 'yes' } }, 'defaultFlags.history'],
    [
      'both balance limits',
      { defaultFlags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true } },
      'defaultFlags',
    ],
    ['flags as a number', { defaultFlags: 8 }, 'defaultFlags'],
    ['no description', { description: undefined }, 'description'],
  ])('account type: %s', async (_label, patch, field) => {
    const res = await call(a.bridge.url, 'POST', '/api/account-types', { ...goodType, ...patch });
    expectInvalid(res, field);
  });

  it('names the body when it is not an object', async () => {
    expectInvalid(await call(a.bridge.url, 'POST', '/api/assets', [goodAsset]), 'body');
  });

  it('created nothing', async () => {
    const assets = await call(a.bridge.url, 'GET', '/api/assets');
    expect(assets.body.assets.map((x: { code: string }) => x.code)).not.toContain('XPD');
    const types = await call(a.bridge.url, 'GET', '/api/account-types');
    expect(types.body.accountTypes.map((x: { code: string }) => x.code)).not.toContain('escrow');
  });
});

function expectInvalid(res: Answer, field: string): void {
  expect(res.status).toBe(400);
  expect(res.body.error).toMatchObject({ code: 'invalid_input', field });
  expect(res.body.error.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
}

describe('unknown codes', () => {
  it('an unknown asset lists the valid ones, in the message and as `valid`', async () => {
    const listed = await call(a.bridge.url, 'GET', '/api/assets');
    const valid = listed.body.assets.map((x: { code: string }) => x.code);
    const res = await call(
      a.bridge.url,
      'POST',
      '/api/accounts',
      accountOf('doge', { asset: 'DOGE' }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'unknown_asset', field: 'asset', valid });
    expect(res.body.error.message).toContain(valid.join(', '));
  });

  it('an unknown account type lists the valid ones, in the message and as `valid`', async () => {
    const listed = await call(a.bridge.url, 'GET', '/api/account-types');
    const valid = listed.body.accountTypes.map((x: { code: string }) => x.code);
    const res = await call(
      a.bridge.url,
      'POST',
      '/api/accounts',
      accountOf('loan2', { accountType: 'loans' }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'unknown_account_type',
      field: 'accountType',
      valid,
    });
    expect(res.body.error.message).toContain(valid.join(', '));
  });
});

/** Repeats `attempt` until `done` holds; the milliseconds it took from `sinceMs`. */
async function pollUntil(
  attempt: () => Promise<Answer>,
  done: (res: Answer) => boolean,
  sinceMs: number,
): Promise<number> {
  const deadlineMs = sinceMs + REGISTRY_MISS_RELOAD_MS + REQUEST_SLACK_MS;
  for (;;) {
    const res = await attempt();
    const elapsedMs = performance.now() - sinceMs;
    if (done(res)) return elapsedMs;
    if (performance.now() > deadlineMs) {
      throw new Error(`not seen after ${Math.round(elapsedMs)} ms: ${JSON.stringify(res.body)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

describe('a second instance', () => {
  it(`uses an asset the first created within ${REGISTRY_MISS_RELOAD_MS} ms`, async () => {
    const platinum = { code: 'XPT', ledger: 1020, scale: 4, name: 'Platinum' };
    const body = accountOf('platinum', { asset: 'XPT' });
    // The second instance reads its registry now, without the asset.
    const before = await call(b.bridge.url, 'POST', '/api/accounts', body);
    expect(before.body.error).toMatchObject({ code: 'unknown_asset', field: 'asset' });
    expect(before.body.error.valid).not.toContain('XPT');
    expect((await call(a.bridge.url, 'POST', '/api/assets', platinum)).status).toBe(201);
    const createdMs = performance.now();
    const tookMs = await pollUntil(
      () => call(b.bridge.url, 'POST', '/api/accounts', body),
      (res) => res.status === 201,
      createdMs,
    );
    expect(tookMs).toBeLessThanOrEqual(REGISTRY_MISS_RELOAD_MS + REQUEST_SLACK_MS);
  });

  it(`lists an account type the first created within ${REGISTRY_MISS_RELOAD_MS} ms`, async () => {
    const codesOn = async (base: string) =>
      (await call(base, 'GET', '/api/account-types')).body.accountTypes.map(
        (x: { code: string }) => x.code,
      );
    expect(await codesOn(b.bridge.url)).not.toContain('deposit');
    const deposit = {
      code: 'deposit',
      normalSide: 'CREDIT',
      tbCode: 1020,
      description: 'Deposits',
    };
    expect((await call(a.bridge.url, 'POST', '/api/account-types', deposit)).status).toBe(201);
    const createdMs = performance.now();
    const tookMs = await pollUntil(
      () => call(b.bridge.url, 'GET', '/api/account-types'),
      (res) => res.body.accountTypes.some((x: { code: string }) => x.code === 'deposit'),
      createdMs,
    );
    expect(tookMs).toBeLessThanOrEqual(REGISTRY_MISS_RELOAD_MS + REQUEST_SLACK_MS);
  });
});
