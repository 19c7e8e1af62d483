/**
 * Reads: lookups (missing ids skipped, order and repeats kept), empty batches,
 * getAccountTransfers and getAccountBalances (history) with every AccountFilter field, and
 * queryAccounts / queryTransfers with every QueryFilter field, including the invalid filters that
 * find nothing (a timestamp bound past 2^63 - 1 among them). Each test tags its data with a fresh
 * user_data_128 so earlier data in a shared cluster never matches.
 */
import {
  type Account,
  type AccountFilter,
  AccountFilterFlags,
  AccountFlags,
  type QueryFilter,
  QueryFilterFlags,
  type Transfer,
  TransferFlags,
  U64_MAX,
} from '../../../ledger/port';
import { Fixture, id, LEDGER, LEDGER_OTHER, nth, resolve, transfer } from './fixtures';
import type { LedgerHandle } from './suite';

/** TigerBeetle's batch_max for these operations (the reply holds at most 8189 objects). */
const LIMIT_MAX = 8189;
const BOTH = AccountFilterFlags.debits | AccountFilterFlags.credits;
/** The largest timestamp (u63 max: the top bit of a u64 timestamp is an LSM tombstone). */
const TIMESTAMP_MAX = (1n << 63n) - 1n;

/**
 * A bound in 2^63 .. 2^64 - 1 makes the whole filter invalid on TigerBeetle 0.17.9 (verified on
 * a cluster, for all four query operations): it finds nothing, even where every object is in
 * range (timestamp_min 1) — not only u64 max, and not a far-future bound that matches all.
 */
const BOUNDS_PAST_TIMESTAMP_MAX: [string, { timestamp_min?: bigint; timestamp_max?: bigint }][] = [
  ['timestamp_min u64 max', { timestamp_min: U64_MAX }],
  ['timestamp_max u64 max', { timestamp_max: U64_MAX }],
  ['timestamp_max 2^63', { timestamp_min: 1n, timestamp_max: TIMESTAMP_MAX + 1n }],
  ['timestamp_max 2^63 + 2^40', { timestamp_max: TIMESTAMP_MAX + 1n + (1n << 40n) }],
  ['timestamp_max 2^64 - 2', { timestamp_max: U64_MAX - 1n }],
  ['timestamp_min 2^63', { timestamp_min: TIMESTAMP_MAX + 1n }],
  ['timestamp_min 2^64 - 2', { timestamp_min: U64_MAX - 1n, timestamp_max: U64_MAX - 1n }],
];

const accountFilter = (over: Partial<AccountFilter>): AccountFilter => ({
  account_id: 0n,
  user_data_128: 0n,
  user_data_64: 0n,
  user_data_32: 0,
  code: 0,
  timestamp_min: 0n,
  timestamp_max: 0n,
  limit: LIMIT_MAX,
  flags: BOTH,
  ...over,
});

const queryFilter = (over: Partial<QueryFilter>): QueryFilter => ({
  user_data_128: 0n,
  user_data_64: 0n,
  user_data_32: 0,
  ledger: 0,
  code: 0,
  timestamp_min: 0n,
  timestamp_max: 0n,
  limit: LIMIT_MAX,
  flags: QueryFilterFlags.none,
  ...over,
});

const ids = (xs: { id: bigint }[]): bigint[] => xs.map((x) => x.id);
const pick = <T>(xs: T[], indexes: number[]): T[] => indexes.map((i) => nth(xs, i));

export function describeLookups(h: LedgerHandle): void {
  describe('lookups and empty batches', () => {
    it('lookups skip missing ids and keep the order (and repeats) of the ids asked', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      const found = await h.ledger.lookupAccounts([b.id, id(), a.id, b.id]);
      expect(ids(found)).toEqual([b.id, a.id, b.id]);
      const t = await fx.createdOne(transfer({ debit_account_id: a.id, credit_account_id: b.id }));
      const transfers = await h.ledger.lookupTransfers([id(), t.id, 0n]);
      expect(ids(transfers)).toEqual([t.id]);
      expect(nth(transfers, 0)).toEqual(t);
      expect(await h.ledger.lookupAccounts([0n, id()])).toEqual([]);
    });

    it('empty batches answer empty', async () => {
      expect(await h.ledger.createAccounts([])).toEqual([]);
      expect(await h.ledger.createTransfers([])).toEqual([]);
      expect(await h.ledger.lookupAccounts([])).toEqual([]);
      expect(await h.ledger.lookupTransfers([])).toEqual([]);
    });
  });
}

/** X with six transfers: even ones debit X, odd ones credit X; codes 1,1,1,2,2,2. */
async function accountWithTransfers(
  fx: Fixture,
): Promise<{ x: Account; y: Account; ts: Transfer[]; tag: bigint }> {
  const [x, y] = await fx.three([AccountFlags.history, 0, 0]);
  const tag = id();
  const ts = Array.from({ length: 6 }, (_, i) =>
    transfer({
      debit_account_id: i % 2 === 0 ? x.id : y.id,
      credit_account_id: i % 2 === 0 ? y.id : x.id,
      amount: BigInt(10 + i),
      code: i < 3 ? 1 : 2,
      user_data_128: i === 0 || i === 3 ? tag : 0n,
    }),
  );
  // One event per batch, so the history has one balance per transfer in transfer order.
  for (const t of ts) await fx.created([t]);
  return { x, y, ts, tag };
}

