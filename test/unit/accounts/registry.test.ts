/**
 * Proves the registry's bounded re-read without a database, on a fake clock and a fake table
 * reader that counts its reads: a miss re-reads only when the snapshot is `missReloadMs` old, so a
 * flood of unknown codes costs one read per period, and a code added to the tables is found by
 * every lookup that starts `missReloadMs` after it was added, also when a read that started before
 * it is still in flight. Also the unknown-code errors (valid codes, field) and the admin
 * requests' validation.
 */
import type { Queryable } from '../../../core/postgres/pool';
import { AccountError } from '../../../bridge/src/accounts/errors';
import { AssetRegistry } from '../../../bridge/src/accounts/registry';
import {
  parseCreateAccountType,
  parseCreateAsset,
} from '../../../bridge/src/accounts/registry-validation';

const BOUND_MS = 1_000;

/** The asset and account_type tables, read by the registry; reads can be held open. */
class FakeTables implements Queryable {
  assets = [{ code: 'USD', ledger: 1, scale: 2, name: 'US dollar' }];
  types = [{ code: 'asset', normal_side: 'DEBIT', tb_code: 1, default_flags: 0, description: 'a' }];
  reads = 0;
  /** While set, asset reads wait for it (a read in flight). */
  gate: Promise<void> | null = null;

  async query<R>(text: string): Promise<never> {
    if (text.includes('FROM asset')) {
      this.reads++;
      // What the table holds when the read starts is what it answers.
      const rows = [...this.assets];
      if (this.gate !== null) await this.gate;
      return { rows } as never;
    }
    return { rows: [...this.types] as R[] } as never;
  }
}

let tables: FakeTables;
let nowMs: number;
let registry: AssetRegistry;

beforeEach(async () => {
  tables = new FakeTables();
  nowMs = 0;
  registry = await AssetRegistry.load(tables, { missReloadMs: BOUND_MS, nowMs: () => nowMs });
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('a miss', () => {
  it('re-reads at most once per missReloadMs, however many unknown codes arrive', async () => {
    const readsAtLoad = tables.reads;
    nowMs = BOUND_MS;
    for (const code of ['AAA', 'BBB', 'CCC']) {
      await expect(registry.lookupAsset(code)).rejects.toMatchObject({ code: 'unknown_asset' });
    }
    expect(tables.reads).toBe(readsAtLoad + 1);
    nowMs = 2 * BOUND_MS - 1;
    await expect(registry.lookupAsset('DDD')).rejects.toThrow(AccountError);
    expect(tables.reads).toBe(readsAtLoad + 1);
    nowMs = 2 * BOUND_MS;
    await expect(registry.lookupAsset('EEE')).rejects.toThrow(AccountError);
    expect(tables.reads).toBe(readsAtLoad + 2);
  });

  it('finds a code added elsewhere once missReloadMs has passed since it was added', async () => {
    nowMs = 400;
    tables.assets.push({ code: 'XAU', ledger: 5, scale: 4, name: 'Gold' });
    // The snapshot was read at 0, before the add: it may be missed until 1000 ...
    nowMs = 999;
    await expect(registry.lookupAsset('XAU')).rejects.toMatchObject({ code: 'unknown_asset' });
    // ... and is found from 1000 on (well within 400 + BOUND_MS).
    nowMs = BOUND_MS;
    await expect(registry.lookupAsset('XAU')).resolves.toMatchObject({ ledger: 5 });
  });

  it('waits for a read in flight, and reads again if that read started too long ago', async () => {
    let open!: () => void;
    tables.gate = new Promise((resolve) => (open = resolve));
    nowMs = BOUND_MS;
    const inFlight = registry.reload(); // started at 1000, before the add
    tables.gate = null;
    nowMs = 1_100;
    tables.assets.push({ code: 'XAU', ledger: 5, scale: 4, name: 'Gold' });
    nowMs = 2_100; // the in-flight read is now a whole bound old
    const lookup = registry.lookupAsset('XAU');
    open();
    await inFlight;
    await expect(lookup).resolves.toMatchObject({ code: 'XAU' });
  });

  it('lists the valid codes and names the field', async () => {
    const error = await caught(registry.lookupAsset('DOGE', 'lines[0].asset'));
    expect(error).toMatchObject({
      code: 'unknown_asset',
      httpStatus: 422,
      field: 'lines[0].asset',
      message: "unknown asset 'DOGE'; valid: USD",
    });
    expect((error as AccountError).toBody().error).toMatchObject({ valid: ['USD'] });
    expect(() => registry.accountType('loan')).toThrow("unknown account type 'loan'; valid: asset");
  });
});

describe('the admin requests', () => {
  it('encode default flags as TigerBeetle bits, absent as none', () => {
    const base = { code: 'loan', normalSide: 'DEBIT', tbCode: 9, description: 'Loans' };
    expect(parseCreateAccountType(base).defaultFlags).toBe(0);
    expect(
      parseCreateAccountType({
        ...base,
        defaultFlags: { history: true, creditsMustNotExceedDebits: true },
      }).defaultFlags,
    ).toBe(8 | 4);
    expect(
      parseCreateAccountType({ ...base, defaultFlags: { debitsMustNotExceedCredits: true } })
        .defaultFlags,
    ).toBe(2);
  });

  it.each([
    [
      'an asset with an unknown top-level key',
      () => parseCreateAsset({ code: 'XAU', ledger: 5, scale: 4, name: 'Gold', x: 1 }),
      'x',
    ],
    [
      'an asset missing its code',
      () => parseCreateAsset({ ledger: 1, scale: 0, name: 'n' }),
      'code',
    ],
    ['an asset that is a string', () => parseCreateAsset('USD'), 'body'],
  ])('name the field of %s', (_label, parse, field) => {
    expect(parse).toThrow(expect.objectContaining({ code: 'invalid_input', field }));
  });
});
