/**
 * Builders and a per-test fixture for the Ledger conformance suite.
 *
 * Everything here goes through the Ledger port only. Ids come from tigerbeetle-node's `id()`
 * (time-ordered u128), so the suite can run against a shared cluster that holds data from earlier
 * runs: a test only ever looks at accounts and transfers it created itself.
 */
import { id } from 'tigerbeetle-node';
import {
  type Account,
  AccountFlags,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';

/** Ledger numbers the suite uses; any u32 works, these keep test data easy to spot. */
export const LEDGER = 700;
export const LEDGER_OTHER = 701;
export const CODE = 1;

/** 2^62 ns is in the year 2116: later than any clock the suite runs under, below u63 max. */
export const TIMESTAMP_FUTURE = 1n << 62n;

export { id };

export function account(over: Partial<Account> = {}): Account {
  return {
    id: id(),
    debits_pending: 0n,
    debits_posted: 0n,
    credits_pending: 0n,
    credits_posted: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    reserved: 0,
    ledger: LEDGER,
    code: CODE,
    flags: AccountFlags.none,
    timestamp: 0n,
    ...over,
  };
}

export function transfer(over: Partial<Transfer> = {}): Transfer {
  return {
    id: id(),
    debit_account_id: 0n,
    credit_account_id: 0n,
    amount: 10n,
    pending_id: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    timeout: 0,
    ledger: LEDGER,
    code: CODE,
    flags: TransferFlags.none,
    timestamp: 0n,
    ...over,
  };
}

/** A post or void of `pending_id`: zero accounts, ledger and code mean "as the pending one". */
export function resolve(
  kind: 'post' | 'void',
  pendingId: bigint,
  over: Partial<Transfer> = {},
): Transfer {
  return transfer({
    pending_id: pendingId,
    amount: 0n,
    ledger: 0,
    code: 0,
    flags:
      kind === 'post' ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer,
    ...over,
  });
}

export const accountStatusName = (s: CreateAccountStatus): string =>
  CreateAccountStatus[s] ?? `unknown(${s})`;
export const transferStatusName = (s: CreateTransferStatus): string =>
  CreateTransferStatus[s] ?? `unknown(${s})`;

/** Element `index` of `xs`; a missing one is a broken test assumption, not a ledger outcome. */
export function nth<T>(xs: readonly T[], index: number): T {
  const x = xs[index];
  if (x === undefined) throw new Error(`expected an element at index ${index} of ${xs.length}`);
  return x;
}

export const sleepMs = (ms: number): Promise<void> =>
  new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

export type Balances = Pick<
  Account,
  'debits_pending' | 'debits_posted' | 'credits_pending' | 'credits_posted'
>;

export function balancesOf(a: Account): Balances {
  return {
    debits_pending: a.debits_pending,
    debits_posted: a.debits_posted,
    credits_pending: a.credits_pending,
    credits_posted: a.credits_posted,
  };
}

/**
 * One test's view of the ledger: creates what the test needs and remembers every account it
 * made, so the case runner can check that a failed batch left all of them untouched.
 */
export class Fixture {
  readonly accountIds: bigint[] = [];

  constructor(readonly ledger: Ledger) {}

  /** Creates the accounts (all must be `created`) and returns them with their timestamps. */
  async accounts(specs: Partial<Account>[]): Promise<Account[]> {
    const batch = specs.map((spec) => account(spec));
    const results = await this.ledger.createAccounts(batch);
    const statuses = results.map((r) => accountStatusName(r.status));
    expect(statuses).toEqual(batch.map(() => 'created'));
    batch.forEach((a, i) => {
      a.timestamp = nth(results, i).timestamp;
      this.accountIds.push(a.id);
    });
    return batch;
  }

  async account(spec: Partial<Account> = {}): Promise<Account> {
    return nth(await this.accounts([spec]), 0);
  }

  /** Two plain accounts on LEDGER. */
  async pair(): Promise<[Account, Account]> {
    const both = await this.accounts([{}, {}]);
    return [nth(both, 0), nth(both, 1)];
  }

  /** Three accounts on LEDGER, with the given flags. */
  async three(flags: [number, number, number] = [0, 0, 0]): Promise<[Account, Account, Account]> {
    const all = await this.accounts(flags.map((f) => ({ flags: f })));
    return [nth(all, 0), nth(all, 1), nth(all, 2)];
  }

  /** Submits transfers that must all be `created`; returns them with their timestamps. */
  async created(batch: Transfer[]): Promise<Transfer[]> {
    const results = await this.ledger.createTransfers(batch);
    const statuses = results.map((r) => transferStatusName(r.status));
    expect(statuses).toEqual(batch.map(() => 'created'));
    batch.forEach((t, i) => (t.timestamp = nth(results, i).timestamp));
    return batch;
  }

  /** Submits one transfer that must be `created`; returns it with its timestamp. */
  async createdOne(t: Transfer): Promise<Transfer> {
    return nth(await this.created([t]), 0);
  }

  async pending(debit: Account, credit: Account, amount: bigint, timeout = 0): Promise<Transfer> {
    const p = transfer({
      debit_account_id: debit.id,
      credit_account_id: credit.id,
      amount,
      timeout,
      flags: TransferFlags.pending,
    });
    return this.createdOne(p);
  }

  async lookupAccount(accountId: bigint): Promise<Account> {
    const found = await this.ledger.lookupAccounts([accountId]);
    expect(found.length).toBe(1);
    return nth(found, 0);
  }

  async lookupTransfer(transferId: bigint): Promise<Transfer> {
    const found = await this.ledger.lookupTransfers([transferId]);
    expect(found.length).toBe(1);
    return nth(found, 0);
  }

  async balances(accountId: bigint): Promise<Balances> {
    return balancesOf(await this.lookupAccount(accountId));
  }

  /**
   * Timestamps that no object holds and that are later than every object so far: those of a
   * batch of invalid events (TigerBeetle gives every event of a batch its own timestamp, failed
   * ones included). Imported events placed in this gap are later than everything yet still in
   * the past, which is what the `imported_event_*` checks need.
   */
  async reserveTimestamps(count: number): Promise<bigint[]> {
    const results = await this.ledger.createAccounts(
      Array.from({ length: count }, () => account({ id: 0n })),
    );
    const statuses = results.map((r) => accountStatusName(r.status));
    expect(statuses).toEqual(results.map(() => 'id_must_not_be_zero'));
    const timestamps = results.map((r) => r.timestamp);
    for (let i = 1; i < timestamps.length; i++) {
      expect(nth(timestamps, i)).toBeGreaterThan(nth(timestamps, i - 1));
    }
    return timestamps;
  }

  /**
   * Two imported accounts X and Y whose timestamps sit inside a reserved gap g[0..5]: X at g[1],
   * Y at g[3]. Imported transfers between them can then be placed before, between or after.
   */
  async importedPair(): Promise<{ x: Account; y: Account; gap: bigint[] }> {
    const gap = await this.reserveTimestamps(6);
    const x = account({ flags: AccountFlags.imported, timestamp: nth(gap, 1) });
    const y = account({ flags: AccountFlags.imported, timestamp: nth(gap, 3) });
    const results = await this.ledger.createAccounts([x, y]);
    expect(results.map((r) => accountStatusName(r.status))).toEqual(['created', 'created']);
    this.accountIds.push(x.id, y.id);
    return { x, y, gap };
  }
}
