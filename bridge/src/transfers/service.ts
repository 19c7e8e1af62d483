/**
 * Raw transfers (POST /api/transfers/batch): a client's transfers in TigerBeetle's own shape,
 * posted through the micro-batcher beside journals — the same ledger requests, batch limit,
 * queue limit, deadline and metrics (`kind="raw"`), never around them — and answered with
 * TigerBeetle's result for each transfer, in the order sent. The balance cache is told which
 * accounts moved, as for a journal, and the answer carries the same balance token.
 *
 * No outcome event is published for raw transfers: the ledger's change feed (TigerBeetle's CDC →
 * RabbitMQ → relay → `ledger.changes.v1`) is their single source in the projections. It already
 * carries every raw transfer, and every hold expiry, with both accounts' balances and flags as of
 * the event, to every read model that shows them: ledger_change, balances (the `closed` flag
 * included), statements (entries of kind `raw`), daily summaries and the change hash chain.
 * An outcome event would add nothing to those, and would be wrong in the rest: the journal
 * projection would file a transfer without a journal under one (reconcile then reports it
 * misattributed, and its statement entries stop reading `raw`), the outcome chain would hold a
 * second copy of the ledger's own event, and today's consumers, which decode
 * `ledger-bridge.journal-outcome` v1 only, would dead-letter it. It would also put a Kafka round
 * trip, and Kafka's availability, between a committed raw batch and its answer.
 */
import { assert } from '../../../core/assert';
import {
  type CreateTransferResult,
  CreateTransferStatus,
  type Ledger,
  type Transfer,
} from '../../../ledger/port';
import { balanceChange, encodeBalanceToken } from '../balances/token';
import type { BalanceChanges } from '../journal/service';

/** The batcher, as raw transfers use it (ledger/batcher.ts `submitRaw`). */
export interface RawSubmitter {
  submitRaw(events: readonly Transfer[]): Promise<CreateTransferResult[]>;
}

export interface RawTransferDeps {
  batcher: RawSubmitter;
  /** For the accounts of a post or void that names none (they are its pending transfer's). */
  ledger: Pick<Ledger, 'lookupTransfers'>;
  balances?: BalanceChanges;
}

export interface RawPosted {
  /** TigerBeetle's result for each transfer, index for index with the request. */
  results: CreateTransferResult[];
  /** The ledger time of the latest transfer in the ledger now; null when none is. */
  balanceToken: string | null;
}

/** Results that leave the transfer in the ledger: made now, or by an earlier attempt. */
const COMMITTED: ReadonlySet<CreateTransferStatus> = new Set([
  CreateTransferStatus.created,
  CreateTransferStatus.exists,
]);

export class RawTransferService {
  constructor(private readonly deps: RawTransferDeps) {}

  async post(transfers: readonly Transfer[]): Promise<RawPosted> {
    const results = await this.deps.batcher.submitRaw(transfers);
    assert(
      results.length === transfers.length,
      () => `the batcher answered ${results.length} results for ${transfers.length} transfers`,
    );
    const committed: Transfer[] = [];
    transfers.forEach((transfer, i) => {
      const result = results[i]!;
      if (COMMITTED.has(result.status))
        committed.push({ ...transfer, timestamp: result.timestamp });
    });
    if (committed.length === 0) return { results, balanceToken: null };
    const change = balanceChange(await this.withAccounts(committed));
    // Not awaited, as for journals: L1 is dropped at once and Redis is bounded; a read that must
    // see these transfers sends the balance token.
    void this.deps.balances?.onPosted(change.ledgerIds, change.ledgerTimestampNs);
    return { results, balanceToken: encodeBalanceToken(change.ledgerTimestampNs) };
  }

  /**
   * A post or void may leave its account ids zero: TigerBeetle takes them from the pending
   * transfer. Those are looked up, so the cache forgets the accounts that moved, not account 0.
   */
  private async withAccounts(committed: Transfer[]): Promise<Transfer[]> {
    const unnamed = (t: Transfer) =>
      t.pending_id !== 0n && (t.debit_account_id === 0n || t.credit_account_id === 0n);
    const pendingIds = [...new Set(committed.filter(unnamed).map((t) => t.pending_id))];
    if (pendingIds.length === 0) return committed;
    const found = await this.deps.ledger.lookupTransfers(pendingIds);
    const pending = new Map(found.map((t) => [t.id, t]));
    return committed.map((t) => {
      if (!unnamed(t)) return t;
      const held = pending.get(t.pending_id);
      // The ledger accepted a post or void of it, so the pending transfer exists.
      assert(held !== undefined, () => `pending transfer ${t.pending_id} of ${t.id} not found`);
      return {
        ...t,
        debit_account_id: held.debit_account_id,
        credit_account_id: held.credit_account_id,
      };
    });
  }
}
