/**
 * Proves the balance route the lead wires in (bridge/src/balances/routes.ts) on the project's lean
 * router over node:http, with a real reader (the real TigerBeetle cluster when configured
 * (test/support/ledger.ts), else the embedded engine; PostgreSQL metadata; Redis): the body is
 * the balance view plus `cache: {level, ageMs}` (also in headers), a `Balance-Token` header or
 * `?balanceToken=` makes the read reflect that posting, and a malformed token is a 400
 * `invalid_balance_token`.
 */
import { NO_TENANTS } from '../../support/http/keys';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cachedBalanceRoutes } from '../../../bridge/src/balances/routes';
import type { BalanceReader } from '../../../bridge/src/balances/reader';
import { encodeBalanceToken } from '../../../bridge/src/balances/token';
import { sendError } from '../../../bridge/src/http/respond';
import { Router } from '../../../bridge/src/http/router';
import { createLogger } from '../../../core/logger';
import {
  createAccount,
  newReader,
  openWorld,
  post,
  type World,
} from '../../support/balances/fixtures';

let world: World;
let reader: BalanceReader;
let server: http.Server;
let base: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response): Promise<any> => res.json();

beforeAll(async () => {
  world = await openWorld('route');
  reader = newReader(world, { instanceId: 'route' });
  await reader.start();
  const router = new Router();
  cachedBalanceRoutes(router, reader, NO_TENANTS);
  const log = createLogger('silent');
  server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = router.match(req.method ?? 'GET', path)!;
    route.handler({ req, res, params: route.params, path }).catch((error: unknown) => {
      sendError(res, error, log, { path });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // The ledger is disposed even when set-up failed half way: an open cluster client keeps jest
  // from exiting.
  try {
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
    await reader?.close();
  } finally {
    await world?.dispose();
  }
});

test('the body says which level served the balance and how old it is', async () => {
  const id = `route-${world.run}`;
  const house = await createAccount(world, `route-house-${world.run}`, 'world');
  const ledgerId = await createAccount(world, id);
  await post(world, house, ledgerId, 42n);
  const first = await fetch(`${base}/api/balance/${id}`);
  expect(first.status).toBe(200);
  expect(first.headers.get('cache-level')).toBe('ledger');
  const body = await json(first);
  expect(body).toMatchObject({ accountId: id, balance: '42', cache: { level: 'ledger' } });
  expect(typeof body.cache.ageMs).toBe('number');
  const second = await json(await fetch(`${base}/api/balance/${id}`));
  expect(second.cache.level).toBe('l1');

  // A posting nobody announced: only the token makes the read see it.
  const change = await post(world, house, ledgerId, 8n);
  const token = encodeBalanceToken(change.ledgerTimestampNs);
  const viaHeader = await fetch(`${base}/api/balance/${id}`, {
    headers: { 'balance-token': token },
  });
  expect((await json(viaHeader)).balance).toBe('50');
  const viaQuery = await json(await fetch(`${base}/api/balance/${id}?balanceToken=${token}`));
  expect(viaQuery.balance).toBe('50');
});

test.each(['abc', '-1', '1.5', '99999999999999999999999'])('token %s is a 400', async (token) => {
  const res = await fetch(`${base}/api/balance/whatever?balanceToken=${token}`);
  expect(res.status).toBe(400);
  expect((await json(res)).error).toMatchObject({
    code: 'invalid_balance_token',
    field: 'balanceToken',
  });
});

test('an unknown account is a 404', async () => {
  const res = await fetch(`${base}/api/balance/nobody-${world.run}`);
  expect(res.status).toBe(404);
  expect((await json(res)).error.code).toBe('account_not_found');
});
