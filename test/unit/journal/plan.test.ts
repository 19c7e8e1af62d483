/**
 * Proves planJournal maps a journal to one linked chain of TigerBeetle transfers that moves
 * exactly the journal's lines: worked examples (the recipe's one-to-many and many-to-many tables,
 * several assets, an account on both sides, a hold), every 422 code with its field and line, and
 * fast-check properties over random balanced multi-asset journals — amounts conserved per line
 * and per account, linked on all but the last, unique ids, deterministic and independent of the
 * order of the lines, never an account paying itself. Also planHoldResolution's post/void chains
 * and its errors.
 */
import fc from 'fast-check';
import { JournalError } from '../../../bridge/src/journal/errors';
import type { Journal, JournalLine, LineType } from '../../../events/journal-model';
import {
  type AccountRef,
  canonicalJournal,
  JOURNAL_TRANSFER_CODE,
  journalContentHash,
  type JournalPlan,
  planHoldResolution,
  planJournal,
} from '../../../bridge/src/journal/plan';
import { parseJournal } from '../../../bridge/src/journal/schema';
import { transferId } from '../../../ledger/ids';
import { type Transfer, TransferFlags } from '../../../ledger/port';
import {
  ACCOUNTS,
  HOLD_CODES,
  PLAN_CASES,
  ref,
  ULID,
  validBody,
} from '../../support/journal/cases';

const id = (accountId: string): bigint => ACCOUNTS.get(accountId)!.ledgerId;

function journal(lines: Array<[string, LineType, bigint]>, patch: Partial<Journal> = {}): Journal {
  return {
    journalId: ULID,
    date: '2024-03-01',
    description: 'test',
    source: 'jest',
    lines: lines.map(([accountId, lineType, amount], i) => ({
      lineNumber: i + 1,
      accountId,
      lineType,
      amount,
    })),
    pending: null,
    ...patch,
  };
}

/** [debit account, credit account, amount, flags] per transfer, for readable expectations. */
function moves(plan: JournalPlan): Array<[string, string, bigint, number]> {
  const name = new Map([...ACCOUNTS.values()].map((r) => [r.ledgerId, r.accountId]));
  return plan.transfers.map((t) => [
    name.get(t.debit_account_id)!,
    name.get(t.credit_account_id)!,
    t.amount,
    t.flags,
  ]);
}

const { linked, pending: pendingFlag, none } = TransferFlags;

