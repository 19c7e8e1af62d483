/**
 * Runs one status-table row and checks what every row must satisfy, whatever its status:
 * the statuses, a timestamp on every result, strictly increasing timestamps for created events,
 * lookups that return those timestamps, `exists` answering with the original's timestamp, and
 * a batch where nothing was created leaving every account and transfer it touched unchanged.
 */
import {
  type Account,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
} from '../../../ledger/port';
import type { AccountCase } from './account-cases';
import { accountStatusName, Fixture, nth, transferStatusName } from './fixtures';
import type { TransferCase } from './transfer-cases';

interface Stamped {
  id: bigint;
  timestamp: bigint;
}

async function byId<T extends Stamped>(
  lookup: (ids: bigint[]) => Promise<T[]>,
  ids: bigint[],
): Promise<Map<bigint, T>> {
  return new Map((await lookup(ids)).map((x) => [x.id, x]));
}

/** Every result has a timestamp; created ones increase strictly in batch order. */
export function expectTimestamps(results: { timestamp: bigint; created: boolean }[]): void {
  let previous = 0n;
  results.forEach(({ timestamp, created }, index) => {
    expect({ index, positive: timestamp > 0n }).toEqual({ index, positive: true });
    if (!created) return;
    expect({ index, increasing: timestamp > previous }).toEqual({ index, increasing: true });
    previous = timestamp;
  });
}

/** created: stored with the result's timestamp; exists: answered with the stored timestamp. */
function expectStored(
  batch: Stamped[],
  results: { timestamp: bigint }[],
  kinds: ('created' | 'exists' | 'failed')[],
  stored: Map<bigint, Stamped>,
): void {
  batch.forEach((event, index) => {
    const kind = nth(kinds, index);
    if (kind === 'failed') return;
    const found = stored.get(event.id);
    expect({ index, kind, timestamp: found?.timestamp }).toEqual({
      index,
      kind,
      timestamp: nth(results, index).timestamp,
    });
  });
}

export async function runAccountCase(ledger: Ledger, c: AccountCase): Promise<void> {
  const fx = new Fixture(ledger);
  const batch = await c.build(fx);
  const ids = batch.map((a) => a.id);
  const lookup = (xs: bigint[]): Promise<Account[]> => ledger.lookupAccounts(xs);
  const before = await byId(lookup, ids);
  const results = await ledger.createAccounts(batch);

  expect(results.map((r) => accountStatusName(r.status))).toEqual(c.expect.map(accountStatusName));
  const kinds = results.map((r) =>
    r.status === CreateAccountStatus.created
      ? 'created'
      : r.status === CreateAccountStatus.exists
        ? 'exists'
        : 'failed',
  );
  expectTimestamps(
    results.map((r, i) => ({ timestamp: r.timestamp, created: kinds[i] === 'created' })),
  );
  const after = await byId(lookup, ids);
  expectStored(batch, results, kinds, after);
  if (!kinds.includes('created')) {
    for (const accountId of ids) expect(after.get(accountId)).toEqual(before.get(accountId));
  }
}

export async function runTransferCase(ledger: Ledger, c: TransferCase): Promise<void> {
  const fx = new Fixture(ledger);
  const batch = await c.build(fx);
  const ids = batch.map((t) => t.id);
  const lookup = (xs: bigint[]): Promise<Transfer[]> => ledger.lookupTransfers(xs);
  const before = await byId(lookup, ids);
  const accountsBefore = await ledger.lookupAccounts(fx.accountIds);
  const results = await ledger.createTransfers(batch);

  expect(results.map((r) => transferStatusName(r.status))).toEqual(
    c.expect.map(transferStatusName),
  );
  const kinds = results.map((r) =>
    r.status === CreateTransferStatus.created
      ? 'created'
      : r.status === CreateTransferStatus.exists
        ? 'exists'
        : 'failed',
  );
  expectTimestamps(
    results.map((r, i) => ({ timestamp: r.timestamp, created: kinds[i] === 'created' })),
  );
  const after = await byId(lookup, ids);
  expectStored(batch, results, kinds, after);
  if (!kinds.includes('created')) {
    // A batch that created nothing has no effect: TigerBeetle rolls back every failed event.
    expect(await ledger.lookupAccounts(fx.accountIds)).toEqual(accountsBefore);
    for (const transferId of ids) expect(after.get(transferId)).toEqual(before.get(transferId));
  }
  await c.verify?.(fx, batch);
}
