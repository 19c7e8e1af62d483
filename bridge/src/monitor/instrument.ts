/**
 * Wrappers that measure the write path without touching it: the Ledger port (request latency and
 * batch sizes, as the batcher sends them) and the journal service (journals offered, and each
 * one's outcome). Both delegate unchanged; they only add a clock read and a counter or two.
 */
import { toErrorAnswer } from '../http/error-mapping';
import type { JournalService, Posted } from '../journal/service';
import type { Ledger } from '../ledger/port';
import type { BridgeMetrics, JournalOutcomeLabel } from './metrics';

/** The Ledger port, timed per operation; createTransfers also records its batch size. */
export function instrumentLedger(ledger: Ledger, m: BridgeMetrics): Ledger {
  const timed = <A extends unknown[], R>(
    operation: string,
    call: (...args: A) => Promise<R>,
    size?: (...args: A) => number,
  ) => {
    const histogram = m.ledgerRequestDuration.labels({ operation });
    return async (...args: A): Promise<R> => {
      if (size !== undefined) m.ledgerBatchEvents.observe(size(...args));
      const end = histogram.startTimer();
      try {
        return await call(...args);
      } catch (error) {
        m.ledgerRequestFailures.inc({ operation });
        throw error;
      } finally {
        end();
      }
    };
  };
  return {
    createAccounts: timed('create_accounts', (b) => ledger.createAccounts(b)),
    createTransfers: timed(
      'create_transfers',
      (b) => ledger.createTransfers(b),
      (b) => b.length,
    ),
    lookupAccounts: timed('lookup_accounts', (ids) => ledger.lookupAccounts(ids)),
    lookupTransfers: timed('lookup_transfers', (ids) => ledger.lookupTransfers(ids)),
    getAccountTransfers: timed('get_account_transfers', (f) => ledger.getAccountTransfers(f)),
    getAccountBalances: timed('get_account_balances', (f) => ledger.getAccountBalances(f)),
    queryAccounts: timed('query_accounts', (f) => ledger.queryAccounts(f)),
    queryTransfers: timed('query_transfers', (f) => ledger.queryTransfers(f)),
    close: () => ledger.close(),
  };
}

/** What the monitor learns from each journal. */
export interface JournalObserver {
  offered(): void;
  /** A verdict (posted, held, rejected), or `failed` (no verdict), and where it was published. */
  settled(outcome: JournalOutcomeLabel, posted: Posted | null): void;
}

/**
 * Wraps `post` and `resolveHold` of this JournalService instance (the single and the bulk route
 * both go through them). A rejection with a 4xx answer is a verdict (`rejected`): the journal was
 * processed; a 5xx is `failed`.
 */
export function instrumentJournals(service: JournalService, observer: JournalObserver): void {
  const post = service.post.bind(service);
  const resolveHold = service.resolveHold.bind(service);
  const track = async (run: () => Promise<Posted>): Promise<Posted> => {
    observer.offered();
    let posted: Posted;
    try {
      posted = await run();
    } catch (error) {
      observer.settled(toErrorAnswer(error).status < 500 ? 'rejected' : 'failed', null);
      throw error;
    }
    observer.settled(posted.receipt.status, posted);
    return posted;
  };
  service.post = (journal) => track(() => post(journal));
  service.resolveHold = (journalId, action, amount) =>
    track(() => resolveHold(journalId, action, amount));
}
