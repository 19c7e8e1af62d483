/**
 * Seeded property test: random batches of transfers (linked chains, pending / post / void,
 * balancing flags, duplicates, invalid events, amounts up to u128 max) over six fresh accounts on
 * two ledgers, with and without balance limits. After every batch, and again after replaying it:
 * - balances are exactly the effects of the transfers that were created (read back by lookup),
 *   so per ledger debits equal credits, pending and posted alike, and nothing overflows;
 * - no account with a limit has crossed it;
 * - the replay answers `exists` (with the original timestamp) for what was created,
 *   `id_already_failed` for transient failures and the same status for the other failures, as
 *   src/state_machine.zig does (`create_transfer`: exists, then orphaned ids; `transient()` in
 *   src/tigerbeetle.zig) — and changes no balance.
 * The seed comes from SEED (else random) and is in the test's name; on failure the
 * message repeats it with fast-check's path; `SEED=… CONFORMANCE_PATH=…` replays it.
 * CONFORMANCE_RUNS sets the number of runs (default 40).
 */
import { freshSeed } from '../seed';
import fc from 'fast-check';
import {
  type Account,
  AccountFlags,
  CreateTransferStatus as S,
  type CreateTransferResult,
  type Ledger,
  type Transfer,
  TransferFlags as TF,
  U128_MAX,
} from '../../../ledger/port';
import {
  type Balances,
  balancesOf,
  Fixture,
  id,
  LEDGER,
  LEDGER_OTHER,
  nth,
  transfer,
  transferStatusName,
} from './fixtures';
import type { LedgerHandle } from './suite';

const RUNS_DEFAULT = 40;
const BATCH_EVENTS_MAX = 8;
const BATCHES_MAX = 3;

/** TigerBeetle's transient statuses: the id is retired and a retry gets id_already_failed. */
const TRANSIENT = new Set<S>([
  S.debit_account_not_found,
  S.credit_account_not_found,
  S.pending_transfer_not_found,
  S.exceeds_credits,
  S.exceeds_debits,
  S.debit_account_already_closed,
  S.credit_account_already_closed,
]);
/** Not transient, yet a void in between can release the hold that caused them. */
const OVERFLOWS = new Set<S>([
  S.overflows_debits_pending,
  S.overflows_credits_pending,
  S.overflows_debits,
  S.overflows_credits,
  S.overflows_debits_posted,
  S.overflows_credits_posted,
]);

/** Account slots: F, A, D (debit-limited), C (credit-limited) on LEDGER; X, Y (debit-limited). */
const SLOTS: { ledger: number; flags: number }[] = [
  { ledger: LEDGER, flags: 0 },
  { ledger: LEDGER, flags: 0 },
  { ledger: LEDGER, flags: AccountFlags.debits_must_not_exceed_credits },
  { ledger: LEDGER, flags: AccountFlags.credits_must_not_exceed_debits },
  { ledger: LEDGER_OTHER, flags: 0 },
  { ledger: LEDGER_OTHER, flags: AccountFlags.debits_must_not_exceed_credits },
];
/** The slot index past the last stands for an account that does not exist. */
const MISSING = SLOTS.length;

type Kind = 'plain' | 'pending' | 'post' | 'void' | 'dup' | 'invalid';
type ResolveAmount = 'full' | 'exact' | 'part' | 'zero' | 'over';

interface Op {
  kind: Kind;
  debit: number;
  credit: number;
  /** Most transfers stay within one ledger and between two accounts; some do not, on purpose. */
  crossLedger: boolean;
  sameAccount: boolean;
  amount: bigint;
  linked: boolean;
  balancing: number;
  target: number;
  resolveAmount: ResolveAmount;
}

const weighted = <T>(pairs: [number, T][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));

const amountArb = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 1_000n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 1n << 64n }) },
  { weight: 2, arbitrary: fc.constantFrom(U128_MAX, U128_MAX - 1n, 1n << 127n, (1n << 126n) + 1n) },
);

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: weighted<Kind>([
    [5, 'plain'],
    [3, 'pending'],
    [2, 'post'],
    [2, 'void'],
    [1, 'dup'],
    [1, 'invalid'],
  ]),
  debit: fc.oneof(
    { weight: 12, arbitrary: fc.nat({ max: MISSING - 1 }) },
    { weight: 1, arbitrary: fc.constant(MISSING) },
  ),
  credit: fc.nat({ max: MISSING }),
  crossLedger: weighted([
    [12, false],
    [1, true],
  ]),
  sameAccount: weighted([
    [20, false],
    [1, true],
  ]),
  amount: amountArb,
  linked: weighted([
    [3, false],
    [1, true],
  ]),
  // 0 none, 1 balancing_debit, 2 balancing_credit, 3 both; mostly none.
  balancing: weighted([
    [8, 0],
    [1, 1],
    [1, 2],
    [1, 3],
  ]),
  target: fc.nat({ max: 1_000 }),
  resolveAmount: fc.constantFrom<ResolveAmount>('full', 'exact', 'part', 'zero', 'over'),
});

