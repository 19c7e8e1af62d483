/**
 * Proves the balance read path across two API instances of one deployment: both bridges share
 * one ledger (the real TigerBeetle cluster when configured, else the embedded engine as a
 * server), Redis and PostgreSQL. A balance cached by
 * instance B is invalidated when instance A posts (B serves the new balance well within a
 * second, without any token), and a read carrying A's Balance-Token never shows the older
 * balance, even on an instance that heard no invalidation at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomEngineSecret } from '../../../ledger/engine/handshake';
import { type EngineServer, startEngineServer } from '../../../ledger/engine/server';
import { call, type Harness, startHarness, withKey } from '../../support/http/harness';

let engine: EngineServer | undefined;
let engineDir: string | undefined;
let a: Harness;
let b: Harness;
/** An instance that hears no invalidations (no Redis) and caches for a minute: only the token
 * can keep it honest. */
let deaf: Harness;

/** The ledger both instances use: the cluster in TB_ADDRESSES, else an engine server. */
async function sharedLedgerEnv(): Promise<Record<string, string>> {
  if (process.env.TB_ADDRESSES !== undefined && process.env.TB_ADDRESSES !== '') return {};
  engineDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-shared-'));
  const secret = randomEngineSecret();
  engine = await startEngineServer({
    dataDir: engineDir,
    fsync: false,
    host: '127.0.0.1',
    port: 0,
    secret,
  });
  return { ENGINE_ADDRESS: `127.0.0.1:${engine.address.port}`, ENGINE_SECRET: secret };
}

beforeAll(async () => {
  const env = await sharedLedgerEnv();
  a = await startHarness(env);
  b = await startHarness(env, { joining: a });
  deaf = await startHarness(
    { ...env, BALANCE_CACHE_REDIS: 'false', BALANCE_L1_TTL_MS: '60000' },
    { joining: a },
  );
}, 60_000);

afterAll(async () => {
  await deaf?.dispose();
  await b?.dispose();
  await a?.dispose();
  await engine?.close();
  if (engineDir !== undefined) fs.rmSync(engineDir, { recursive: true, force: true });
});

const balanceOf = async (base: string, accountId: string, token?: string) => {
  const res = await fetch(`${base}/api/balance/${accountId}`, {
    headers: withKey(token === undefined ? {} : { 'balance-token': token }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { balance: string; cache: { level: string } };
};

it('invalidates across instances and honours the balance token on the other one', async () => {
  const acc = (name: string) => `${a.run}-${name}`;
  for (const [name, type] of [
    ['cash', 'asset'],
    ['sales', 'revenue'],
  ] as const) {
    const res = await call(a.bridge.url, 'POST', '/api/accounts', {
      accountId: acc(name),
      name,
      holderId: 'h',
      accountType: type,
      asset: 'USD',
    });
    expect(res.status).toBe(201);
  }
  const post = (n: number, amount: number) =>
    call(a.bridge.url, 'POST', '/api/journal', {
      journalId: `${a.run}-j${n}`,
      date: '2026-11-21',
      description: 'two instances',
      source: 'test/http',
      lines: [
        { accountId: acc('cash'), lineType: 'DEBIT', amount, lineNumber: 1 },
        { accountId: acc('sales'), lineType: 'CREDIT', amount, lineNumber: 2 },
      ],
    });

  // B caches the balance, then A posts: B's cached value must go, without a token.
  expect((await balanceOf(b.bridge.url, acc('cash'))).balance).toBe('0');
  expect((await balanceOf(b.bridge.url, acc('cash'))).cache.level).not.toBe('ledger');
  expect((await post(1, 40)).status).toBe(201);
  const started = Date.now();
  let seen = (await balanceOf(b.bridge.url, acc('cash'))).balance;
  while (seen !== '40' && Date.now() - started < 1_000) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen = (await balanceOf(b.bridge.url, acc('cash'))).balance;
  }
  expect(seen).toBe('40');

  // An instance that missed the invalidation still serves its cached (older) balance without a
  // token, and the new one with A's token.
  expect((await balanceOf(deaf.bridge.url, acc('cash'))).balance).toBe('40');
  const next = await post(100, 60);
  expect((await balanceOf(deaf.bridge.url, acc('cash'))).balance).toBe('40');
  const fresh = await balanceOf(deaf.bridge.url, acc('cash'), next.headers.get('balance-token')!);
  expect(fresh).toMatchObject({ balance: '100', cache: { level: 'ledger' } });

  // With A's token, B's very next read is at least as new as A's posting.
  for (let n = 2; n <= 20; n++) {
    const posted = await post(n, 1);
    expect(posted.status).toBe(201);
    const token = posted.headers.get('balance-token')!;
    const read = await balanceOf(b.bridge.url, acc('cash'), token);
    expect(BigInt(read.balance)).toBeGreaterThanOrEqual(BigInt(100 + n - 1));
  }
}, 60_000);
