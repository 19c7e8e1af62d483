/**
 * API keys over HTTP against a whole bridge (real PostgreSQL, the stack's cluster): every route
 * with a scope refuses a request without a usable key (401), with a key lacking the scope (403),
 * and with a restricted key on another tenant's account (403 key_restricted naming the field);
 * public routes answer anyone. Keys are made, rotated and revoked with the operator command, and
 * revocation and a rotation's end of grace reach the bridge within the cache's bound.
 */
import { runKeys } from '../../../bridge/src/access/keys-cli';
import { SCOPES } from '../../../bridge/src/access/scopes';
import { call, type Harness, startHarness } from '../../support/http/harness';
import { mintKey } from '../../support/http/keys';

const CACHE_TTL_MS = 300;
let h: Harness;
let base: string;
const id = (name: string) => `${h.run}-acl-${name}`;

beforeAll(async () => {
  h = await startHarness({ ACCESS_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS) });
  base = h.bridge.url;
  for (const [name, holderId, asset, type] of [
    ['a-cash', 'alice', 'USD', 'asset'],
    ['a-sales', 'alice', 'USD', 'revenue'],
    ['b-cash', 'bob', 'USD', 'asset'],
    ['a-eur', 'alice', 'EUR', 'asset'],
  ] as const) {
    const answer = await call(base, 'POST', '/api/accounts', {
      accountId: id(name),
      name,
      holderId: `${h.run}-${holderId}`,
      accountType: type,
      asset,
    });
    expect(answer.status).toBe(201);
  }
}, 60_000);

afterAll(async () => {
  await h?.dispose();
});

function journal(name: string, debit: string, credit: string, extra: object = {}) {
  return {
    journalId: id(name),
    date: '2026-12-03',
    description: `acl ${name}`,
    source: 'test/access',
    lines: [
      { accountId: id(debit), lineType: 'DEBIT', amount: 10, lineNumber: 1 },
      { accountId: id(credit), lineType: 'CREDIT', amount: 10, lineNumber: 2 },
    ],
    ...extra,
  };
}

