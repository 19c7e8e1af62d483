/**
 * The journal write path: validate against the account registry, plan the linked chain, post it
 * through the micro-batcher, judge TigerBeetle's answer, publish the outcome to Kafka, and only
 * then answer. PostgreSQL is on this path only on an account cache miss (accounts come from an
 * in-process cache, filled from PostgreSQL once per account).
 *
 * Exactly once, end to end: transfer ids derive from the journal id, so a retry after any failure
 * (ledger timeout, Kafka down, a crash before the answer) meets `exists`, republishes the same
 * event id, and answers the same receipt, with TigerBeetle's original timestamps.
 */
import {
  type CreateTransferResult,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';
import { journalTransferIds, transferId } from '../../../ledger/ids';
import { balanceChange, encodeBalanceToken } from '../balances/token';
import type { EventPosition } from '../../../events/publisher';
import { JournalError } from './errors';
import type {
  Journal,
  JournalOutcome,
  OutcomeKind,
  TransferOutcome,
} from '../../../events/journal-model';
import { type AccountRef, type HoldAction, planHoldResolution, planJournal } from './plan';
import { type ChainVerdict, judgeChain, STATUS_SIDE, statusName } from './verdict';

export interface AccountDirectory {
  /** Known accounts among `accountIds`; unknown ones are simply absent. */
  resolveAccounts(accountIds: string[]): Promise<Map<string, AccountRef>>;
}

export interface ChainSubmitter {
  submit(chain: readonly Transfer[]): Promise<CreateTransferResult[]>;
}

export interface OutcomeSink {
  /** Resolves once the event is acknowledged, with where it landed in the log. */
  publish(outcome: JournalOutcome): Promise<EventPosition>;
}

/** The balance cache: told which accounts a posting changed, as of which ledger time. */
export interface BalanceChanges {
  onPosted(ledgerIds: readonly bigint[], ledgerTimestampNs: bigint): Promise<void>;
}

export interface JournalServiceDeps {
  accounts: AccountDirectory;
  batcher: ChainSubmitter;
  ledger: Pick<Ledger, 'lookupTransfers'>;
  outcomes: OutcomeSink;
  balances?: BalanceChanges;
  /** Told of every journal offered and how it ended (the monitor), never able to change it. */
  observer?: JournalObserver;
}

/** What an observer (the monitor) learns of each journal and hold resolution. */
export interface JournalObserver {
  offered(): void;
  /** Posted, held or resolved (`posted`), or the error it ended with, typed (`error`). */
  settled(end: { posted: Posted } | { error: unknown }): void;
}

export interface ReceiptTransfer {
  id: string;
  debitLine: number | null;
  creditLine: number | null;
  amount: string;
  ledger: number;
  timestamp: string;
}

/** The 201 body: the same bytes for the first answer and every retry. */
export interface JournalReceipt {
  journalId: string;
  status: Exclude<OutcomeKind, 'rejected'>;
  transfers: ReceiptTransfer[];
}

export interface LineStatus {
  transfer: number;
  debitLine: number | null;
  creditLine: number | null;
  status: string;
}

/**
 * A journal step the ledger accepted: the receipt (the 201 body) and the position of its outcome
 * event, from which the consistency token is made. The position is not part of the body: a retry
 * republishes the event at a later position, and the body must stay the same.
 */
export interface Posted {
  receipt: JournalReceipt;
  position: EventPosition;
  /** The ledger time of the posting: a balance read with it never shows an older balance. */
  balanceToken: string;
}

/** 422: the ledger refused the chain. `lines` gives TigerBeetle's status per transfer. */
export class JournalRejectedError extends JournalError {
  constructor(
    message: string,
    line: number | undefined,
    readonly ledgerStatus: string,
    readonly statuses: LineStatus[],
  ) {
    super('journal_rejected', message, {
      ...(line === undefined ? {} : { line }),
      details: { status: ledgerStatus },
    });
  }

  override toBody(): { error: Record<string, unknown> } {
    const body = super.toBody();
    return { error: { ...body.error, lines: this.statuses } };
  }
}

export class JournalService {
  constructor(private readonly deps: JournalServiceDeps) {}

  post(journal: Journal): Promise<Posted> {
    return this.observed(() => this.postJournal(journal));
  }

  /**
   * The second step of a two-phase journal: post (all, or less for one transfer) or void.
   * `guard` sees the hold's transfers before anything is submitted, and refuses by throwing
   * (tenant isolation: the caller's key must cover the hold's accounts).
   */
  resolveHold(
    journalId: string,
    action: HoldAction,
    amount?: bigint,
    guard?: (held: readonly Transfer[]) => Promise<void>,
  ): Promise<Posted> {
    return this.observed(() => this.resolve(journalId, action, amount, guard));
  }

  private async observed(run: () => Promise<Posted>): Promise<Posted> {
    const observer = this.deps.observer;
    if (observer === undefined) return run();
    observer.offered();
    try {
      const posted = await run();
      observer.settled({ posted });
      return posted;
    } catch (error) {
      observer.settled({ error });
      throw error;
    }
  }

  private async postJournal(journal: Journal): Promise<Posted> {
    const accountIds = [...new Set(journal.lines.map((line) => line.accountId))];
    const accounts = await this.deps.accounts.resolveAccounts(accountIds);
    const plan = planJournal(journal, accounts);
    const results = await this.deps.batcher.submit(plan.transfers);
    const verdict = judgeChain(results);
    const kind: OutcomeKind = journal.pending === null ? 'posted' : 'held';
    const transfers = await this.settle(journal.journalId, plan.transfers, results, verdict);
    const outcomes = transfers.map((transfer, i): TransferOutcome => ({
      transfer,
      debitLine: plan.lines[i]!.debitLine,
      creditLine: plan.lines[i]!.creditLine,
      status: results[i]!.status,
      timestamp: transfer.timestamp,
    }));
    return this.finish(journal.journalId, journal, kind, outcomes, verdict);
  }

  private async resolve(
    journalId: string,
    action: HoldAction,
    amount: bigint | undefined,
    guard: ((held: readonly Transfer[]) => Promise<void>) | undefined,
  ): Promise<Posted> {
    const pending = await this.heldChain(journalId);
    await guard?.(pending);
    const chain = planHoldResolution(journalId, pending, action, amount);
    const results = await this.deps.batcher.submit(chain);
    const verdict = judgeChain(results);
    const transfers = await this.settle(journalId, chain, results, verdict);
    const outcomes = transfers.map((transfer, i): TransferOutcome => ({
      transfer,
      debitLine: null,
      creditLine: null,
      status: results[i]!.status,
      timestamp: transfer.timestamp,
    }));
    const kind = action === 'post' ? 'hold_posted' : 'hold_voided';
    return this.finish(journalId, null, kind, outcomes, verdict);
  }

  /**
   * The transfers as the ledger holds them, with their timestamps: from the results when this
   * attempt created them, from a lookup when an earlier attempt did (a retry).
   */
  private async settle(
    journalId: string,
    chain: readonly Transfer[],
    results: readonly CreateTransferResult[],
    verdict: ChainVerdict,
  ): Promise<Transfer[]> {
    switch (verdict.kind) {
      case 'created':
      case 'rejected':
        return chain.map((t, i) => ({ ...t, timestamp: results[i]!.timestamp }));
      case 'exists': {
        const found = await this.deps.ledger.lookupTransfers(chain.map((t) => t.id));
        if (found.length !== chain.length) {
          // A linked chain is atomic: `exists` for one event means all of them were committed.
          throw new Error(`${journalId}: ${found.length} of ${chain.length} transfers exist`);
        }
        return found;
      }
      case 'conflict':
        throw new JournalError(
          'journal_conflict',
          `journal ${journalId} exists with different content ` + `(${statusName(verdict.status)})`,
          { details: { status: statusName(verdict.status) } },
        );
    }
  }

  private async finish(
    journalId: string,
    journal: Journal | null,
    kind: Exclude<OutcomeKind, 'rejected'>,
    transfers: TransferOutcome[],
    verdict: ChainVerdict,
  ): Promise<Posted> {
    if (verdict.kind === 'rejected') {
      await this.deps.outcomes.publish({ kind: 'rejected', journalId, journal, transfers });
      const notPending =
        kind !== 'posted' && kind !== 'held' ? holdNotPending(journalId, verdict) : null;
      throw notPending ?? rejection(journalId, transfers, verdict.index);
    }
    const change = balanceChange(transfers.map((t) => t.transfer));
    // Not awaited: the local L1 is dropped at once, and the Redis part is bounded; a read that
    // must see this posting carries the balance token instead.
    void this.deps.balances?.onPosted(change.ledgerIds, change.ledgerTimestampNs);
    const position = await this.deps.outcomes.publish({ kind, journalId, journal, transfers });
    const receipt: JournalReceipt = {
      journalId,
      status: kind,
      transfers: transfers.map(({ transfer, debitLine, creditLine }) => ({
        id: transfer.id.toString(),
        debitLine,
        creditLine,
        amount: transfer.amount.toString(),
        ledger: transfer.ledger,
        timestamp: transfer.timestamp.toString(),
      })),
    };
    return { receipt, position, balanceToken: encodeBalanceToken(change.ledgerTimestampNs) };
  }

  private async heldChain(journalId: string): Promise<Transfer[]> {
    const [first] = await this.deps.ledger.lookupTransfers([transferId(journalId, 'create', 0)]);
    if (first === undefined) {
      throw new JournalError('journal_not_found', `no journal ${journalId}`);
    }
    if ((first.flags & TransferFlags.pending) === 0) {
      throw new JournalError('journal_not_pending', `journal ${journalId} is not a hold`);
    }
    // user_data_32 holds the chain's length (see plan.ts).
    if (first.user_data_32 === 1) return [first];
    return this.deps.ledger.lookupTransfers(
      journalTransferIds(journalId, 'create', first.user_data_32),
    );
  }
}

/**
 * TigerBeetle's answers to posting or voiding a hold that is no longer pending: it was posted,
 * voided or expired before (by another request, or its timeout). Not a refusal of the journal's
 * content but of the request in the journal's state: 409 `journal_not_pending`, naming the status.
 */
const HOLD_NOT_PENDING: ReadonlySet<CreateTransferStatus> = new Set([
  CreateTransferStatus.pending_transfer_already_posted,
  CreateTransferStatus.pending_transfer_already_voided,
  CreateTransferStatus.pending_transfer_expired,
  CreateTransferStatus.pending_transfer_not_pending,
]);

function holdNotPending(journalId: string, verdict: ChainVerdict): JournalError | null {
  if (verdict.kind !== 'rejected' || !HOLD_NOT_PENDING.has(verdict.status)) return null;
  const status = statusName(verdict.status);
  return new JournalError('journal_not_pending', `journal ${journalId} is not pending: ${status}`, {
    details: { status },
  });
}

function rejection(
  journalId: string,
  transfers: TransferOutcome[],
  index: number,
): JournalRejectedError {
  const cause = transfers[index]!;
  const side = STATUS_SIDE[cause.status];
  const line = side === 'debit' ? cause.debitLine : side === 'credit' ? cause.creditLine : null;
  const status = statusName(cause.status);
  return new JournalRejectedError(
    `the ledger refused journal ${journalId}: ${status}` + (line === null ? '' : ` (line ${line})`),
    line ?? undefined,
    status,
    transfers.map((t, i) => ({
      transfer: i,
      debitLine: t.debitLine,
      creditLine: t.creditLine,
      status: statusName(t.status),
    })),
  );
}
