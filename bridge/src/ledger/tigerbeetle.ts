/**
 * The Ledger port over a real TigerBeetle cluster, through tigerbeetle-node.
 *
 * A thin facade: wire-range checks first (so bad input is a typed LedgerError naming the field,
 * not the client's TypeError), then the client call, with the client's closed set of request
 * errors mapped to LedgerError codes. The client talks to every replica directly
 * (`addresses` in replica order); there is never a load balancer in front of TigerBeetle.
 */
import { createClient, ErrorCodes, RequestError, type Client } from 'tigerbeetle-node';
import { LedgerError, type Ledger, type LedgerErrorCode } from './port';
import {
  assertAccountFilterWire,
  assertAccountsWire,
  assertIdsWire,
  assertQueryFilterWire,
  assertTransfersWire,
} from './wire';

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
// a session with the cluster.
let clientOpen = false;

export async function openTigerBeetleLedger(options: TigerBeetleOptions): Promise<Ledger> {
  if (clientOpen) {
    throw new Error('a TigerBeetle client is already open in this process (one per process)');
  }
  if (options.addresses.length === 0) throw new Error('TigerBeetle addresses: none given');
  const client = createClient({
    cluster_id: options.clusterId,
    replica_addresses: options.addresses,
  });
  clientOpen = true;
  return new TigerBeetleLedger(client, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
}

class TigerBeetleLedger implements Ledger {
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly requestTimeoutMs: number,
  ) {}

  createAccounts: Ledger['createAccounts'] = (batch) => {
    return this.call('create_accounts', () => {
      assertAccountsWire(batch);
      return this.client.createAccounts(batch);
    });
  };

  createTransfers: Ledger['createTransfers'] = (batch) => {
    return this.call('create_transfers', () => {
      assertTransfersWire(batch);
      return this.client.createTransfers(batch);
    });
  };

  lookupAccounts: Ledger['lookupAccounts'] = (ids) => {
    return this.call('lookup_accounts', () => {
      assertIdsWire(ids, 'lookup_accounts');
      return this.client.lookupAccounts(ids);
    });
  };

  lookupTransfers: Ledger['lookupTransfers'] = (ids) => {
    return this.call('lookup_transfers', () => {
      assertIdsWire(ids, 'lookup_transfers');
      return this.client.lookupTransfers(ids);
    });
  };

  getAccountTransfers: Ledger['getAccountTransfers'] = (filter) => {
    return this.call('get_account_transfers', () => {
      assertAccountFilterWire(filter);
      return this.client.getAccountTransfers(filter);
    });
  };

  getAccountBalances: Ledger['getAccountBalances'] = (filter) => {
    return this.call('get_account_balances', () => {
      assertAccountFilterWire(filter);
      return this.client.getAccountBalances(filter);
    });
  };

  queryAccounts: Ledger['queryAccounts'] = (filter) => {
    return this.call('query_accounts', () => {
      assertQueryFilterWire(filter);
      return this.client.queryAccounts(filter);
    });
  };

  queryTransfers: Ledger['queryTransfers'] = (filter) => {
    return this.call('query_transfers', () => {
      assertQueryFilterWire(filter);
      return this.client.queryTransfers(filter);
    });
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // destroy() rejects requests still in flight with ERR_CLIENT_CLOSED.
    this.client.destroy();
    clientOpen = false;
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