export function describeAccountTransfers(h: LedgerHandle): void {
  describe('getAccountTransfers', () => {
    let x: Account;
    let ts: Transfer[];
    let tag: bigint;
    beforeAll(async () => {
      ({ x, ts, tag } = await accountWithTransfers(new Fixture(h.ledger)));
    });
    const get = (over: Partial<AccountFilter>): Promise<Transfer[]> =>
      h.ledger.getAccountTransfers(accountFilter({ account_id: x.id, ...over }));

    it('debits and credits, oldest first, as stored', async () => {
      expect(await get({})).toEqual(ts);
    });
    it.each([
      ['debits only', { flags: AccountFilterFlags.debits }, [0, 2, 4]],
      ['credits only', { flags: AccountFilterFlags.credits }, [1, 3, 5]],
      ['reversed', { flags: BOTH | AccountFilterFlags.reversed }, [5, 4, 3, 2, 1, 0]],
      ['limit', { limit: 2 }, [0, 1]],
      ['reversed with limit', { flags: BOTH | AccountFilterFlags.reversed, limit: 2 }, [5, 4]],
      ['code', { code: 2 }, [3, 4, 5]],
      ['debits with code', { code: 1, flags: AccountFilterFlags.debits }, [0, 2]],
    ] as [string, Partial<AccountFilter>, number[]][])('%s', async (_name, over, expected) => {
      expect(ids(await get(over))).toEqual(ids(pick(ts, expected)));
    });
    it('user_data_128', async () => {
      expect(ids(await get({ user_data_128: tag }))).toEqual(ids(pick(ts, [0, 3])));
    });
    it('timestamp range, both ends included', async () => {
      const range = { timestamp_min: nth(ts, 2).timestamp, timestamp_max: nth(ts, 4).timestamp };
      expect(ids(await get(range))).toEqual(ids(pick(ts, [2, 3, 4])));
    });
    it('timestamp_max 2^63 - 1, the largest timestamp, is a valid bound', async () => {
      expect(ids(await get({ timestamp_min: 1n, timestamp_max: TIMESTAMP_MAX }))).toEqual(ids(ts));
      const balances = accountFilter({ account_id: x.id, timestamp_max: TIMESTAMP_MAX });
      expect((await h.ledger.getAccountBalances(balances)).length).toBe(ts.length);
    });
    it.each([
      ['account_id 0', { account_id: 0n }],
      ['limit 0', { limit: 0 }],
      ['neither debits nor credits', { flags: AccountFilterFlags.none }],
      ['an unknown flag', { flags: BOTH | (1 << 3) }],
      ['timestamp_min after timestamp_max', { timestamp_min: 2n, timestamp_max: 1n }],
      ...BOUNDS_PAST_TIMESTAMP_MAX,
    ] as [string, Partial<AccountFilter>][])(
      'an invalid filter (%s) finds nothing',
      async (_n, over) => {
        expect(await get(over)).toEqual([]);
        expect(
          await h.ledger.getAccountBalances(accountFilter({ account_id: x.id, ...over })),
        ).toEqual([]);
      },
    );
  });
}

export function describeAccountBalances(h: LedgerHandle): void {
  describe('getAccountBalances (history)', () => {
    it('one balance per transfer, as it stood after that transfer', async () => {
      const fx = new Fixture(h.ledger);
      const [x, y] = await fx.three([AccountFlags.history, 0, 0]);
      const move = (from: Account, to: Account, over: Partial<Transfer>): Transfer =>
        transfer({ debit_account_id: from.id, credit_account_id: to.id, ...over });
      const p = move(x, y, { amount: 20n, flags: TransferFlags.pending });
      const steps = [move(y, x, { amount: 100n }), move(x, y, { amount: 30n }), p];
      for (const t of steps) await fx.created([t]);
      const post = await fx.createdOne(resolve('post', p.id, { amount: 15n }));
      const balances = await h.ledger.getAccountBalances(accountFilter({ account_id: x.id }));
      const row = (dp: bigint, dpo: bigint, timestamp: bigint) => ({
        debits_pending: dp,
        debits_posted: dpo,
        credits_pending: 0n,
        credits_posted: 100n,
        timestamp,
      });
      const stamps = [...steps, post].map((t) => t.timestamp);
      const expected = [
        row(0n, 0n, nth(stamps, 0)),
        row(0n, 30n, nth(stamps, 1)),
        row(20n, 30n, nth(stamps, 2)),
        row(0n, 45n, nth(stamps, 3)),
      ];
      expect(balances).toEqual(expected);
      const reversed = { account_id: x.id, flags: BOTH | AccountFilterFlags.reversed, limit: 2 };
      expect(await h.ledger.getAccountBalances(accountFilter(reversed))).toEqual([
        nth(expected, 3),
        nth(expected, 2),
      ]);
    });

    it('an account without the history flag has no balances', async () => {
      const fx = new Fixture(h.ledger);
      const [a, b] = await fx.pair();
      await fx.created([transfer({ debit_account_id: a.id, credit_account_id: b.id })]);
      expect(await h.ledger.getAccountBalances(accountFilter({ account_id: a.id }))).toEqual([]);
    });
  });
}

