/**
 * What a balance read needs besides the ledger: the account's ledger id, asset, scale and normal
 * side. They never change once an account exists, so they are kept in process (bounded) and
 * PostgreSQL is asked once per account, not once per read.
 */
import { LRUCache } from 'lru-cache';
import type { BalanceSubject } from './view';

export interface Subject extends BalanceSubject {
  ledgerId: bigint;
}

export interface SubjectSource {
  /** The account's metadata, or a 404 `account_not_found` (AccountService.requireAccount). */
  requireAccount(accountId: string): Promise<Subject>;
}

export class SubjectCache {
  private readonly cache: LRUCache<string, Subject>;
  private readonly inflight = new Map<string, Promise<Subject>>();

  constructor(
    private readonly source: SubjectSource,
    entriesMax: number,
  ) {
    this.cache = new LRUCache({ max: entriesMax });
  }

  /** The subject when it is kept in process (no promise: a read's common case), else undefined. */
  peek(accountId: string): Subject | undefined {
    return this.cache.get(accountId);
  }

  async get(accountId: string): Promise<Subject> {
    const cached = this.cache.get(accountId);
    if (cached !== undefined) return cached;
    let flight = this.inflight.get(accountId);
    if (flight === undefined) {
      flight = this.source.requireAccount(accountId).then((record) => {
        const subject: Subject = {
          accountId: record.accountId,
          ledgerId: record.ledgerId,
          asset: record.asset,
          scale: record.scale,
          normalSide: record.normalSide,
        };
        this.cache.set(accountId, subject);
        return subject;
      });
      this.inflight.set(accountId, flight);
      void flight.catch(() => undefined).finally(() => this.inflight.delete(accountId));
    }
    return flight;
  }
}
