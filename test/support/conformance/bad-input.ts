/**
 * Bad input never crashes the ledger: what TigerBeetle judges per event (ids of 0, unknown flag
 * bits) is a status in the status tables; what the wire cannot carry (a field outside its integer
 * width, a value of the wrong type) and batches over the limit reject the whole request with a
 * typed LedgerError ('invalid_event' naming the event, 'too_much_data'), before anything is
 * applied; so does a query limit over what one reply holds, on all four query operations. After
 * each rejection the ledger keeps serving.
 */
import {
  type Account,
  type AccountFilter,
  AccountFlags,
  BATCH_EVENTS_MAX,
  type Ledger,
  LedgerError,
  type LedgerErrorCode,
  type QueryFilter,
  type Transfer,
  U128_MAX,
  U32_MAX,
  U64_MAX,
} from '../../../ledger/port';
import {
  account,
  accountStatusName,
  Fixture,
  id,
  nth,
  transfer,
  transferStatusName,
} from './fixtures';
import type { LedgerHandle } from './suite';

/** The rejection of `call` (a synchronous throw counts), or a failure if it resolved. */
async function rejection(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await Promise.resolve().then(call);
  } catch (error) {
    return error;
  }
  throw new Error('expected the request to be rejected, but it resolved');
}

async function expectLedgerError(
  call: () => Promise<unknown>,
  code: LedgerErrorCode,
  eventIndex?: number,
): Promise<void> {
  const error = await rejection(call);
  expect(error).toBeInstanceOf(LedgerError);
  expect((error as LedgerError).code).toBe(code);
  if (eventIndex !== undefined) expect((error as LedgerError).eventIndex).toBe(eventIndex);
}

/** Values the wire format cannot carry, cast past the types as a JavaScript caller could. */
const BAD_ACCOUNTS: [string, Record<string, unknown>][] = [
  ['debits_posted over u128', { debits_posted: U128_MAX + 1n }],
  ['a negative id', { id: -1n }],
  ['an id given as a number', { id: 1 }],
  ['user_data_64 over u64', { user_data_64: U64_MAX + 1n }],
  ['a negative user_data_32', { user_data_32: -1 }],
  ['ledger over u32', { ledger: 2 ** 32 }],
  ['code over u16', { code: 65_536 }],
  ['flags over u16', { flags: 1 << 16 }],
  ['a fractional code', { code: 1.5 }],
  ['a timestamp given as a string', { timestamp: '0' }],
];

const BAD_TRANSFERS: [string, Record<string, unknown>][] = [
  ['amount over u128', { amount: U128_MAX + 1n }],
  ['a negative amount', { amount: -1n }],
  ['an amount given as a number', { amount: 10 }],
  ['pending_id over u128', { pending_id: 1n << 128n }],
  ['timeout over u32', { timeout: 2 ** 32 }],
  ['a negative timeout', { timeout: -1 }],
  ['flags over u16', { flags: 1 << 16 }],
  ['a NaN ledger', { ledger: Number.NaN }],
  ['a missing debit_account_id', { debit_account_id: undefined }],
];

