/**
 * The undo log of one linked chain: what its events changed, so that a failing event can roll
 * back every effect of the events before it (TigerBeetle's scope discard).
 *
 * It never copies the state. Accounts and transfers are only ever appended, so the chain records
 * how many there were when it opened and truncates back to that; an account whose balances or
 * `closed` flag change is saved (once per chain) before its first change; a pending transfer
 * posted or voided in the chain has its status put back to pending; each change event recorded
 * in the chain is removed again (or, where it replaced one, that one is put back). Outside a chain
 * nothing is recorded: a lone event runs every check before its first mutation.
 */
import type { SavedChange } from './changes';
import { type AccountRec, type LedgerState, PENDING_PENDING } from './state';

export class UndoLog {
  /** Serial of the open chain, or 0 outside a chain. */
  private chain = 0;
  private chainsOpened = 0;
  private transfersAtOpen = 0;
  private accountsAtOpen = 0;
  private readonly saved: AccountRec[] = [];
  /** Four balances per saved account, in `saved` order. */
  private readonly savedBalances: bigint[] = [];
  private readonly savedFlags: number[] = [];
  private readonly resolvedPending: number[] = [];
  /** Positions of the change events recorded in the chain, and what each replaced (or null). */
  private readonly changePositions: number[] = [];
  private readonly changesReplaced: (SavedChange | null)[] = [];

  get open(): boolean {
    return this.chain !== 0;
  }

  openChain(state: LedgerState): void {
    if (this.chain !== 0) throw new Error('undo: a chain is already open');
    this.chainsOpened++;
    this.chain = this.chainsOpened;
    this.transfersAtOpen = state.transfers.count;
    this.accountsAtOpen = state.accounts.length;
  }

  /** Call before changing an account's balances or flags. */
  saveAccount(account: AccountRec): void {
    if (this.chain === 0 || account.undoChain === this.chain) return;
    account.undoChain = this.chain;
    this.saved.push(account);
    this.savedBalances.push(
      account.debits_pending,
      account.debits_posted,
      account.credits_pending,
      account.credits_posted,
    );
    this.savedFlags.push(account.flags);
  }

  /** Call when a pending transfer (by row) is posted or voided. */
  savePendingResolved(row: number): void {
    if (this.chain !== 0) this.resolvedPending.push(row);
  }

  /** Call after recording a change event at `position` that replaced `replaced` (or nothing). */
  saveChange(position: number, replaced: SavedChange | null): void {
    if (this.chain === 0) return;
    this.changePositions.push(position);
    this.changesReplaced.push(replaced);
  }

  /** The chain succeeded: forget its log. */
  closeChain(): void {
    this.chain = 0;
    this.clear();
  }

  /** Undo every effect of the chain's events so far, newest first; the chain stays open. */
  rollback(state: LedgerState): void {
    if (this.chain === 0) throw new Error('undo: rollback outside a chain');
    for (let i = this.changePositions.length - 1; i >= 0; i--) {
      const replaced = this.changesReplaced[i]!;
      if (replaced === null) state.changes.removeAt(this.changePositions[i]!);
      else state.changes.restoreAt(this.changePositions[i]!, replaced);
    }
    const transfers = state.transfers;
    while (transfers.count > this.transfersAtOpen) {
      const row = transfers.count - 1;
      state.accounts[transfers.debitIndex(row)]!.popRow(row);
      state.accounts[transfers.creditIndex(row)]!.popRow(row);
      transfers.removeLast();
    }
    for (let i = this.resolvedPending.length - 1; i >= 0; i--) {
      transfers.setPendingStatus(this.resolvedPending[i]!, PENDING_PENDING);
    }
    for (let i = this.saved.length - 1; i >= 0; i--) {
      const account = this.saved[i]!;
      account.debits_pending = this.savedBalances[i * 4]!;
      account.debits_posted = this.savedBalances[i * 4 + 1]!;
      account.credits_pending = this.savedBalances[i * 4 + 2]!;
      account.credits_posted = this.savedBalances[i * 4 + 3]!;
      account.flags = this.savedFlags[i]!;
    }
    while (state.accounts.length > this.accountsAtOpen) {
      state.accounts.pop();
      state.accountIds.removeLast();
    }
    this.clear();
  }

  private clear(): void {
    // Accounts saved in this chain keep their `undoChain` mark; serials are never reused.
    this.saved.length = 0;
    this.savedBalances.length = 0;
    this.savedFlags.length = 0;
    this.resolvedPending.length = 0;
    this.changePositions.length = 0;
    this.changesReplaced.length = 0;
  }
}