const scenarioArb = fc.record({
  funding: fc.bigInt({ min: 0n, max: 10_000n }),
  batches: fc.array(fc.array(opArb, { minLength: 1, maxLength: BATCH_EVENTS_MAX }), {
    minLength: 1,
    maxLength: BATCHES_MAX,
  }),
});
type Scenario = { funding: bigint; batches: Op[][] };

/** One property run: its accounts, every event it sent, and what the ledger stored. */
class Run {
  readonly sent: Transfer[] = [];
  readonly stored = new Map<bigint, Transfer>();
  readonly expected = new Map<bigint, Balances>();
  lastCreatedTimestamp = 0n;

  constructor(
    readonly ledger: Ledger,
    readonly accounts: Account[],
  ) {
    for (const a of accounts) {
      this.expected.set(a.id, {
        debits_pending: 0n,
        debits_posted: 0n,
        credits_pending: 0n,
        credits_posted: 0n,
      });
    }
  }

  accountId(slot: number): bigint {
    return slot === MISSING ? id() : nth(this.accounts, slot).id;
  }

  ledgerOf(slot: number): number {
    return slot === MISSING ? LEDGER : nth(SLOTS, slot).ledger;
  }
}

function resolveAmount(kind: 'post' | 'void', how: ResolveAmount, pendingAmount: bigint): bigint {
  switch (how) {
    case 'full':
      return kind === 'post' ? U128_MAX : 0n;
    case 'exact':
      return pendingAmount;
    case 'part':
      return pendingAmount / 2n;
    case 'zero':
      return 0n;
    case 'over':
      return pendingAmount < U128_MAX ? pendingAmount + 1n : pendingAmount;
  }
}

/** The credit slot: op.credit as drawn, or remapped onto another account of the debit's ledger. */
function creditSlot(op: Op): number {
  if (op.credit === MISSING || op.debit === MISSING || op.crossLedger) return op.credit;
  const ledger = nth(SLOTS, op.debit).ledger;
  const same = SLOTS.flatMap((s, i) => (s.ledger === ledger ? [i] : []));
  const choices = op.sameAccount ? same : same.filter((i) => i !== op.debit);
  return nth(choices, op.credit % choices.length);
}

/** Turns an abstract op into a transfer with fresh ids, against what the run sent so far. */
function materialize(run: Run, op: Op, batch: Transfer[]): Transfer {
  const linked = op.linked ? TF.linked : 0;
  if (op.kind === 'dup' && batch.length > 0) {
    return { ...nth(batch, op.target % batch.length) };
  }
  if (op.kind === 'post' || op.kind === 'void') {
    const sent = [...run.sent, ...batch];
    const isPending = (t: Transfer): boolean => (t.flags & TF.pending) !== 0;
    const stored = [...run.stored.values()].filter(isPending);
    const pendings = stored.length > 0 && op.target % 3 !== 0 ? stored : sent.filter(isPending);
    // Mostly a pending transfer (mostly one that was created); sometimes any transfer (not
    // pending) or one that never existed.
    const pool = op.target % 7 === 0 ? sent : pendings;
    const target =
      pool.length > 0 && op.target % 11 !== 0 ? nth(pool, op.target % pool.length) : undefined;
    const flag = op.kind === 'post' ? TF.post_pending_transfer : TF.void_pending_transfer;
    return transfer({
      pending_id: target?.id ?? id(),
      amount: resolveAmount(op.kind, op.resolveAmount, target?.amount ?? op.amount),
      ledger: 0,
      code: 0,
      flags: flag | linked,
    });
  }
  const balancing =
    (op.balancing & 1 ? TF.balancing_debit : 0) | (op.balancing & 2 ? TF.balancing_credit : 0);
  const invalid = op.kind === 'invalid' ? (op.target % 2 === 0 ? { code: 0 } : { timeout: 1 }) : {};
  return transfer({
    debit_account_id: run.accountId(op.debit),
    credit_account_id: run.accountId(creditSlot(op)),
    amount: op.amount,
    ledger: run.ledgerOf(op.debit),
    flags: linked | balancing | (op.kind === 'pending' ? TF.pending : 0),
    ...invalid,
  });
}