export function describeQueries(h: LedgerHandle): void {
  describe('queryAccounts and queryTransfers', () => {
    let tag: bigint;
    let accounts: Account[];
    let transfers: Transfer[];
    beforeAll(async () => {
      const fx = new Fixture(h.ledger);
      tag = id();
      // Codes 10,10,20,20,10; user_data_64 1,2,1,2,1; the last one on LEDGER_OTHER.
      accounts = await fx.accounts(
        [0, 1, 2, 3, 4].map((i) => ({
          user_data_128: tag,
          user_data_64: BigInt(1 + (i % 2)),
          user_data_32: 7,
          code: i === 2 || i === 3 ? 20 : 10,
          ledger: i === 4 ? LEDGER_OTHER : LEDGER,
        })),
      );
      transfers = await fx.created(
        [0, 1, 2].map((i) =>
          transfer({
            debit_account_id: nth(accounts, i === 2 ? 2 : 0).id,
            credit_account_id: nth(accounts, 1).id,
            user_data_128: tag,
            user_data_64: BigInt(1 + (i % 2)),
            code: i === 2 ? 20 : 10,
          }),
        ),
      );
    });

    it.each([
      ['user_data_128', {}, [0, 1, 2, 3, 4]],
      ['and code', { code: 20 }, [2, 3]],
      ['and user_data_64', { user_data_64: 2n }, [1, 3]],
      ['and user_data_32', { user_data_32: 7 }, [0, 1, 2, 3, 4]],
      ['and ledger', { ledger: LEDGER_OTHER }, [4]],
      ['reversed', { flags: QueryFilterFlags.reversed }, [4, 3, 2, 1, 0]],
      ['limit', { limit: 2 }, [0, 1]],
      ['reversed with limit', { flags: QueryFilterFlags.reversed, limit: 2 }, [4, 3]],
    ] as [string, Partial<QueryFilter>, number[]][])(
      'queryAccounts by %s',
      async (_n, over, expected) => {
        const found = await h.ledger.queryAccounts(queryFilter({ user_data_128: tag, ...over }));
        expect(ids(found)).toEqual(ids(pick(accounts, expected)));
      },
    );

    it('queryAccounts by timestamp range (ends included) returns stored accounts', async () => {
      const range = {
        timestamp_min: nth(accounts, 1).timestamp,
        timestamp_max: nth(accounts, 3).timestamp,
      };
      const found = await h.ledger.queryAccounts(queryFilter({ user_data_128: tag, ...range }));
      expect(found).toEqual(await h.ledger.lookupAccounts(ids(pick(accounts, [1, 2, 3]))));
    });

    it.each([
      ['user_data_128', {}, [0, 1, 2]],
      ['and code', { code: 20 }, [2]],
      ['and user_data_64', { user_data_64: 1n }, [0, 2]],
      ['and ledger', { ledger: LEDGER }, [0, 1, 2]],
      ['reversed with limit', { flags: QueryFilterFlags.reversed, limit: 2 }, [2, 1]],
    ] as [string, Partial<QueryFilter>, number[]][])(
      'queryTransfers by %s',
      async (_n, over, expected) => {
        const found = await h.ledger.queryTransfers(queryFilter({ user_data_128: tag, ...over }));
        expect(found).toEqual(pick(transfers, expected));
      },
    );

    it('timestamp_max 2^63 - 1, the largest timestamp, is a valid bound', async () => {
      const filter = queryFilter({ user_data_128: tag, timestamp_max: TIMESTAMP_MAX });
      expect(ids(await h.ledger.queryAccounts(filter))).toEqual(ids(accounts));
      expect(ids(await h.ledger.queryTransfers(filter))).toEqual(ids(transfers));
    });

    it.each([
      ['limit 0', { limit: 0 }],
      ['an unknown flag', { flags: 1 << 1 }],
      ['timestamp_min after timestamp_max', { timestamp_min: 2n, timestamp_max: 1n }],
      ...BOUNDS_PAST_TIMESTAMP_MAX,
    ] as [string, Partial<QueryFilter>][])(
      'an invalid filter (%s) finds nothing',
      async (_n, over) => {
        const filter = queryFilter({ user_data_128: tag, ...over });
        expect(await h.ledger.queryAccounts(filter)).toEqual([]);
        expect(await h.ledger.queryTransfers(filter)).toEqual([]);
      },
    );
  });
}
