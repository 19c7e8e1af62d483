/**
 * Proves, against the embedded engine (TigerBeetle's semantics, fsync on), that journals sharing
 * one createTransfers request are independent: a chain that overdraws fails whole and alone while
 * its neighbours post, a hot account in every journal posts at full rate through the same batches,
 * the balances are exactly the sum of the posted chains, and a retry of the same chains is
 * `exists` with no second posting.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TransferBatcher } from '../../../ledger/batcher';
import {
  type Account,
  AccountFlags,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';
import { openEmbeddedLedger } from '../../../ledger/engine';
import { transfer } from '../../support/ledger/fakes';

const HOUSE = 1n;
const MERCHANT = 2n;
const CUSTOMERS = 20;
const JOURNALS = 2_000;
const FUNDING = 1_000n;
/** Every `POOR`-th customer is funded with too little for one journal. */
const POOR = 7;

function account(id: bigint, flags = 0): Account {
  return {
    id,
    debits_pending: 0n,
    debits_posted: 0n,
    credits_pending: 0n,
    credits_posted: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    reserved: 0,
    ledger: 1,
    code: 1,
    flags,
    timestamp: 0n,
  };
}

const customerId = (i: number): bigint => 100n + BigInt(i);
const isPoor = (i: number): boolean => i % POOR === 0;

/** Journal n: a customer pays the merchant 3 and the house a fee of 1, all-or-nothing. */
function journal(n: number): Transfer[] {
  const payer = n % CUSTOMERS;
  const id = 1_000_000n + BigInt(n) * 2n;
  const linked = TransferFlags.linked;
  return [
    transfer(id, {
      debit_account_id: customerId(payer),
      credit_account_id: MERCHANT,
      amount: 3n,
      flags: linked,
    }),
    transfer(id + 1n, {
      debit_account_id: customerId(payer),
      credit_account_id: HOUSE,
      amount: 1n,
    }),
  ];
}

describe('batcher over the embedded engine', () => {
  let dataDir: string;
  let ledger: Ledger;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batcher-engine-'));
    ledger = await openEmbeddedLedger({ dataDir, fsync: true });
    const accounts = [account(HOUSE), account(MERCHANT)];
    for (let i = 0; i < CUSTOMERS; i++) {
      accounts.push(account(customerId(i), AccountFlags.debits_must_not_exceed_credits));
    }
    const created = await ledger.createAccounts(accounts);
    expect(created.every((r) => r.status === CreateAccountStatus.created)).toBe(true);
    // Funding: the house credits each customer; poor ones get less than one journal costs.
    const funding = accounts.slice(2).map((customer, i) =>
      transfer(500n + BigInt(i), {
        debit_account_id: HOUSE,
        credit_account_id: customer.id,
        amount: isPoor(i) ? 2n : FUNDING,
      }),
    );
    const funded = await ledger.createTransfers(funding);
    expect(funded.every((r) => r.status === CreateTransferStatus.created)).toBe(true);
  });

  afterAll(async () => {
    await ledger.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a failing chain fails alone inside shared requests; balances add up', async () => {
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const journals = Array.from({ length: JOURNALS }, (_, n) => journal(n));
    const results = await Promise.all(journals.map((one) => batcher.submit(one)));
    // Few requests, each mixing poor and funded customers' journals.
    expect(batcher.stats.requests).toBeLessThanOrEqual(2);

    const { created, exceeds_credits, linked_event_failed } = CreateTransferStatus;
    let posted = 0;
    results.forEach((result, n) => {
      const statuses = result.map((r) => r.status);
      if (isPoor(n % CUSTOMERS)) {
        expect(statuses).toEqual([exceeds_credits, linked_event_failed]);
      } else {
        expect(statuses).toEqual([created, created]);
        posted++;
      }
    });
    expect(posted).toBe(JOURNALS - Math.ceil(CUSTOMERS / POOR) * (JOURNALS / CUSTOMERS));

    // Each funded customer paid 4 per journal; the merchant got 3 and the house 1 per posted one.
    const ids = [HOUSE, MERCHANT, ...Array.from({ length: CUSTOMERS }, (_, i) => customerId(i))];
    const [house, merchant, ...customers] = await ledger.lookupAccounts(ids);
    const poorCount = BigInt(Math.ceil(CUSTOMERS / POOR));
    const fundedOut = (BigInt(CUSTOMERS) - poorCount) * FUNDING + poorCount * 2n;
    expect(house!.debits_posted).toBe(fundedOut);
    expect(house!.credits_posted).toBe(BigInt(posted));
    expect(merchant!.credits_posted).toBe(3n * BigInt(posted));
    const perCustomer = BigInt(JOURNALS / CUSTOMERS);
    customers.forEach((customer, i) => {
      expect(customer.debits_posted).toBe(isPoor(i) ? 0n : perCustomer * 4n);
      expect(customer.credits_posted).toBe(isPoor(i) ? 2n : FUNDING);
    });
    await batcher.drain();
  });

  test('a retry of the same chains is `exists`, never a second posting', async () => {
    const before = await ledger.lookupAccounts([HOUSE, MERCHANT]);
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const retried = Array.from({ length: 50 }, (_, n) => journal(n + 1));
    const results = await Promise.all(retried.map((one) => batcher.submit(one)));
    // As in TigerBeetle, the chain stops at its first event that is not `created`: `exists` for
    // a posted journal, `id_already_failed` for one that failed for want of funds.
    const { exists, id_already_failed, linked_event_failed } = CreateTransferStatus;
    results.forEach((result, i) => {
      const first = isPoor((i + 1) % CUSTOMERS) ? id_already_failed : exists;
      expect(result.map((r) => r.status)).toEqual([first, linked_event_failed]);
    });
    expect(await ledger.lookupAccounts([HOUSE, MERCHANT])).toEqual(before);
    await batcher.drain();
  });
});