describe('planJournal: examples', () => {
  it('maps a 2-line journal to one transfer carrying every field', () => {
    const j = parseJournal(validBody());
    const plan = planJournal(j, ACCOUNTS);
    expect(plan.transfers).toEqual([
      {
        id: transferId(ULID, 'create', 0),
        debit_account_id: id('cash'),
        credit_account_id: id('rent'),
        amount: 1500n,
        pending_id: 0n,
        user_data_128: journalContentHash(j),
        user_data_64: BigInt(Date.UTC(2024, 2, 1)),
        user_data_32: 1,
        timeout: 0,
        ledger: 840,
        code: JOURNAL_TRANSFER_CODE,
        flags: none,
        timestamp: 0n,
      },
    ]);
    expect(plan.lines).toEqual([{ debitLine: 1, creditLine: 2 }]);
    expect(plan.contentHash).toBe(journalContentHash(j));
  });

  it("is the recipe's single debit, multiple credits table", () => {
    const plan = planJournal(
      journal([
        ['cash', 'DEBIT', 10060n],
        ['rent', 'CREDIT', 10000n],
        ['fees', 'CREDIT', 50n],
        ['tax', 'CREDIT', 10n],
      ]),
      ACCOUNTS,
    );
    expect(moves(plan)).toEqual([
      ['cash', 'rent', 10000n, linked],
      ['cash', 'fees', 50n, linked],
      ['cash', 'tax', 10n, none],
    ]);
    expect(plan.lines).toEqual([
      { debitLine: 1, creditLine: 2 },
      { debitLine: 1, creditLine: 3 },
      { debitLine: 1, creditLine: 4 },
    ]);
  });

  it("pairs the recipe's many-to-many example directly: 3 transfers where a control account takes 5", () => {
    const plan = planJournal(
      journal([
        ['cash', 'DEBIT', 10000n],
        ['fees', 'DEBIT', 50n],
        ['rent', 'CREDIT', 9000n],
        ['tax', 'CREDIT', 1000n],
        ['eur-cash', 'DEBIT', 7n],
        ['eur-sales', 'CREDIT', 7n],
        ['rent', 'CREDIT', 50n],
      ]),
      ACCOUNTS,
    );
    expect(moves(plan)).toEqual([
      ['cash', 'rent', 9000n, linked],
      ['cash', 'tax', 1000n, linked],
      ['fees', 'rent', 50n, linked],
      ['eur-cash', 'eur-sales', 7n, none],
    ]);
    expect(plan.transfers.map((t) => t.ledger)).toEqual([840, 840, 840, 978]);
  });

  it('never pairs an account with itself when it is on both sides', () => {
    // Plain north-west would pair line 1 (fees) with line 3 (fees).
    const plan = planJournal(
      journal([
        ['fees', 'DEBIT', 5n],
        ['cash', 'DEBIT', 5n],
        ['fees', 'CREDIT', 5n],
        ['rent', 'CREDIT', 5n],
      ]),
      ACCOUNTS,
    );
    expect(moves(plan)).toEqual([
      ['fees', 'rent', 5n, linked],
      ['cash', 'fees', 5n, none],
    ]);
  });

  it('creates a hold: pending on every transfer, with the timeout', () => {
    const plan = planJournal(
      journal(
        [
          ['cash', 'DEBIT', 3n],
          ['rent', 'CREDIT', 2n],
          ['fees', 'CREDIT', 1n],
        ],
        { pending: { timeoutSeconds: 90 } },
      ),
      ACCOUNTS,
    );
    expect(plan.transfers.map((t) => [t.flags, t.timeout])).toEqual([
      [pendingFlag | linked, 90],
      [pendingFlag, 90],
    ]);
  });

  it('hashes the content: line order does not matter, every field does', () => {
    const base = parseJournal(validBody());
    const hash = journalContentHash(base);
    expect(journalContentHash({ ...base, lines: [...base.lines].reverse() })).toBe(hash);
    const changes: Array<Partial<Journal>> = [
      { description: 'March rent.' },
      { date: '2024-03-01T00:00Z' },
      { source: 'api' },
      { pending: { timeoutSeconds: 60 } },
      { lines: base.lines.map((l) => ({ ...l, lineNumber: l.lineNumber + 1 })) },
      { lines: base.lines.map((l) => ({ ...l, amount: l.amount + 1n })) },
    ];
    for (const change of changes) expect(journalContentHash({ ...base, ...change })).not.toBe(hash);
  });
});

