/**
 * A TigerBeetle account's balances as the API shows them: posted and pending totals, the balance
 * on the account's normal side, and what is available once holds are counted. Amounts are decimal
 * strings of minor units (u128 does not fit a JSON number); balances may be negative.
 */
import type { Account } from '../../../ledger/port';

export type NormalSide = 'DEBIT' | 'CREDIT';

export interface BalanceSubject {
  accountId: string;
  asset: string;
  scale: number;
  normalSide: NormalSide;
}

export interface BalanceView {
  accountId: string;
  asset: { code: string; scale: number };
  normalSide: NormalSide;
  posted: { debits: string; credits: string };
  pending: { debits: string; credits: string };
  /** Posted balance on the normal side: credits − debits for a credit-normal account. */
  balance: string;
  /** The balance less pending outflows (holds against it); pending inflows are not counted. */
  available: string;
  /** TigerBeetle's timestamp of the account (ns, when it was created). */
  ledgerTimestamp: string;
}

/** The fields of a TigerBeetle Account a balance is made of (what the cache keeps). */
export type AccountBalances = Pick<
  Account,
  'debits_posted' | 'credits_posted' | 'debits_pending' | 'credits_pending' | 'timestamp'
>;

export function balanceView(subject: BalanceSubject, account: AccountBalances): BalanceView {
  const creditNormal = subject.normalSide === 'CREDIT';
  const balance = creditNormal
    ? account.credits_posted - account.debits_posted
    : account.debits_posted - account.credits_posted;
  const pendingOut = creditNormal ? account.debits_pending : account.credits_pending;
  return {
    accountId: subject.accountId,
    asset: { code: subject.asset, scale: subject.scale },
    normalSide: subject.normalSide,
    posted: {
      debits: account.debits_posted.toString(),
      credits: account.credits_posted.toString(),
    },
    pending: {
      debits: account.debits_pending.toString(),
      credits: account.credits_pending.toString(),
    },
    balance: balance.toString(),
    available: (balance - pendingOut).toString(),
    ledgerTimestamp: account.timestamp.toString(),
  };
}

/** The view, frozen to the bottom: one view is shared by every read of a cached entry. */
export function frozenView(view: BalanceView): Readonly<BalanceView> {
  Object.freeze(view.asset);
  Object.freeze(view.posted);
  Object.freeze(view.pending);
  return Object.freeze(view);
}
