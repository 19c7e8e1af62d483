/**
 * The Ledger conformance suite: one definition, registered once per adapter (embedded engine,
 * TigerBeetle cluster), written against ledger/port.ts only.
 *
 * Sections: status tables (a row for every CreateAccountStatus and CreateTransferStatus, plus
 * rows where two failures coincide and TigerBeetle's order of checks decides), a completeness
 * check of those tables against the enums, chains, timestamps, two-phase and balancing
 * transfers, closing accounts, reads, bad input, call order, a seeded property test, and close().
 */
import {
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  LedgerError,
} from '../../../ledger/port';
import { ACCOUNT_CASES, ACCOUNT_ORDER_CASES } from './account-cases';
import { describeBadInput } from './bad-input';
import { accountStatusName, transferStatusName } from './fixtures';
import { describeOrdering } from './ordering';
import { describePropertyTest } from './property';
import {
  describeAccountBalances,
  describeAccountTransfers,
  describeLookups,
  describeQueries,
} from './queries';
import { runAccountCase, runTransferCase } from './runner';
import {
  describeBalancing,
  describeClosing,
  describeLinkedChains,
  describeTimestamps,
  describeTwoPhase,
} from './semantics';
import {
  TRANSFER_EVENT_CASES,
  TRANSFER_EVENT_ORDER_CASES,
  TRANSFER_IMPORT_CASES,
  type TransferCase,
} from './transfer-cases';
import {
  TRANSFER_BALANCE_CASES,
  TRANSFER_PENDING_CASES,
  TRANSFER_STATE_ORDER_CASES,
} from './transfer-state-cases';

/** The ledger under test, opened in beforeAll. */
export interface LedgerHandle {
  readonly ledger: Ledger;
}

const TRANSFER_CASES: TransferCase[] = [
  ...TRANSFER_EVENT_CASES,
  ...TRANSFER_IMPORT_CASES,
  ...TRANSFER_PENDING_CASES,
  ...TRANSFER_BALANCE_CASES,
];
const TRANSFER_ORDER_CASES = [...TRANSFER_EVENT_ORDER_CASES, ...TRANSFER_STATE_ORDER_CASES];
const CASE_TIMEOUT_MS = 30_000;

/**
 * Statuses no request through the port can produce, with the reason. The completeness check
 * accepts a status here instead of a row, and refuses one that is both.
 */
export const UNREACHABLE_TRANSFER_STATUSES: Partial<Record<CreateTransferStatus, string>> = {
  // create_transfer: `sum_overflows(u63, t.timestamp, t.timeout * ns_per_s)`. The longest
  // timeout (u32 max seconds ≈ 4.3e18 ns) overflows only once the cluster clock passes
  // ≈ 4.9e18 ns (year 2125), and imported events (the only client-set timestamps) must have
  // timeout 0. The table row "the longest timeout (overflows_timeout boundary)" pins the other
  // side: such a transfer is created.
  [CreateTransferStatus.overflows_timeout]: 'needs a cluster clock past the year 2125',
};

const enumValues = <E extends number>(e: Record<string, string | number>): E[] =>
  Object.values(e).filter((v): v is E => typeof v === 'number');

function describeStatusTables(h: LedgerHandle): void {
  describe('create_accounts statuses (TigerBeetle reference, one row per status)', () => {
    it.each(ACCOUNT_CASES.map((c) => [c.name, c] as const))('%s', (_n, c) =>
      runAccountCase(h.ledger, c),
    );
  });
  describe('create_accounts: coinciding failures, first check wins', () => {
    it.each(ACCOUNT_ORDER_CASES.map((c) => [c.name, c] as const))('%s', (_n, c) =>
      runAccountCase(h.ledger, c),
    );
  });
  describe('create_transfers statuses (TigerBeetle reference, one row per status)', () => {
    for (const c of TRANSFER_CASES) {
      it(c.name, () => runTransferCase(h.ledger, c), c.timeoutMs ?? CASE_TIMEOUT_MS);
    }
  });
  describe('create_transfers: coinciding failures, first check wins', () => {
    it.each(TRANSFER_ORDER_CASES.map((c) => [c.name, c] as const))('%s', (_n, c) =>
      runTransferCase(h.ledger, c),
    );
  });
}

function describeCompleteness(): void {
  describe('the status tables cover every status', () => {
    it('every CreateAccountStatus has a row, and no row expects an unknown one', () => {
      const covered = new Set([...ACCOUNT_CASES, ...ACCOUNT_ORDER_CASES].flatMap((c) => c.expect));
      const all = enumValues<CreateAccountStatus>(CreateAccountStatus);
      expect([...covered].map(accountStatusName).sort()).toEqual(all.map(accountStatusName).sort());
    });

    it('every CreateTransferStatus has a row or a stated reason it is unreachable', () => {
      const rows = new Set([...TRANSFER_CASES, ...TRANSFER_ORDER_CASES].flatMap((c) => c.expect));
      const keys = Object.keys(UNREACHABLE_TRANSFER_STATUSES).map(Number) as CreateTransferStatus[];
      expect(keys.filter((s) => rows.has(s)).map(transferStatusName)).toEqual([]);
      const covered = [...rows, ...keys].map(transferStatusName).sort();
      const all = enumValues<CreateTransferStatus>(CreateTransferStatus);
      expect(covered).toEqual(all.map(transferStatusName).sort());
    });
  });
}

function describeClose(h: LedgerHandle & { closed: () => void }): void {
  describe('close()', () => {
    const title =
      'after close(), every operation rejects with LedgerError closed; close() is idempotent';
    it(title, async () => {
      await h.ledger.close();
      h.closed();
      const calls: (() => Promise<unknown>)[] = [
        () => h.ledger.createAccounts([]),
        () => h.ledger.createTransfers([]),
        () => h.ledger.lookupAccounts([1n]),
        () => h.ledger.lookupTransfers([1n]),
      ];
      for (const call of calls) {
        const error = await Promise.resolve()
          .then(call)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(LedgerError);
        expect((error as LedgerError).code).toBe('closed');
      }
      await h.ledger.close();
    });
  });
}

/**
 * Registers the whole suite for one adapter. `open` is called once, in beforeAll; the suite
 * closes the ledger itself (its last test checks close()).
 */
export function defineLedgerConformance(name: string, open: () => Promise<Ledger>): void {
  describe(`Ledger conformance: ${name}`, () => {
    let ledger: Ledger | undefined;
    let isClosed = false;
    const handle = {
      get ledger(): Ledger {
        if (ledger === undefined) throw new Error(`${name}: the ledger did not open`);
        return ledger;
      },
      closed: (): void => {
        isClosed = true;
      },
    };
    beforeAll(async () => {
      ledger = await open();
    }, CASE_TIMEOUT_MS);
    afterAll(async () => {
      if (ledger !== undefined && !isClosed) await ledger.close();
    });

    describeStatusTables(handle);
    describeCompleteness();
    describeLinkedChains(handle);
    describeTimestamps(handle);
    describeTwoPhase(handle);
    describeBalancing(handle);
    describeClosing(handle);
    describeLookups(handle);
    describeAccountTransfers(handle);
    describeAccountBalances(handle);
    describeQueries(handle);
    describeBadInput(handle);
    describeOrdering(handle);
    describePropertyTest(handle);
    describeClose(handle);
  });
}