describe('planJournal: every ledger error with its field and line', () => {
  it.each(PLAN_CASES)('$name → $code', ({ make, code, field, line }) => {
    const j = parseJournal(make(validBody()));
    let error: unknown;
    try {
      planJournal(j, ACCOUNTS);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JournalError);
    const e = error as JournalError;
    expect({ code: e.code, field: e.field, line: e.line }).toEqual({ code, field, line });
    expect(e.httpStatus).toBe(422);
  });

  it('says which asset is unbalanced and both sums', () => {
    const j = journal([
      ['eur-cash', 'DEBIT', 5n],
      ['eur-sales', 'CREDIT', 5n],
      ['cash', 'DEBIT', 1500n],
      ['rent', 'CREDIT', 1400n],
    ]);
    let caught: unknown;
    try {
      planJournal(j, ACCOUNTS);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(JournalError);
    expect((caught as JournalError).toBody()).toEqual({
      error: {
        code: 'unbalanced_journal',
        message: 'USD debits 1500 ≠ credits 1400',
        field: 'lines',
        asset: 'USD',
        debits: '1500',
        credits: '1400',
      },
    });
  });
});

describe('planHoldResolution', () => {
  const held = planJournal(
    journal(
      [
        ['cash', 'DEBIT', 30n],
        ['rent', 'CREDIT', 20n],
        ['fees', 'CREDIT', 10n],
      ],
      { pending: { timeoutSeconds: 60 } },
    ),
    ACCOUNTS,
  ).transfers;
  const single = planJournal(
    journal(
      [
        ['cash', 'DEBIT', 30n],
        ['rent', 'CREDIT', 30n],
      ],
      {
        pending: { timeoutSeconds: 60 },
      },
    ),
    ACCOUNTS,
  ).transfers;

  it('posts a whole hold: one linked chain of post_pending_transfer, in any lookup order', () => {
    const posts = planHoldResolution(ULID, [...held].reverse(), 'post');
    expect(posts).toEqual(
      held.map((p, i) => ({
        ...p,
        id: transferId(ULID, 'post', i),
        pending_id: p.id,
        timeout: 0,
        flags: TransferFlags.post_pending_transfer | (i === 0 ? linked : none),
      })),
    );
  });

  it('voids a hold with the pending amounts and void ids', () => {
    const voids = planHoldResolution(ULID, held, 'void');
    expect(voids.map((t) => [t.id, t.pending_id, t.amount, t.flags])).toEqual([
      [transferId(ULID, 'void', 0), held[0]!.id, 20n, TransferFlags.void_pending_transfer | linked],
      [transferId(ULID, 'void', 1), held[1]!.id, 10n, TransferFlags.void_pending_transfer],
    ]);
  });

  it.each([1n, 29n, 30n])('posts %p of a single-transfer hold of 30', (amount) => {
    expect(planHoldResolution(ULID, single, 'post', amount).map((t) => t.amount)).toEqual([amount]);
  });

  const posted = single.map((t) => ({ ...t, flags: none }));
  const refusals: Array<[string, Transfer[], bigint | undefined, string, number]> = [
    ['no transfers', [], undefined, 'journal_not_found', 404],
    ['not a hold', posted, undefined, 'journal_not_pending', 409],
    ['part of a multi-transfer hold', held, 5n, 'hold_partial_unsupported', 422],
    ['more than held', single, 31n, 'hold_amount_exceeds_pending', 422],
    ['zero', single, 0n, 'amount_out_of_range', 400],
  ];
  it.each(refusals)('refuses to post %s', (_what, chain, amount, code, status) => {
    expect(() => planHoldResolution(ULID, chain, 'post', amount)).toThrow(
      expect.objectContaining({ code, httpStatus: status }),
    );
  });

  it('raises every code errors.test.ts counts as covered by holds', () => {
    expect(new Set(refusals.map((r) => r[3]))).toEqual(new Set(HOLD_CODES));
  });

  it('crashes on a broken chain (a lookup that missed a transfer), not a JournalError', () => {
    let error: unknown;
    try {
      planHoldResolution(ULID, held.slice(1), 'post');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(JournalError);
  });
});

// Random balanced journals: up to 3 assets, 4 accounts each (so accounts often land on both
// sides), 1-5 debits per asset and the same total split into 1-5 credits, shuffled, with random
// unique lineNumbers, sometimes a hold.
const ASSETS = ['USD', 'EUR', 'BTC'];
const REGISTRY: ReadonlyMap<string, AccountRef> = new Map(
  ASSETS.flatMap((asset) => [0, 1, 2, 3].map((k) => ref(`${asset}-${k}`, asset))).map((r) => [
    r.accountId,
    r,
  ]),
);
const amount = fc.oneof(fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 1n, max: 1n << 100n }));

