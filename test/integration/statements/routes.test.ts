/**
 * Proves GET /api/accounts/:accountId/entries over real HTTP (the lean router on node:http) and
 * real PostgreSQL (a schema of this file's own): a seeded journal history is projected into the
 * journal store from its outcome events, and its transfers, with raw transfers (no journal)
 * interleaved, into the statement and account-balance models from their change events. Walking
 * the cursor with several page sizes returns every entry of the account exactly once, in
 * (timestamp, transfer id) order; each balance is the running balance on the account's normal side
 * and the last one equals the account-balance model's posted totals; a journal's entry carries
 * its journal, line and description (a hold's post, the held lines), and a raw transfer is an
 * entry of kind `raw` with null journal fields, never left out; bad limits and cursors are 400s
 * naming the field; an unknown account is a 404.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import pino from 'pino';
import type pg from 'pg';
import { AssetRegistry } from '../../../bridge/src/accounts/registry';
import { AccountService } from '../../../bridge/src/accounts/service';
import { sendError } from '../../../bridge/src/http/respond';
import { Router } from '../../../bridge/src/http/router';
import { CreateTransferStatus, type Ledger } from '../../../ledger/port';
import type { JournalOutcome } from '../../../events/journal-model';
import { decodeCursor, encodeCursor } from '../../../bridge/src/statements/cursor';
import { statementRoutes, type StatementPage } from '../../../bridge/src/statements/routes';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import { accountBalanceProjection } from '../../../projections/src/read-models/account-balance';
import { statementProjection } from '../../../projections/src/read-models/statement';
import { changeRecords, changesOfOutcomes } from '../../support/projections/change-fixtures';
import {
  ACCOUNTS,
  applyAll,
  createModelSchema,
  historyArbitrary,
  type ModelSchema,
  projected,
} from '../../support/projections/read-models-fixtures';

let schema: ModelSchema;
let db: pg.Pool;
let server: http.Server;
let base: string;
interface JournalFields {
  journalId: string;
  kind: 'posted' | 'hold_posted';
  description: string;
  /** Debit and credit line numbers. */
  lines: [number, number];
}
/** What each journal transfer's entry says of its journal, by transfer id. */
const journalOf = new Map<string, JournalFields>();
/** The raw transfers (no journal), in timestamp order. */
let rawIds: string[] = [];

/** The journal, lines and kind each created transfer's entries must show. */
function expectJournals(history: readonly JournalOutcome[]): void {
  const held = new Map<bigint, [number, number]>();
  for (const outcome of history) {
    for (const { transfer, debitLine, creditLine, status } of outcome.transfers) {
      if (status !== CreateTransferStatus.created) continue;
      const lines: [number, number] =
        debitLine !== null && creditLine !== null
          ? [debitLine, creditLine]
          : held.get(transfer.pending_id)!;
      if (outcome.kind === 'held') held.set(transfer.id, lines);
      journalOf.set(transfer.id.toString(), {
        journalId: outcome.journalId,
        kind: outcome.kind === 'hold_posted' ? 'hold_posted' : 'posted',
        description: `journal ${outcome.journalId.slice(1)}`,
        lines,
      });
    }
  }
}

