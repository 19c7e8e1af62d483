/**
 * Wrappers that measure the write path without touching it: the Ledger port (request latency and
 * batch sizes, as the batcher sends them) and the journal service (journals offered, and each
 * one's outcome). Both delegate unchanged; they only add a clock read and a counter or two.
 */
import { toErrorAnswer } from '../http/error-mapping';
import type { JournalObserver, Posted } from '../journal/service';
import type { Ledger } from '../../../ledger/port';
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

/** What the monitor counts of each journal. */
export interface JournalCounters {
  offered(): void;
  /** A verdict (posted, held, rejected), or `failed` (no verdict), and where it was published. */
  settled(outcome: JournalOutcomeLabel, posted: Posted | null): void;
}

/**
 * The journal service's observer for the monitor (passed in as `observer`, the single and the bulk
 * route both go through it). A rejection with a 4xx answer is a verdict (`rejected`): the journal
 * was processed; a 5xx is `failed`.
 */
export function journalObserver(counters: JournalCounters): JournalObserver {
  return {
    offered: () => counters.offered(),
    settled: (end) => {
      if ('posted' in end) counters.settled(end.posted.receipt.status, end.posted);
      else counters.settled(toErrorAnswer(end.error).status < 500 ? 'rejected' : 'failed', null);
    },
  };
}
