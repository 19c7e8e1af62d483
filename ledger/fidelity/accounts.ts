/**
 * Random account events: new accounts (history, balance limits, closed, on either of the run's
 * ledgers), retries of earlier ones (verbatim: `exists`; one field changed:
 * `exists_with_different_*`), and events TigerBeetle refuses on their own.
 */
import { AccountFlags as AF } from '../port';
import type { AccountSpec } from './model';
import type { GenState } from './state';

/** Flag bits TigerBeetle 0.17 does not define (reserved_flag). */
const ACCOUNT_FLAG_RESERVED = 1 << 6;

/** The first accounts of every run, so each kind is there from the start. */
const FIRST_ACCOUNTS: readonly { flags: number; ledger: 'L' | 'L2' }[] = [
  { flags: AF.none, ledger: 'L' },
  { flags: AF.history, ledger: 'L' },
  { flags: AF.debits_must_not_exceed_credits | AF.history, ledger: 'L' },
  { flags: AF.history, ledger: 'L' }, // A3: a big-amount account
  { flags: AF.credits_must_not_exceed_debits, ledger: 'L' },
  { flags: AF.history, ledger: 'L2' },
  { flags: AF.debits_must_not_exceed_credits, ledger: 'L2' },
  { flags: AF.none, ledger: 'L' }, // A7: a big-amount account
];

export function firstAccounts(s: GenState): AccountSpec[] {
  return FIRST_ACCOUNTS.map(({ flags, ledger }) => {
    const first = { ...newAccount(s), flags, ledger };
    s.accounts.push(first);
    return first;
  });
}

/** A new, valid account spec (the caller records it); invalidAccount spoils one. */
export function newAccount(s: GenState): AccountSpec {
  const r = s.r;
  let flags = r.weighted([
    [60, AF.none],
    [20, AF.debits_must_not_exceed_credits],
    [20, AF.credits_must_not_exceed_debits],
  ]);
  if (r.chance(0.5)) flags |= AF.history;
  if (r.chance(0.02)) flags |= AF.closed;
  return {
    id: s.newAccountRef(),
    user_data_128: s.userData128(),
    user_data_64: s.userData64(),
    user_data_32: s.userData32(),
    reserved: 0,
    ledger: r.chance(0.85) ? 'L' : 'L2',
    code: r.pick([1, 2, 3, 0xffff]),
    flags,
  };
}

/** `a` with one field changed, so a retry meets exists_with_different_<field>. */
export function mutatedAccount(s: GenState, a: AccountSpec): AccountSpec {
  const r = s.r;
  const changes: (() => Partial<AccountSpec>)[] = [
    () => ({ flags: a.flags ^ AF.history }),
    () => ({ user_data_128: a.user_data_128 + 1n }),
    () => ({ user_data_64: a.user_data_64 === 0n ? 1n : 0n }),
    () => ({ user_data_32: a.user_data_32 === 0 ? 1 : 0 }),
    () => ({ ledger: a.ledger === 'L' ? 'L2' : 'L' }),
    () => ({ code: (a.code % 3) + 1 }),
  ];
  return { ...a, ...r.pick(changes)() };
}

/**
 * Events TigerBeetle refuses on their own, whatever the state. The name is that of the next new
 * account, which a later event may still create (a failed account leaves no trace).
 */
export function invalidAccount(s: GenState): AccountSpec {
  const r = s.r;
  const a = newAccount(s);
  return r.pick<() => AccountSpec>([
    () => ({ ...a, id: '0' }),
    () => ({ ...a, id: 'MAX' }),
    () => ({ ...a, flags: a.flags | ACCOUNT_FLAG_RESERVED }),
    () => ({ ...a, reserved: 7 }),
    () => ({ ...a, ledger: 0 }),
    () => ({ ...a, code: 0 }),
    () => ({
      ...a,
      flags: a.flags | AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits,
    }),
    () => ({
      ...a,
      nonzero: r.pick([
        'debits_pending',
        'debits_posted',
        'credits_pending',
        'credits_posted',
      ] as const),
    }),
    // Imported with no timestamp: out of range (and, first in a batch, the batch imports).
    () => ({ ...a, flags: a.flags | AF.imported }),
  ])();
}
