/**
 * The Ledger port over a real TigerBeetle cluster, through tigerbeetle-node.
 *
 * A thin facade: wire-range checks first (so bad input is a typed LedgerError naming the field,
 * not the client's TypeError), then the client call, with the client's closed set of request
 * errors mapped to LedgerError codes. The client talks to every replica directly
 * (`addresses` in replica order); there is never a load balancer in front of TigerBeetle.
 */
import { assert } from '../../core/assert';
import { createClient, ErrorCodes, RequestError, type Client } from 'tigerbeetle-node';
import { LedgerError, type Ledger, type LedgerErrorCode } from '../port';
import {
  checkAccountFilterWire,
  checkAccountsWire,
  checkIdsWire,
  checkQueryFilterWire,
  checkTransfersWire,
} from '../wire';

export interface TigerBeetleOptions {
  clusterId: bigint;
  /** Every replica, in replica order: "3001", "127.0.0.1:3001", ... */
  addresses: string[];
  /** The client retries forever; past this the bridge reports `unavailable`. */
  requestTimeoutMs?: number;
}

const REQUEST_TIMEOUT_MS_DEFAULT = 5_000;

const REQUEST_ERRORS: Record<ErrorCodes, LedgerErrorCode> = {
  [ErrorCodes.ERR_TOO_MUCH_DATA]: 'too_much_data',
  [ErrorCodes.ERR_CLIENT_CLOSED]: 'closed',
  [ErrorCodes.ERR_CLIENT_EVICTED]: 'unavailable',
  [ErrorCodes.ERR_CLIENT_RELEASE_TOO_LOW]: 'unavailable',
  [ErrorCodes.ERR_CLIENT_RELEASE_TOO_HIGH]: 'unavailable',
};

// TigerBeetle wants one client per process: it batches our requests itself and each client holds
// a session with the cluster. Several users in one process (a bridge and its reconciler, two API
// instances in a test) share that client; it is destroyed when the last of them closes.
interface SharedClient {
  client: Client;
  users: number;
}
const clients = new Map<string, SharedClient>();

export async function openTigerBeetleLedger(options: TigerBeetleOptions): Promise<Ledger> {
  if (options.addresses.length === 0) throw new Error('TigerBeetle addresses: none given');
  const key = `${options.clusterId}@${options.addresses.join(',')}`;
  let shared = clients.get(key);
  if (shared === undefined) {
    const client = createClient({
      cluster_id: options.clusterId,
      replica_addresses: options.addresses,
    });
    shared = { client, users: 0 };
    clients.set(key, shared);
  }
  shared.users += 1;
  const release = (): void => {
    shared.users -= 1;
    if (shared.users > 0) return;
    clients.delete(key);
    // destroy() rejects requests still in flight with ERR_CLIENT_CLOSED.
    shared.client.destroy();
  };
  return new TigerBeetleLedger(
    shared.client,
    release,
    options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT,
  );
}

/**
 * The port promises `{timestamp, status}` per event, in order. The client's result objects carry
 * the wire layout's `reserved` padding too; a caller comparing results whole (a retry's `exists`
 * against the original) must not see it, so results are rebuilt with exactly the port's fields.
 */
function exactResults<R extends { timestamp: bigint; status: number }>(
  batch: readonly unknown[],
  results: readonly R[],
): { timestamp: bigint; status: R['status'] }[] {
  assert(
    results.length === batch.length,
    `TigerBeetle answered ${results.length} results for ${batch.length} events`,
  );
  return results.map(({ timestamp, status }) => ({ timestamp, status }));
}

class TigerBeetleLedger implements Ledger {
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly release: () => void,
    private readonly requestTimeoutMs: number,
  ) {}

  createAccounts: Ledger['createAccounts'] = (batch) => {
    return this.call('create_accounts', () => {
      checkAccountsWire(batch);
      return this.client.createAccounts(batch).then((results) => exactResults(batch, results));
    });
  };

  createTransfers: Ledger['createTransfers'] = (batch) => {
    return this.call('create_transfers', () => {
      checkTransfersWire(batch);
      return this.client.createTransfers(batch).then((results) => exactResults(batch, results));
    });
  };

  lookupAccounts: Ledger['lookupAccounts'] = (ids) => {
    return this.call('lookup_accounts', () => {
      checkIdsWire(ids, 'lookup_accounts');
      return this.client.lookupAccounts(ids);
    });
  };

  lookupTransfers: Ledger['lookupTransfers'] = (ids) => {
    return this.call('lookup_transfers', () => {
      checkIdsWire(ids, 'lookup_transfers');
      return this.client.lookupTransfers(ids);
    });
  };

  getAccountTransfers: Ledger['getAccountTransfers'] = (filter) => {
    return this.call('get_account_transfers', () => {
      checkAccountFilterWire(filter);
      return this.client.getAccountTransfers(filter);
    });
  };

  getAccountBalances: Ledger['getAccountBalances'] = (filter) => {
    return this.call('get_account_balances', () => {
      checkAccountFilterWire(filter);
      return this.client.getAccountBalances(filter);
    });
  };

  queryAccounts: Ledger['queryAccounts'] = (filter) => {
    return this.call('query_accounts', () => {
      checkQueryFilterWire(filter);
      return this.client.queryAccounts(filter);
    });
  };

  queryTransfers: Ledger['queryTransfers'] = (filter) => {
    return this.call('query_transfers', () => {
      checkQueryFilterWire(filter);
      return this.client.queryTransfers(filter);
    });
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    if (this.closed) throw new LedgerError('closed', `${operation}: the ledger is closed`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new LedgerError(
            'unavailable',
            `${operation}: no answer from the TigerBeetle cluster within ` +
              `${this.requestTimeoutMs} ms`,
          ),
        );
      }, this.requestTimeoutMs);
    });
    try {
      return await Promise.race([send(), timeout]);
    } catch (error) {
      if (error instanceof RequestError) {
        const code = REQUEST_ERRORS[error.code] as LedgerErrorCode | undefined;
        // A code this client version does not list is a broken assumption, not an outcome.
        if (code === undefined) throw error;
        throw new LedgerError(code, `${operation}: ${error.message}`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