export function describeBadInput(h: LedgerHandle): void {
  describe('bad input gets a status or a typed error, never a crash', () => {
    it.each(BAD_ACCOUNTS)(
      'createAccounts with %s: invalid_event, nothing created',
      async (_n, bad) => {
        const good = account();
        const batch = [good, { ...account(), ...bad } as unknown as Account];
        await expectLedgerError(() => h.ledger.createAccounts(batch), 'invalid_event', 1);
        expect(await h.ledger.lookupAccounts([good.id])).toEqual([]);
      },
    );

    it.each(BAD_TRANSFERS)(
      'createTransfers with %s: invalid_event, nothing moved',
      async (_n, bad) => {
        const fx = new Fixture(h.ledger);
        const [a, b] = await fx.pair();
        const good = transfer({ debit_account_id: a.id, credit_account_id: b.id });
        const worse = { ...transfer({ debit_account_id: a.id, credit_account_id: b.id }), ...bad };
        const batch = [good, worse as unknown as Transfer];
        await expectLedgerError(() => h.ledger.createTransfers(batch), 'invalid_event', 1);
        expect(await h.ledger.lookupTransfers([good.id])).toEqual([]);
        expect((await fx.balances(a.id)).debits_posted).toBe(0n);
      },
    );

    it('in-range bad values are TigerBeetle statuses, not errors', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const accounts = await h.ledger.createAccounts([
        account({ id: 0n }),
        account({ flags: 1 << 6 }),
      ]);
      expect(accounts.map((r) => accountStatusName(r.status))).toEqual([
        'id_must_not_be_zero',
        'reserved_flag',
      ]);
      const move = { debit_account_id: a.id, credit_account_id: b.id };
      const transfers = await h.ledger.createTransfers([
        transfer({ ...move, id: 0n }),
        transfer({ ...move, flags: 1 << 9 }),
        transfer({ ...move, amount: U128_MAX, debit_account_id: 0n }),
      ]);
      expect(transfers.map((r) => transferStatusName(r.status))).toEqual([
        'id_must_not_be_zero',
        'reserved_flag',
        'debit_account_id_must_not_be_zero',
      ]);
    });

    it('a null event is invalid_event', async () => {
      const batch = [null as unknown as Account];
      await expectLedgerError(() => h.ledger.createAccounts(batch), 'invalid_event', 0);
    });

    it('lookups of ids outside u128 are invalid_event', async () => {
      await expectLedgerError(
        () => h.ledger.lookupAccounts([id(), 1n << 128n]),
        'invalid_event',
        1,
      );
      await expectLedgerError(() => h.ledger.lookupTransfers([-1n]), 'invalid_event', 0);
    });

    it('filters with a field outside its width are invalid_event', async () => {
      const filter = {
        account_id: U128_MAX + 1n,
        user_data_128: 0n,
        user_data_64: 0n,
        user_data_32: 0,
        code: 0,
        timestamp_min: 0n,
        timestamp_max: 0n,
        limit: 10,
        flags: 3,
      } as AccountFilter;
      await expectLedgerError(() => h.ledger.getAccountTransfers(filter), 'invalid_event');
      await expectLedgerError(
        () => h.ledger.getAccountBalances({ ...filter, account_id: 1n, limit: -1 }),
        'invalid_event',
      );
      const query: QueryFilter = { ...filter, ledger: 0, code: 70_000 } as unknown as QueryFilter;
      await expectLedgerError(() => h.ledger.queryAccounts(query), 'invalid_event');
      await expectLedgerError(() => h.ledger.queryTransfers(query), 'invalid_event');
    });

    it(`batches over ${BATCH_EVENTS_MAX} events are too_much_data`, async () => {
      const over = BATCH_EVENTS_MAX + 1;
      const accounts = Array.from({ length: over }, () => account({ id: 0n }));
      const transfers = Array.from({ length: over }, () => transfer({ id: 0n }));
      const ids = Array.from({ length: over }, () => 1n);
      await expectLedgerError(() => h.ledger.createAccounts(accounts), 'too_much_data');
      await expectLedgerError(() => h.ledger.createTransfers(transfers), 'too_much_data');
      await expectLedgerError(() => h.ledger.lookupAccounts(ids), 'too_much_data');
      await expectLedgerError(() => h.ledger.lookupTransfers(ids), 'too_much_data');
    });

    it(`a batch of exactly ${BATCH_EVENTS_MAX} events is accepted`, async () => {
      const batch = Array.from({ length: BATCH_EVENTS_MAX }, () => account({ id: 0n }));
      const results = await h.ledger.createAccounts(batch);
      expect(results.length).toBe(BATCH_EVENTS_MAX);
      expect(new Set(results.map((r) => accountStatusName(r.status)))).toEqual(
        new Set(['id_must_not_be_zero']),
      );
    });

    describeLimitOverReply(h);

    it('the ledger keeps serving after every rejection', async () => {
      await assertServing(h.ledger);
    });
  });
}

/**
 * A query limit over what one reply holds: tigerbeetle-node 0.17.9 refuses it before sending
 * (ERR_TOO_MUCH_DATA) on all four query operations, whatever the rest of the filter; a ledger
 * must not cap the limit and answer instead.
 */
function describeLimitOverReply(h: LedgerHandle): void {
  describe(`a filter limit over ${BATCH_EVENTS_MAX} is too_much_data`, () => {
    let history: Account;
    let tag: bigint;
    beforeAll(async () => {
      const fx = new Fixture(h.ledger);
      tag = id();
      const both = await fx.accounts([
        { flags: AccountFlags.history, user_data_128: tag },
        { user_data_128: tag },
      ]);
      history = nth(both, 0);
      const move = { debit_account_id: history.id, credit_account_id: nth(both, 1).id };
      await fx.created([transfer({ ...move, user_data_128: tag })]);
    });
    const byAccount = (limit: number, valid: boolean): AccountFilter => ({
      account_id: valid ? history.id : 0n,
      user_data_128: 0n,
      user_data_64: 0n,
      user_data_32: 0,
      code: 0,
      timestamp_min: 0n,
      timestamp_max: 0n,
      limit,
      flags: 3,
    });
    const byTag = (limit: number, valid: boolean): QueryFilter => ({
      user_data_128: tag,
      user_data_64: 0n,
      user_data_32: 0,
      ledger: 0,
      code: 0,
      timestamp_min: 0n,
      timestamp_max: valid ? 0n : U64_MAX,
      limit,
      flags: 0,
    });
    // Each query operation, and what it finds with a limit of exactly BATCH_EVENTS_MAX.
    const queries: [string, number, (limit: number, valid: boolean) => Promise<unknown[]>][] = [
      ['get_account_transfers', 1, (l, v) => h.ledger.getAccountTransfers(byAccount(l, v))],
      ['get_account_balances', 1, (l, v) => h.ledger.getAccountBalances(byAccount(l, v))],
      ['query_accounts', 2, (l, v) => h.ledger.queryAccounts(byTag(l, v))],
      ['query_transfers', 1, (l, v) => h.ledger.queryTransfers(byTag(l, v))],
    ];
    it.each(queries)('%s', async (_op, found, query) => {
      for (const limit of [BATCH_EVENTS_MAX + 1, 10_000, U32_MAX]) {
        await expectLedgerError(() => query(limit, true), 'too_much_data');
      }
      await expectLedgerError(() => query(BATCH_EVENTS_MAX + 1, false), 'too_much_data');
      expect((await query(BATCH_EVENTS_MAX, true)).length).toBe(found);
    });
  });
}

async function assertServing(ledger: Ledger): Promise<void> {
  const fx = new Fixture(ledger);
  const [a, b] = await fx.pair();
  await fx.created([transfer({ debit_account_id: a.id, credit_account_id: b.id, amount: 1n })]);
  expect((await fx.balances(b.id)).credits_posted).toBe(1n);
}
