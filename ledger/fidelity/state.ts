/**
 * What the generator remembers of what it has sent so far: the first spec under each account and
 * transfer name, the pending transfers (targets for post / void), and earlier steps (to retry).
 * It never knows outcomes — generation depends on the seed alone, not on either ledger's answers,
 * so the same seed sends the same steps whatever happened.
 */
import { U128_MAX, U64_MAX } from '../port';
import type { AccountSpec, LedgerRef, Ref, Step, TransferSpec } from './model';
import type { Random } from './random';

export interface PendingInfo {
  ref: Ref;
  debit: Ref;
  credit: Ref;
  amount: bigint;
  ledger: LedgerRef;
  code: number;
}

/** Accounts per run: enough for variety, few enough that transfers meet the same ones often. */
export const ACCOUNTS_MAX = 40;

export class GenState {
  readonly accounts: AccountSpec[] = [];
  readonly transfers: TransferSpec[] = [];
  readonly pendings: PendingInfo[] = [];
  /** Closing pending transfers waiting for their void (which reopens the accounts). */
  readonly toVoid: PendingInfo[] = [];
  readonly steps: Step[] = [];
  private unknownCount = 0;

  constructor(readonly r: Random) {}

  newAccountRef(): Ref {
    return `A${this.accounts.length}`;
  }

  newTransferRef(): Ref {
    return `T${this.transfers.length}`;
  }

  unknownRef(): Ref {
    this.unknownCount += 1;
    return `U${this.unknownCount}`;
  }

  /** Accounts whose names end in 3 mod 4 take the huge amounts, so overflows stay local. */
  isBig(ref: Ref): boolean {
    return ref.startsWith('A') && Number(ref.slice(1)) % 4 === 3;
  }

  /**
   * Only accounts whose names end in 2 mod 5 are closed by closing transfers: a posted closing
   * transfer closes its account for good, and the others stay open for everything else.
   */
  isClosable(ref: Ref): boolean {
    return ref.startsWith('A') && Number(ref.slice(1)) % 5 === 2;
  }

  ledgerOf(ref: Ref): LedgerRef {
    const spec = ref.startsWith('A') ? this.accounts[Number(ref.slice(1))] : undefined;
    return spec === undefined || spec.ledger === 0 ? 'L' : spec.ledger;
  }

  /** A known account mostly; sometimes one never created, or an edge id. */
  account(): Ref {
    const r = this.r;
    if (this.accounts.length === 0) return this.unknownRef();
    return r.weighted<() => Ref>([
      [95, () => r.pick(this.accounts).id],
      [3, () => this.unknownRef()],
      [1, () => '0'],
      [1, () => 'MAX'],
    ])();
  }

  userData128(): bigint {
    return this.r.weighted([
      [60, 0n],
      [15, 1n],
      [10, 2n],
      [10, (1n << 127n) + 5n],
      [5, U128_MAX - 1n],
    ]);
  }

  userData64(): bigint {
    return this.r.weighted([
      [65, 0n],
      [20, 7n],
      [15, U64_MAX],
    ]);
  }

  userData32(): number {
    return this.r.weighted([
      [65, 0],
      [20, 9],
      [15, 0xffff_ffff],
    ]);
  }

  code(): number {
    return this.r.weighted([
      [45, 1],
      [25, 2],
      [25, 3],
      [3, 0xffff],
      [2, 0],
    ]);
  }
}
