/**
 * The control plane's vocabulary: assets, account types, accounts, and (re-exported from the
 * journal plan, its consumer) the account reference the journal path resolves account ids to.
 */
import { AccountFlags } from '../../../ledger/port';

export type NormalSide = 'DEBIT' | 'CREDIT';

export interface Asset {
  /** 'USD', 'EUR', 'JPY', 'BTC', … */
  code: string;
  /** The TigerBeetle ledger of every account of this asset (u32, non-zero). */
  ledger: number;
  /** Minor units per major unit are 10^scale (0..18). */
  scale: number;
  name: string;
}

export interface AccountType {
  /** 'asset', 'liability', 'equity', 'revenue', 'expense', 'house', 'fee', 'world', … */
  code: string;
  /** The side on which the balance grows. */
  normalSide: NormalSide;
  /** The TigerBeetle account `code` (u16, non-zero). */
  tbCode: number;
  /** TigerBeetle AccountFlags applied unless the account says otherwise. */
  defaultFlags: number;
  description: string;
}

/** What the journal path needs to turn an account id into TigerBeetle transfers. */
export type { AccountRef } from '../journal/plan';

export interface AccountFlagsInput {
  /** The balance on the account's normal side may not drop below zero. */
  mustNotGoNegative?: boolean;
  /** TigerBeetle keeps the balance history (AccountFlags.history), for get_account_balances. */
  history?: boolean;
}

/** An account's metadata as PostgreSQL holds it, with its registry facts. */
export interface AccountRecord {
  accountId: string;
  ledgerId: bigint;
  name: string;
  holderId: string;
  accountType: string;
  normalSide: NormalSide;
  asset: string;
  ledger: number;
  scale: number;
  /** The TigerBeetle AccountFlags the account was created with. */
  tbFlags: number;
  flags: Required<AccountFlagsInput>;
  createdAt: Date;
  metadata: Record<string, unknown>;
  /**
   * Closed by a closing transfer (TigerBeetle's AccountFlags.closed), as the ledger's change feed
   * last told PostgreSQL (rm_account_balance); reopened by its void or expiry.
   */
  closed: boolean;
}

/** The two balance limits TigerBeetle knows; an account has at most one of them. */
const LIMIT_FLAGS =
  AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits;

/** The limit that keeps the balance on `side` from going negative. */
function nonNegativeFlag(side: NormalSide): number {
  // A credit-normal balance is credits − debits: it stays ≥ 0 while debits ≤ credits.
  return side === 'CREDIT'
    ? AccountFlags.debits_must_not_exceed_credits
    : AccountFlags.credits_must_not_exceed_debits;
}

/**
 * The TigerBeetle flags for a new account: the type's defaults, with each flag the input states
 * explicitly overriding its default (`mustNotGoNegative: false` lifts a type's limit, e.g. for an
 * overdraft facility; an omitted flag keeps the default).
 */
export function resolveFlags(type: AccountType, input: AccountFlagsInput = {}): number {
  let flags = type.defaultFlags;
  if (input.mustNotGoNegative !== undefined) {
    flags &= ~LIMIT_FLAGS;
    if (input.mustNotGoNegative) flags |= nonNegativeFlag(type.normalSide);
  }
  if (input.history !== undefined) {
    flags = input.history ? flags | AccountFlags.history : flags & ~AccountFlags.history;
  }
  return flags;
}

export function describeFlags(flags: number, side: NormalSide): Required<AccountFlagsInput> {
  return {
    mustNotGoNegative: (flags & nonNegativeFlag(side)) !== 0,
    history: (flags & AccountFlags.history) !== 0,
  };
}

/**
 * The TigerBeetle account flags an account type may apply by default, by their API names: the two
 * balance limits and history. `linked`, `imported` and `closed` belong to one request or one
 * account, never to every account of a type.
 */
export const DEFAULT_FLAG_BITS = {
  debitsMustNotExceedCredits: AccountFlags.debits_must_not_exceed_credits,
  creditsMustNotExceedDebits: AccountFlags.credits_must_not_exceed_debits,
  history: AccountFlags.history,
} as const;

export type DefaultFlags = Record<keyof typeof DEFAULT_FLAG_BITS, boolean>;

export function encodeDefaultFlags(flags: Partial<DefaultFlags> = {}): number {
  let bits = 0;
  for (const [name, bit] of Object.entries(DEFAULT_FLAG_BITS)) {
    if (flags[name as keyof DefaultFlags] === true) bits |= bit;
  }
  return bits;
}

export function decodeDefaultFlags(bits: number): DefaultFlags {
  return {
    debitsMustNotExceedCredits: (bits & DEFAULT_FLAG_BITS.debitsMustNotExceedCredits) !== 0,
    creditsMustNotExceedDebits: (bits & DEFAULT_FLAG_BITS.creditsMustNotExceedDebits) !== 0,
    history: (bits & DEFAULT_FLAG_BITS.history) !== 0,
  };
}