function assetLines(asset: string): fc.Arbitrary<Array<Omit<JournalLine, 'lineNumber'>>> {
  const debits = fc.array(fc.record({ k: fc.nat(3), amount }), { minLength: 1, maxLength: 5 });
  const creditAccounts = fc.array(fc.nat(3), { minLength: 1, maxLength: 5 });
  return fc.tuple(debits, creditAccounts).chain(([ds, cs]) => {
    const total = ds.reduce((s, d) => s + d.amount, 0n);
    const count = total < BigInt(cs.length) ? Number(total) : cs.length;
    const cuts = fc.uniqueArray(fc.bigInt({ min: 1n, max: total }), {
      minLength: count - 1,
      maxLength: count - 1,
    });
    return cuts.map((c) => {
      const points = [0n, ...c.filter((x) => x < total).sort((a, b) => (a < b ? -1 : 1)), total];
      const credits = points.slice(1).map((p, i) => p - points[i]!);
      return [
        ...ds.map((d) => ({
          accountId: `${asset}-${d.k}`,
          lineType: 'DEBIT' as const,
          amount: d.amount,
        })),
        ...credits.map((a, i) => ({
          accountId: `${asset}-${cs[i]}`,
          lineType: 'CREDIT' as const,
          amount: a,
        })),
      ];
    });
  });
}

const journals: fc.Arbitrary<Journal> = fc
  .tuple(fc.subarray(ASSETS, { minLength: 1 }), fc.boolean(), fc.constantFrom(ULID, 'order-17'))
  .chain(([assets, hold, journalId]) =>
    fc.tuple(...assets.map(assetLines)).chain((groups) => {
      const lines = groups.flat();
      const n = lines.length;
      return fc
        .tuple(
          fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: n, maxLength: n }),
          fc.array(fc.double(), { minLength: n, maxLength: n }),
        )
        .map(([numbers, keys]) => ({
          journalId,
          date: '2024-03-01',
          description: 'property',
          source: 'fast-check',
          lines: lines
            .map((l, i) => ({ ...l, lineNumber: numbers[i]!, key: keys[i]! }))
            .sort((a, b) => a.key - b.key)
            .map(({ key: _key, ...l }) => l),
          pending: hold ? { timeoutSeconds: 30 } : null,
        }));
    }),
  );

/** An account debited and credited for more than its asset moves cannot avoid paying itself. */
function paysItself(j: Journal): boolean {
  const total = new Map<string, bigint>();
  const weight = new Map<string, bigint>();
  for (const l of j.lines) {
    const asset = REGISTRY.get(l.accountId)!.asset;
    if (l.lineType === 'DEBIT') total.set(asset, (total.get(asset) ?? 0n) + l.amount);
    weight.set(l.accountId, (weight.get(l.accountId) ?? 0n) + l.amount);
  }
  return [...weight].some(([a, w]) => w > total.get(REGISTRY.get(a)!.asset)!);
}

function sums(entries: Array<[bigint | number, bigint]>): Map<bigint | number, bigint> {
  const map = new Map<bigint | number, bigint>();
  for (const [key, value] of entries) map.set(key, (map.get(key) ?? 0n) + value);
  return map;
}

