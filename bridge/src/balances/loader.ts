/**
 * L3: balances from the ledger, batched and single-flight.
 *
 * Misses queue for one turn of the event loop and go to the ledger together, one lookupAccounts
 * of up to BATCH_EVENTS_MAX ids; a burst of readers of one account shares one lookup. Each lookup
 * is labelled with the ledger timestamp it is known to follow (`asOfNs`: the newest write this
 * process knew was committed when the lookup was sent).
 *
 * Read-your-writes: a read that must reflect the write stamped `minAsOfNs` joins a lookup already
 * sent only when that lookup's label is at least `minAsOfNs`; otherwise it waits for the next
 * batch, which is sent after the read arrived, hence after the client's write was acknowledged.
 *
 * The label holds whatever order the ledger executes concurrent calls in. TigerBeetle's client
 * may run a write issued after this lookup before it (it merges requests of one operation ahead
 * of queued reads); that only makes the answer newer than its label. Every write in the label was
 * acknowledged before the lookup was sent, so the lookup cannot run before it.
 */
import { assert, InvariantError } from '../../../core/assert';
import { type Account, BATCH_EVENTS_MAX } from '../../../ledger/port';
import type { CachedBalance } from './entry';

export interface Loaded {
  /** null: the ledger has no such account. */
  entry: CachedBalance | null;
}

export interface LoaderOptions {
  lookupAccounts(ids: bigint[]): Promise<Account[]>;
  /** Called once per account and lookup (not per waiter): where the caches are filled. */
  onLoaded?(key: string, entry: CachedBalance): void;
  /** The newest committed write timestamp this process knows of. */
  watermarkNs(): bigint;
  now?: () => number;
  batchMax?: number;
}

interface Waiter {
  resolve(loaded: Loaded): void;
  reject(error: unknown): void;
}

interface Flight {
  asOfNs: bigint;
  promise: Promise<Loaded>;
}

export class BalanceLoader {
  private pending = new Map<string, { id: bigint; waiters: Waiter[] }>();
  private readonly inflight = new Map<string, Flight>();
  private scheduled = false;
  private readonly batchMax: number;
  private readonly now: () => number;
  /** lookupAccounts calls made, and ids asked for (metrics, tests). */
  lookups = 0;
  idsLookedUp = 0;

  constructor(private readonly options: LoaderOptions) {
    this.batchMax = options.batchMax ?? BATCH_EVENTS_MAX;
    this.now = options.now ?? Date.now;
    if (this.batchMax < 1 || this.batchMax > BATCH_EVENTS_MAX) {
      throw new InvariantError(`batchMax ${this.batchMax}`);
    }
  }

  load(id: bigint, minAsOfNs = 0n): Promise<Loaded> {
    const key = id.toString();
    const flight = this.inflight.get(key);
    if (flight !== undefined && flight.asOfNs >= minAsOfNs) return flight.promise;
    return new Promise<Loaded>((resolve, reject) => {
      let slot = this.pending.get(key);
      if (slot === undefined) {
        slot = { id, waiters: [] };
        this.pending.set(key, slot);
      }
      slot.waiters.push({ resolve, reject });
      if (this.pending.size >= this.batchMax) this.dispatch();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.dispatch());
      }
    });
  }

  private dispatch(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const asOfNs = this.options.watermarkNs();
    const ids = [...batch.values()].map((slot) => slot.id);
    this.lookups += 1;
    this.idsLookedUp += ids.length;
    const results = this.options.lookupAccounts(ids).then((accounts) => {
      const fetchedAtMs = this.now();
      const found = new Map<string, Account>();
      for (const account of accounts) found.set(account.id.toString(), account);
      assert(!(found.size > ids.length), 'lookup answered unasked ids');
      return { found, fetchedAtMs };
    });
    for (const [key, slot] of batch) {
      const promise = results.then(({ found, fetchedAtMs }): Loaded => {
        const account = found.get(key);
        if (account === undefined) return { entry: null };
        const entry = { balances: account, asOfNs, fetchedAtMs };
        this.options.onLoaded?.(key, entry);
        return { entry };
      });
      const flight = { asOfNs, promise };
      this.inflight.set(key, flight);
      promise.then(
        (loaded) => slot.waiters.forEach((w) => w.resolve(loaded)),
        (error: unknown) => slot.waiters.forEach((w) => w.reject(error)),
      );
      void promise
        .catch(() => undefined)
        .finally(() => {
          if (this.inflight.get(key) === flight) this.inflight.delete(key);
        });
    }
  }
}
