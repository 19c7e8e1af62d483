/**
 * Proves the full write and read path on the embedded engine, the fallback where no TigerBeetle
 * server exists (every other HTTP test runs on the real cluster): a bridge opened on an engine in
 * a fresh directory (TB_ADDRESSES empty) creates accounts, posts a journal and a hold, posts the
 * hold in part, answers a retry with the same body, and serves the balances that result.
 */
import { call, type Harness, startHarness } from '../../support/http/harness';

let h: Harness;
const id = (name: string) => `${h.run}-${name}`;

beforeAll(async () => {
  h = await startHarness({ TB_ADDRESSES: '' });
}, 60_000);

afterAll(async () => {
  await h?.dispose();
});

function journal(journalId: string, amount: string, timeoutSeconds?: number) {
  return {
    journalId,
    date: '2026-12-03',
    description: 'engine smoke',
    source: 'test/http',
    ...(timeoutSeconds === undefined ? {} : { pending: { timeoutSeconds } }),
    lines: [
      { lineNumber: 1, accountId: id('bank'), lineType: 'DEBIT', amount },
      { lineNumber: 2, accountId: id('sales'), lineType: 'CREDIT', amount },
    ],
  };
}

it('runs on the engine: accounts, a journal, its retry, a hold posted in part, balances', async () => {
  const base = h.bridge.url;
  expect(h.bridge.ledger.kind).toBe('embedded');
  for (const [name, accountType] of [
    ['bank', 'asset'],
    ['sales', 'revenue'],
  ]) {
    const body = { accountId: id(name!), name: name!, holderId: 'h', accountType, asset: 'USD' };
    expect((await call(base, 'POST', '/api/accounts', body)).status).toBe(201);
  }
  const first = await call(base, 'POST', '/api/journal', journal(id('j1'), '1000'));
  expect(first.status).toBe(201);
  const retry = await call(base, 'POST', '/api/journal', journal(id('j1'), '1000'));
  expect({ status: retry.status, body: retry.body }).toEqual({ status: 201, body: first.body });
  const hold = await call(base, 'POST', '/api/journal', journal(id('h1'), '500', 3600));
  expect(hold.status).toBe(201);
  const posted = await call(base, 'POST', `/api/journal/${id('h1')}/post`, { amount: '200' });
  expect(posted.status).toBe(201);
  const bank = await call(base, 'GET', `/api/balance/${id('bank')}`);
  expect(bank.status).toBe(200);
  expect(bank.body).toMatchObject({
    posted: { debits: '1200', credits: '0' },
    pending: { debits: '0', credits: '0' },
  });
});