/** Runs the operator command in process, against the harness's database. */
async function keysCommand(...argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runKeys(argv, {
    env: h.env,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  if (code !== 0 && code !== 2) throw new Error(`keys ${argv.join(' ')}: ${err.join('\n')}`);
  return { code, out: code === 2 ? err : out };
}

async function createKey(...options: string[]): Promise<{ id: string; key: string }> {
  const { out } = await keysCommand('create', '--json', ...options);
  return JSON.parse(out[0]!) as { id: string; key: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('who may call', () => {
  it('public routes answer without a key', async () => {
    expect((await call(base, 'GET', '/health', undefined, undefined, { key: null })).status).toBe(
      200,
    );
    const page = await fetch(`${base}/dashboard`);
    expect(page.status).toBe(200);
    await page.arrayBuffer();
  });

  it.each([
    ['POST', '/api/journal'],
    ['POST', '/api/journals/batch'],
    ['POST', '/api/transfers/batch'],
    ['POST', '/api/accounts'],
    ['GET', '/api/accounts/x'],
    ['GET', '/api/balance/x'],
    ['GET', '/api/journal/x'],
    ['POST', '/api/journal/x/post'],
    ['GET', '/metrics'],
    ['GET', '/slo'],
    ['GET', '/dashboard/data'],
  ])('%s %s without a key: 401 key_missing, with the challenge', async (method, route) => {
    const answer = await call(base, method, route, method === 'POST' ? {} : undefined, undefined, {
      key: null,
    });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatchObject({ code: 'key_missing', field: 'authorization' });
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it.each([
    ['not bearer', 'Basic dXNlcjpwYXNz'],
    ['not a key', 'Bearer hello'],
    ['unknown id', `Bearer lbk_0000000000000000_${'A'.repeat(43)}`],
  ])('a key that is %s: 401 key_invalid', async (_, authorization) => {
    const res = await fetch(`${base}/api/balance/x`, { headers: { authorization } });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(401);
    expect(body.error.code).toBe('key_invalid');
    expect(body.error.message).not.toContain(authorization.slice(7));
  });

  it('a wrong secret for a real id: 401 key_invalid, and the key is not echoed', async () => {
    const wrong = `${h.key.slice(0, 21)}${'B'.repeat(43)}`;
    const answer = await call(base, 'GET', `/api/balance/${id('a-cash')}`, undefined, undefined, {
      key: wrong,
    });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('key_invalid');
    expect(JSON.stringify(answer.body)).not.toContain(wrong.slice(21));
  });

  it('a key without the scope: 403 scope_missing naming it; with it: served', async () => {
    const reader = await mintKey(h.config.DATABASE_DIRECT_URL, { scopes: ['balances:read'] });
    const denied = await call(
      base,
      'POST',
      '/api/journal',
      journal('scope', 'a-cash', 'a-sales'),
      undefined,
      {
        key: reader,
      },
    );
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'scope_missing', scope: 'journals:write' });
    expect(denied.headers.get('www-authenticate')).toContain('insufficient_scope');
    const read = await call(base, 'GET', `/api/balance/${id('a-cash')}`, undefined, undefined, {
      key: reader,
    });
    expect(read.status).toBe(200);
    const raw = await call(base, 'POST', '/api/transfers/batch', { transfers: [] }, undefined, {
      key: reader,
    });
    expect(raw.body.error).toMatchObject({ code: 'scope_missing', scope: 'ledger:raw' });
  });
});

describe('tenant isolation', () => {
  let alice: string;
  beforeAll(async () => {
    alice = await mintKey(h.config.DATABASE_DIRECT_URL, {
      scopes: SCOPES,
      holders: [`${h.run}-alice`],
      assets: ['USD'],
    });
  });
  const as = (key: string) => ({ key });

  it('moves money and reads only on its own accounts', async () => {
    const own = await call(
      base,
      'POST',
      '/api/journal',
      journal('own', 'a-cash', 'a-sales'),
      undefined,
      as(alice),
    );
    expect(own.status).toBe(201);
    const foreign = await call(
      base,
      'POST',
      '/api/journal',
      journal('foreign', 'a-cash', 'b-cash'),
      undefined,
      as(alice),
    );
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatchObject({
      code: 'key_restricted',
      field: 'lines[1].accountId',
    });
    const otherAsset = await call(
      base,
      'GET',
      `/api/balance/${id('a-eur')}`,
      undefined,
      undefined,
      as(alice),
    );
    expect(otherAsset.body.error).toMatchObject({ code: 'key_restricted', field: 'accountId' });
    expect(
      (await call(base, 'GET', `/api/balance/${id('b-cash')}`, undefined, undefined, as(alice)))
        .status,
    ).toBe(403);
    expect(
      (await call(base, 'GET', `/api/balance/${id('a-cash')}`, undefined, undefined, as(alice)))
        .status,
    ).toBe(200);
    expect(
      (await call(base, 'GET', `/api/accounts/${id('b-cash')}`, undefined, undefined, as(alice)))
        .status,
    ).toBe(403);
    const unknown = await call(
      base,
      'GET',
      `/api/balance/${id('nobody')}`,
      undefined,
      undefined,
      as(alice),
    );
    expect(unknown.body.error.code).toBe('key_restricted');
  });

  it('creates accounts only for its holders and assets, naming the field', async () => {
    const body = {
      accountId: id('c'),
      name: 'c',
      holderId: `${h.run}-bob`,
      accountType: 'asset',
      asset: 'USD',
    };
    const holder = await call(base, 'POST', '/api/accounts', body, undefined, as(alice));
    expect(holder.body.error).toMatchObject({ code: 'key_restricted', field: 'holderId' });
    const asset = await call(
      base,
      'POST',
      '/api/accounts',
      { ...body, holderId: `${h.run}-alice`, asset: 'EUR' },
      undefined,
      as(alice),
    );
    expect(asset.body.error).toMatchObject({ code: 'key_restricted', field: 'asset' });
  });

  it('moves raw transfers only between accounts of its tenant', async () => {
    const account = async (name: string) =>
      (await call(base, 'GET', `/api/accounts/${id(name)}`)).body as {
        ledgerId: string;
        ledger: number;
      };
    const [cash, sales, bob] = [
      await account('a-cash'),
      await account('a-sales'),
      await account('b-cash'),
    ];
    const transfer = (n: number, credit: { ledgerId: string }) => ({
      id: `${BigInt('0x' + h.run) * 1000n + BigInt(n)}`,
      debit_account_id: cash.ledgerId,
      credit_account_id: credit.ledgerId,
      amount: 1,
      ledger: cash.ledger,
      code: 7,
    });
    const foreign = await call(
      base,
      'POST',
      '/api/transfers/batch',
      { transfers: [transfer(1, sales), transfer(2, bob)] },
      undefined,
      as(alice),
    );
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatchObject({
      code: 'key_restricted',
      field: 'transfers[1].credit_account_id',
    });
    const own = await call(
      base,
      'POST',
      '/api/transfers/batch',
      { transfers: [transfer(3, sales)] },
      undefined,
      as(alice),
    );
    expect(own.status).toBe(200);
    expect(own.body.results).toEqual([expect.objectContaining({ index: 0, status: 'created' })]);
  });

  it('resolves only its own holds', async () => {
    const held = await call(
      base,
      'POST',
      '/api/journal',
      journal('hold', 'b-cash', 'a-cash', { pending: { timeoutSeconds: 3600 } }),
    );
    expect(held.status).toBe(201);
    const post = await call(
      base,
      'POST',
      `/api/journal/${id('hold')}/void`,
      undefined,
      undefined,
      as(alice),
    );
    expect(post.status).toBe(403);
    expect(post.body.error).toMatchObject({ code: 'key_restricted', field: 'journalId' });
    expect((await call(base, 'POST', `/api/journal/${id('hold')}/void`)).status).toBe(201);
  });
});

describe('the operator command', () => {
  it('creates, lists without secrets, rotates with grace, revokes; the bridge follows', async () => {
    const made = await createKey('--name', 'ops', '--scopes', 'balances:read,monitor:read');
    const route = `/api/balance/${id('a-cash')}`;
    const read = (key: string) => call(base, 'GET', route, undefined, undefined, { key });
    expect((await read(made.key)).status).toBe(200);

    const { out: listed } = await keysCommand('list', '--json');
    const entry = (JSON.parse(listed[0]!) as Array<Record<string, unknown>>).find(
      (k) => k.id === made.id,
    );
    expect(entry).toMatchObject({
      name: 'ops',
      status: 'active',
      scopes: ['balances:read', 'monitor:read'],
    });
    expect(listed.join('\n')).not.toContain(made.key.slice(21));

    const { out } = await keysCommand('rotate', made.id, '--grace', '1', '--json');
    const rotated = JSON.parse(out[0]!) as { id: string; key: string; scopes: string[] };
    expect(rotated.scopes).toEqual(['balances:read', 'monitor:read']);
    expect((await read(rotated.key)).status).toBe(200);
    expect((await read(made.key)).status).toBe(200); // in its grace
    await sleep(1_000 + CACHE_TTL_MS + 100);
    expect((await read(made.key)).body.error.code).toBe('key_invalid');

    await keysCommand('revoke', rotated.id);
    await sleep(CACHE_TTL_MS + 100);
    expect((await read(rotated.key)).body.error.code).toBe('key_invalid');
  });

  it('refuses unknown scopes and assets, naming them (exit 2)', async () => {
    const scopes = await keysCommand('create', '--name', 'x', '--scopes', 'journals:rite');
    expect(scopes.code).toBe(2);
    expect(scopes.out.join('\n')).toContain('unknown journals:rite');
    const assets = await keysCommand('create', '--name', 'x', '--scopes', 'all', '--assets', 'XYZ');
    expect(assets.code).toBe(2);
    expect(assets.out.join('\n')).toMatch(/unknown asset XYZ \(known: .*USD/);
  });
});