function checkPlan(j: Journal, plan: JournalPlan): void {
  const { transfers } = plan;
  const n = transfers.length;
  expect(n).toBeGreaterThanOrEqual(1);
  expect(n).toBeLessThanOrEqual(j.lines.length);
  const refOf = (accountId: string): AccountRef => REGISTRY.get(accountId)!;
  const byNumber = new Map(j.lines.map((l) => [l.lineNumber, l]));
  transfers.forEach((t, i) => {
    expect(t.id).toBe(transferId(j.journalId, 'create', i));
    expect(t.amount > 0n).toBe(true);
    expect(t.debit_account_id).not.toBe(t.credit_account_id);
    expect(t.flags & linked).toBe(i < n - 1 ? linked : 0);
    expect(t.flags & pendingFlag).toBe(j.pending === null ? 0 : pendingFlag);
    expect([t.user_data_32, t.user_data_128]).toEqual([n, plan.contentHash]);
    const debit = byNumber.get(plan.lines[i]!.debitLine)!;
    const credit = byNumber.get(plan.lines[i]!.creditLine)!;
    expect([debit.lineType, credit.lineType]).toEqual(['DEBIT', 'CREDIT']);
    expect(t.debit_account_id).toBe(refOf(debit.accountId).ledgerId);
    expect(t.credit_account_id).toBe(refOf(credit.accountId).ledgerId);
    expect([refOf(debit.accountId).ledger, refOf(credit.accountId).ledger]).toEqual([
      t.ledger,
      t.ledger,
    ]);
  });
  expect(new Set(transfers.map((t) => t.id)).size).toBe(n);
  // Conserved per line, and so per account, on each side.
  const pick = (side: LineType) => j.lines.filter((l) => l.lineType === side);
  const perLine = (side: 'debitLine' | 'creditLine') =>
    sums(transfers.map((t, i) => [plan.lines[i]![side], t.amount]));
  expect(perLine('debitLine')).toEqual(sums(pick('DEBIT').map((l) => [l.lineNumber, l.amount])));
  expect(perLine('creditLine')).toEqual(sums(pick('CREDIT').map((l) => [l.lineNumber, l.amount])));
  const perAccount = (side: LineType) =>
    sums(pick(side).map((l) => [refOf(l.accountId).ledgerId, l.amount]));
  expect(sums(transfers.map((t) => [t.debit_account_id, t.amount]))).toEqual(perAccount('DEBIT'));
  expect(sums(transfers.map((t) => [t.credit_account_id, t.amount]))).toEqual(perAccount('CREDIT'));
}

describe('planJournal: properties of random balanced journals', () => {
  it('hashes the documented canonical form: JSON of the array, lines by lineNumber', () => {
    const text = fc.string({ unit: 'binary', maxLength: 20 });
    fc.assert(
      fc.property(journals, text, text, (j, description, source) => {
        const journal = { ...j, description, source };
        const expected = JSON.stringify([
          'journal.v1',
          journal.journalId,
          journal.date,
          description,
          source,
          [...journal.lines]
            .sort((a, b) => a.lineNumber - b.lineNumber)
            .map((l) => [l.lineNumber, l.accountId, l.lineType, l.amount.toString()]),
          journal.pending === null ? null : journal.pending.timeoutSeconds,
        ]);
        expect(canonicalJournal(journal)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('conserves amounts, links all but the last, unique ids; refuses exactly the self-paying', () => {
    fc.assert(
      fc.property(journals, (j) => {
        if (paysItself(j)) {
          expect(() => planJournal(j, REGISTRY)).toThrow(
            expect.objectContaining({ code: 'self_transfer' }),
          );
          return;
        }
        checkPlan(j, planJournal(j, REGISTRY));
      }),
      { numRuns: 700 },
    );
  });

  it('is deterministic and independent of the order of the lines (a reordered retry is the same)', () => {
    fc.assert(
      fc.property(journals, (j) => {
        fc.pre(!paysItself(j));
        const plan = planJournal(j, REGISTRY);
        expect(planJournal(j, REGISTRY)).toEqual(plan);
        expect(planJournal({ ...j, lines: [...j.lines].reverse() }, REGISTRY)).toEqual(plan);
      }),
      { numRuns: 250 },
    );
  });

  it('makes at most lines - 1 transfers per asset when no account is on both sides', () => {
    fc.assert(
      fc.property(journals, (j) => {
        const sides = new Map<string, Set<LineType>>();
        for (const l of j.lines)
          sides.set(l.accountId, (sides.get(l.accountId) ?? new Set()).add(l.lineType));
        fc.pre([...sides.values()].every((s) => s.size === 1));
        const plan = planJournal(j, REGISTRY);
        const assets = new Set(j.lines.map((l) => REGISTRY.get(l.accountId)!.asset));
        expect(plan.transfers.length).toBeLessThanOrEqual(j.lines.length - assets.size);
      }),
      { numRuns: 200 },
    );
  });
});