/** Chains of a batch as [first, last] index pairs (a lone event is a chain of one). */
function chains(batch: Transfer[]): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  batch.forEach((t, i) => {
    if ((t.flags & TF.linked) === 0 || i === batch.length - 1) {
      out.push([start, i]);
      start = i + 1;
    }
  });
  return out;
}

function addBalances(run: Run, accountId: bigint, delta: Partial<Balances>): void {
  const b = run.expected.get(accountId);
  if (b === undefined) throw new Error(`a created transfer touched a foreign account ${accountId}`);
  b.debits_pending += delta.debits_pending ?? 0n;
  b.debits_posted += delta.debits_posted ?? 0n;
  b.credits_pending += delta.credits_pending ?? 0n;
  b.credits_posted += delta.credits_posted ?? 0n;
}

/** The balance effects of one created transfer, as TigerBeetle applies them. */
function applyCreated(run: Run, t: Transfer): void {
  const dr = t.debit_account_id;
  const cr = t.credit_account_id;
  if ((t.flags & (TF.post_pending_transfer | TF.void_pending_transfer)) !== 0) {
    const p = run.stored.get(t.pending_id);
    if (p === undefined) throw new Error(`created post/void of an unknown pending ${t.pending_id}`);
    addBalances(run, dr, { debits_pending: -p.amount });
    addBalances(run, cr, { credits_pending: -p.amount });
    if ((t.flags & TF.void_pending_transfer) !== 0) return;
  }
  if ((t.flags & TF.pending) !== 0) {
    addBalances(run, dr, { debits_pending: t.amount });
    addBalances(run, cr, { credits_pending: t.amount });
  } else {
    addBalances(run, dr, { debits_posted: t.amount });
    addBalances(run, cr, { credits_posted: t.amount });
  }
}

/** Sends a batch; checks results and storage; applies what was created to the model. */
async function submit(run: Run, batch: Transfer[]): Promise<CreateTransferResult[]> {
  const results = await run.ledger.createTransfers(batch);
  expect(results.length).toBe(batch.length);
  const createdAt: number[] = [];
  results.forEach((r, i) => {
    expect(r.timestamp).toBeGreaterThan(0n);
    if (r.status !== S.created) return;
    expect(r.timestamp).toBeGreaterThan(run.lastCreatedTimestamp);
    run.lastCreatedTimestamp = r.timestamp;
    createdAt.push(i);
  });
  const createdIds = createdAt.map((i) => nth(batch, i).id);
  const found = await run.ledger.lookupTransfers(createdIds);
  expect(found.map((t) => t.id)).toEqual(createdIds);
  found.forEach((t, k) => {
    expect(t.timestamp).toBe(nth(results, nth(createdAt, k)).timestamp);
    run.stored.set(t.id, t);
  });
  // Effects in creation order: a post may resolve a pending created earlier in the same batch.
  for (const t of found) applyCreated(run, t);
  return results;
}

async function checkBalances(run: Run): Promise<Account[]> {
  const accounts = await run.ledger.lookupAccounts(run.accounts.map((a) => a.id));
  expect(accounts.length).toBe(run.accounts.length);
  const sums = new Map<number, Balances>();
  for (const a of accounts) {
    expect({ id: a.id, ...balancesOf(a) }).toEqual({ id: a.id, ...run.expected.get(a.id) });
    expect(a.debits_pending + a.debits_posted).toBeLessThanOrEqual(U128_MAX);
    expect(a.credits_pending + a.credits_posted).toBeLessThanOrEqual(U128_MAX);
    if (a.flags & AccountFlags.debits_must_not_exceed_credits) {
      expect(a.debits_pending + a.debits_posted).toBeLessThanOrEqual(a.credits_posted);
    }
    if (a.flags & AccountFlags.credits_must_not_exceed_debits) {
      expect(a.credits_pending + a.credits_posted).toBeLessThanOrEqual(a.debits_posted);
    }
    const s = sums.get(a.ledger) ?? {
      debits_pending: 0n,
      debits_posted: 0n,
      credits_pending: 0n,
      credits_posted: 0n,
    };
    s.debits_pending += a.debits_pending;
    s.debits_posted += a.debits_posted;
    s.credits_pending += a.credits_pending;
    s.credits_posted += a.credits_posted;
    sums.set(a.ledger, s);
  }
  for (const [ledger, s] of sums) {
    expect({ ledger, posted: s.debits_posted }).toEqual({ ledger, posted: s.credits_posted });
    expect({ ledger, pending: s.debits_pending }).toEqual({ ledger, pending: s.credits_pending });
  }
  return accounts;
}