beforeAll(async () => {
  schema = await createModelSchema('statements', /^000[12456]_/);
  db = schema.pool;
  // The longest of a few seeded histories with a hold posted (every kind of entry).
  const history = fc
    .sample(historyArbitrary, { seed: 7, numRuns: 12 })
    .filter((h) => h.some((outcome) => outcome.kind === 'hold_posted'))
    .reduce((a, b) => (b.length > a.length ? b : a));
  await applyAll(db, new JournalStoreProjection(), projected(history));
  const fed = changesOfOutcomes(history, (n) => n % 3 === 0);
  rawIds = fed.rawIds.map(String);
  expect(rawIds.length).toBeGreaterThan(1);
  expectJournals(history);
  const records = changeRecords(fed.changes);
  await applyAll(db, statementProjection, records);
  await applyAll(db, accountBalanceProjection, records);
  // requireAccount reads PostgreSQL only; the ledger is never asked here.
  const accounts = new AccountService({
    db,
    ledger: {} as Ledger,
    registry: await AssetRegistry.load(db),
  });
  const router = new Router();
  statementRoutes(router, {
    pick: () => db,
    accounts,
    topic: 'test.statements',
    groupId: 'test.statements',
    consistencyWaitMs: 100,
    partitions: { countFor: async () => 1 },
  });
  const log = pino({ level: 'silent' });
  server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = router.match(req.method ?? 'GET', path);
    if (route === null) {
      res.writeHead(404).end();
      return;
    }
    route.handler({ req, res, params: route.params, path }).catch((error: unknown) => {
      sendError(res, error, log, { path });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await schema?.drop();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function entriesPath(accountId: string, query = ''): string {
  return `/api/accounts/${encodeURIComponent(accountId)}/entries${query}`;
}

async function walk(accountId: string, limit: number): Promise<StatementPage['entries']> {
  const all: StatementPage['entries'] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1_000; pages++) {
    const query: string = `?limit=${limit}` + (cursor === null ? '' : `&cursor=${cursor}`);
    const { status, body } = await get(entriesPath(accountId, query));
    expect(status).toBe(200);
    const page = body as unknown as StatementPage;
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    all.push(...page.entries);
    cursor = page.nextCursor;
    if (cursor === null) return all;
  }
  throw new Error('the cursor never ended');
}

describe.each([ACCOUNTS.cash, ACCOUNTS.alice, ACCOUNTS.aliceEur])('statement of $id', (account) => {
  it.each([1, 3, 50, 500])('walks every entry exactly once with limit %i', async (limit) => {
    const entries = await walk(account.id, limit);
    const { rows } = await db.query<{ transfer_id: string }>(
      'SELECT transfer_id FROM rm_statement_entry WHERE ledger_account_id = $1 ' +
        'ORDER BY tb_timestamp, transfer_id',
      [account.ledgerId.toString()],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(entries.map((e) => e.transferId)).toEqual(rows.map((r) => r.transfer_id));
  });

  it('carries the running normal-side balance, ending at the account-balance model', async () => {
    const entries = await walk(account.id, 7);
    const { rows } = await db.query<{ debits_posted: string; credits_posted: string }>(
      'SELECT debits_posted, credits_posted FROM rm_account_balance WHERE ledger_account_id = $1',
      [account.ledgerId.toString()],
    );
    const debitNormal = account.type === 'asset';
    let balance = 0n;
    for (const entry of entries) {
      balance +=
        (entry.side === 'DEBIT') === debitNormal ? BigInt(entry.amount) : -BigInt(entry.amount);
      expect(entry.balance).toBe(balance.toString());
    }
    const debits = BigInt(rows[0]!.debits_posted);
    const credits = BigInt(rows[0]!.credits_posted);
    expect(balance).toBe(debitNormal ? debits - credits : credits - debits);
  });

  it("names each entry's journal, line and description, or says it is raw", async () => {
    const entries = await walk(account.id, 500);
    const raw = new Set(rawIds);
    for (const entry of entries) {
      const journal = journalOf.get(entry.transferId);
      if (journal === undefined) {
        expect(raw.has(entry.transferId)).toBe(true);
        expect(entry).toMatchObject({
          kind: 'raw',
          journalId: null,
          lineNumber: null,
          description: null,
        });
        continue;
      }
      const { lines, ...fields } = journal;
      const lineNumber = entry.side === 'DEBIT' ? lines[0] : lines[1];
      expect(entry).toMatchObject({ ...fields, lineNumber });
    }
    // Every raw transfer moved cash and alice: both statements show all of them.
    const shown = entries.filter((e) => e.kind === 'raw').map((e) => e.transferId);
    expect(shown).toEqual(account.ledger === 1 ? rawIds : []);
  });
});

it('has every kind of entry to show: posted, hold_posted and raw', async () => {
  const entries: StatementPage['entries'] = [];
  for (const account of Object.values(ACCOUNTS)) entries.push(...(await walk(account.id, 500)));
  expect(new Set(entries.map((e) => e.kind))).toEqual(new Set(['posted', 'hold_posted', 'raw']));
});

it('answers the first page with the default limit of 50 and a next cursor', async () => {
  const { status, body } = await get(entriesPath(ACCOUNTS.cash.id));
  expect(status).toBe(200);
  expect(body).toMatchObject({ accountId: ACCOUNTS.cash.id, asset: 'USD', normalSide: 'DEBIT' });
  const count = (body.entries as unknown[]).length;
  expect(count).toBeLessThanOrEqual(50);
});

it.each([
  ['limit=0', 'invalid_limit', 'limit'],
  ['limit=501', 'invalid_limit', 'limit'],
  ['limit=-1', 'invalid_limit', 'limit'],
  ['limit=abc', 'invalid_limit', 'limit'],
  ['limit=1.5', 'invalid_limit', 'limit'],
  ['limit=', 'invalid_limit', 'limit'],
  ['limit=1&limit=2', 'invalid_limit', 'limit'],
  ['cursor=zzz', 'invalid_cursor', 'cursor'],
  ['cursor=%2F%2F', 'invalid_cursor', 'cursor'],
  [`cursor=${Buffer.from('1:x').toString('base64url')}`, 'invalid_cursor', 'cursor'],
  [`cursor=${Buffer.from('01:2').toString('base64url')}`, 'invalid_cursor', 'cursor'],
  [`cursor=${Buffer.from(`${1n << 64n}:2`).toString('base64url')}`, 'invalid_cursor', 'cursor'],
])('answers ?%s with 400 %s naming %s', async (query, code, field) => {
  const { status, body } = await get(entriesPath(ACCOUNTS.cash.id, `?${query}`));
  expect(status).toBe(400);
  expect(body).toEqual({ error: expect.objectContaining({ code, field }) });
});

it('answers an unknown account with 404', async () => {
  const { status, body } = await get(entriesPath('nobody.usd'));
  expect(status).toBe(404);
  expect(body).toEqual({ error: expect.objectContaining({ code: 'account_not_found' }) });
});

it('round-trips cursors and refuses non-canonical ones', () => {
  const key = { tbTimestamp: '1763700000000000001', transferId: (1n << 127n).toString() };
  expect(decodeCursor(encodeCursor(key))).toEqual(key);
  expect(decodeCursor(`${encodeCursor(key)}=`)).toBeNull();
});