/** What TigerBeetle answers when the same batch is sent again (see the file comment). */
function checkReplay(
  batch: Transfer[],
  first: CreateTransferResult[],
  again: CreateTransferResult[],
): void {
  const name = (r: CreateTransferResult | undefined) => (r ? transferStatusName(r.status) : 'none');
  for (const [start, end] of chains(batch)) {
    const was = first.slice(start, end + 1);
    const now = again.slice(start, end + 1);
    const at = { chain: [start, end], first: was.map(name), replay: now.map(name) };
    if (was.every((r) => r.status === S.created)) {
      const expected = was.map((r, i) =>
        i === 0 ? { status: 'exists', timestamp: r.timestamp } : 'linked_event_failed',
      );
      const actual = now.map((r, i) =>
        i === 0 ? { status: name(r), timestamp: r.timestamp } : name(r),
      );
      expect({ ...at, actual }).toEqual({ ...at, actual: expected });
    } else if (was.some((r) => OVERFLOWS.has(r.status))) {
      continue; // TigerBeetle validates again, and a released hold may now let it through.
    } else if (start === end) {
      const r = nth(was, 0);
      const status = TRANSIENT.has(r.status) ? S.id_already_failed : r.status;
      const replayed = transferStatusName(nth(now, 0).status);
      expect({ ...at, replayed }).toEqual({ ...at, replayed: transferStatusName(status) });
      if (r.status === S.exists) expect(nth(now, 0).timestamp).toBe(r.timestamp);
    } else {
      expect({ ...at, created: now.some((r) => r.status === S.created) }).toEqual({
        ...at,
        created: false,
      });
      const breaker = was.findIndex((r) => r.status !== S.linked_event_failed);
      if (breaker >= 0 && TRANSIENT.has(nth(was, breaker).status)) {
        const replayed = transferStatusName(nth(now, breaker).status);
        expect(['id_already_failed', 'linked_event_failed']).toContain(replayed);
      }
    }
  }
}

async function runScenario(ledger: Ledger, scenario: Scenario): Promise<void> {
  const fx = new Fixture(ledger);
  const run = new Run(ledger, await fx.accounts(SLOTS.map((s) => ({ ...s }))));
  // Funding: F credits D, C debits F, X credits Y, so the limited accounts have room to move.
  const fund = [
    [0, 2],
    [3, 0],
    [4, 5],
  ].map(([from, to]) =>
    transfer({
      debit_account_id: run.accountId(from ?? 0),
      credit_account_id: run.accountId(to ?? 0),
      amount: scenario.funding,
      ledger: run.ledgerOf(from ?? 0),
    }),
  );
  run.sent.push(...fund);
  expect((await submit(run, fund)).map((r) => transferStatusName(r.status))).toEqual([
    'created',
    'created',
    'created',
  ]);
  for (const ops of scenario.batches) {
    const batch: Transfer[] = [];
    for (const op of ops) batch.push(materialize(run, op, batch));
    run.sent.push(...batch);
    const first = await submit(run, batch);
    const before = await checkBalances(run);
    const again = await submit(run, batch);
    checkReplay(batch, first, again);
    const after = await checkBalances(run);
    if (!again.some((r) => r.status === S.created)) expect(after).toEqual(before);
    // Nothing that was never created is stored.
    const stored = await ledger.lookupTransfers(batch.map((t) => t.id));
    for (const t of stored) expect(run.stored.has(t.id)).toBe(true);
  }
}

function seedFromEnv(): number {
  return freshSeed() | 0;
}

export function describePropertyTest(h: LedgerHandle): void {
  const seed = seedFromEnv();
  const path = process.env.CONFORMANCE_PATH || undefined;
  const numRuns = Number(process.env.CONFORMANCE_RUNS ?? RUNS_DEFAULT);
  describe('property: random batches keep TigerBeetle’s invariants', () => {
    const title = `debits = credits per ledger, limits hold, replay is idempotent (seed ${seed})`;
    it(
      title,
      async () => {
        try {
          await fc.assert(
            fc.asyncProperty(scenarioArb, (scenario) => runScenario(h.ledger, scenario)),
            { seed, path, numRuns },
          );
        } catch (error) {
          const replay = `SEED=${seed}`;
          console.error(`conformance property failed; replay with ${replay} (and the path below)`);
          throw new Error(`${replay}: ${(error as Error).message}`, { cause: error });
        }
      },
      120_000,
    );
  });
}
