/**
 * The Ledger port over TCP to a shared embedded-engine process (ledger/engine/server.ts),
 * so several processes can use one engine: bridge instances, the projection worker's periodic
 * reconciliation, `ledger-bridge reconcile` while a bridge runs.
 *
 * One connection per client, requests pipelined on it and matched to replies by request id.
 * Wire-range checks run before sending, as in the TigerBeetle adapter, so bad input is a typed
 * LedgerError naming the event. When the connection drops, requests in flight on it reject with
 * `unavailable` (they may have committed: the caller retries with the same ids and gets `exists`)
 * and the client reconnects with backoff; requests made while disconnected wait for the
 * connection until their timeout. A request unanswered within `requestTimeoutMs` is
 * `unavailable` too; a late answer to it is ignored.
 *
 * Each connection opens with the handshake (./handshake.ts), both ends proving ENGINE_SECRET.
 * A refusal fails `openEngineClient` at once (EngineAuthError `engine_unauthorized`); later (the
 * server restarted with another secret) it reads as `unavailable`, retried once a second.
 *
 * This sits on the journal hot path: per request it allocates a header, a timer and its
 * bookkeeping; per event only what the codec does.
 */
import net from 'node:net';
import { Operation } from 'tigerbeetle-node/dist/bindings';
import { checkChangesFilter, decodeChangeEvents, encodeChangesFilter } from './change-codec';
import type { LedgerChange } from './changes';
import { decodeAccounts, decodeTransfers, encodeAccounts, encodeTransfers } from './codec';
import { dialEngine } from './dial';
import { EngineAuthError, engineKey } from './handshake';
import {
  ACCOUNT_BALANCE_BYTES,
  checkReplyBytes,
  decodeBalances,
  decodeErrorReply,
  decodeResults,
  encodeAccountFilter,
  encodeIds,
  encodeQueryFilter,
  parseAddress,
  ProtocolError,
  REPLY_ERROR,
  REPLY_HEADER_BYTES,
  REPLY_OK,
  requestHeader,
  RESULT_BYTES,
} from './protocol';
import {
  type CreateAccountStatus,
  type CreateTransferStatus,
  type Ledger,
  LedgerError,
} from '../port';
import {
  checkAccountFilterWire,
  checkAccountsWire,
  checkIdsWire,
  checkQueryFilterWire,
  checkTransfersWire,
} from '../wire';

export interface EngineClientOptions {
  /** The engine server's `host:port`. */
  address: string;
  /** ENGINE_SECRET, as the server holds it (≥ 32 characters); never sent (./handshake.ts). */
  secret: string;
  /** Past this a request is reported `unavailable` (it may still commit; retries reuse ids). */
  requestTimeoutMs?: number;
  /** How long open waits for the first connection; default requestTimeoutMs. */
  connectTimeoutMs?: number;
}

const REQUEST_TIMEOUT_MS_DEFAULT = 5_000;
/** Reconnect backoff: doubles from the minimum to the maximum, reset by a connection. */
const RECONNECT_DELAY_MS_MIN = 20;
const RECONNECT_DELAY_MS_MAX = 1_000;
const REQUEST_ID_MAX = 0xffff_ffff;

interface Pending {
  readonly operation: string;
  readonly header: Buffer;
  readonly body: Buffer;
  readonly decode: (body: Buffer) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  sent: boolean;
}

/** The port, and get_change_events as the embedded ledger answers it (./ledger.ts `changes`). */
export interface EngineClientLedger extends Ledger {
  changes(timestampMin: bigint, limit: number): Promise<LedgerChange[]>;
}

/** Connects, waiting up to connectTimeoutMs for the server; then keeps reconnecting by itself. */
export async function openEngineClient(options: EngineClientOptions): Promise<EngineClientLedger> {
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
  const key = engineKey(options.secret);
  const client = new EngineClient(parseAddress(options.address), key, requestTimeoutMs);
  const connected = await client.waitConnected(options.connectTimeoutMs ?? requestTimeoutMs);
  if (!connected) {
    const failure = client.failure;
    await client.close();
    if (failure instanceof EngineAuthError) throw failure;
    const why = failure === null ? '' : ` (${failure.message})`;
    throw new LedgerError(
      'unavailable',
      `engine server at ${options.address}: no connection within ` +
        `${options.connectTimeoutMs ?? requestTimeoutMs} ms${why}`,
    );
  }
  return client;
}

class EngineClient implements EngineClientLedger {
  private readonly pending = new Map<number, Pending>();
  private socket: net.Socket | null = null;
  /** A connection still in its handshake: close() cuts it too. */
  private dialing: net.Socket | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs = RECONNECT_DELAY_MS_MIN;
  private lastRequestId = 0;
  private closed = false;
  private readonly connectWaiters = new Set<() => void>();
  private readonly where: string;
  /** Why the last connection failed its handshake; cleared by an accepted one. */
  failure: Error | null = null;

  constructor(
    private readonly address: { host: string; port: number },
    private readonly key: Buffer,
    private readonly requestTimeoutMs: number,
  ) {
    this.where = `${address.host}:${address.port}`;
    this.connect();
  }

  async createAccounts(batch: Parameters<Ledger['createAccounts']>[0]) {
    this.assertOpen('create_accounts');
    checkAccountsWire(batch);
    if (batch.length === 0) return [];
    const bytes = batch.length * RESULT_BYTES;
    return this.request(
      'create_accounts',
      Operation.create_accounts,
      encodeAccounts(batch),
      (b) => {
        checkReplyBytes(b, bytes, 'create_accounts');
        return decodeResults<CreateAccountStatus>(b);
      },
    );
  }

  async createTransfers(batch: Parameters<Ledger['createTransfers']>[0]) {
    this.assertOpen('create_transfers');
    checkTransfersWire(batch);
    if (batch.length === 0) return [];
    const bytes = batch.length * RESULT_BYTES;
    const body = encodeTransfers(batch);
    return this.request('create_transfers', Operation.create_transfers, body, (b) => {
      checkReplyBytes(b, bytes, 'create_transfers');
      return decodeResults<CreateTransferStatus>(b);
    });
  }

  async lookupAccounts(ids: bigint[]) {
    this.assertOpen('lookup_accounts');
    checkIdsWire(ids, 'lookup_accounts');
    if (ids.length === 0) return [];
    return this.request('lookup_accounts', Operation.lookup_accounts, encodeIds(ids), (b) =>
      decodeAccounts(b),
    );
  }

  async lookupTransfers(ids: bigint[]) {
    this.assertOpen('lookup_transfers');
    checkIdsWire(ids, 'lookup_transfers');
    if (ids.length === 0) return [];
    return this.request('lookup_transfers', Operation.lookup_transfers, encodeIds(ids), (b) =>
      decodeTransfers(b),
    );
  }

  async getAccountTransfers(filter: Parameters<Ledger['getAccountTransfers']>[0]) {
    this.assertOpen('get_account_transfers');
    checkAccountFilterWire(filter);
    const body = encodeAccountFilter(filter);
    return this.request('get_account_transfers', Operation.get_account_transfers, body, (b) =>
      decodeTransfers(b),
    );
  }

  async getAccountBalances(filter: Parameters<Ledger['getAccountBalances']>[0]) {
    this.assertOpen('get_account_balances');
    checkAccountFilterWire(filter);
    const body = encodeAccountFilter(filter);
    return this.request('get_account_balances', Operation.get_account_balances, body, (b) => {
      if (b.length % ACCOUNT_BALANCE_BYTES !== 0)
        throw new ProtocolError(`balances: ${b.length} bytes`);
      return decodeBalances(b);
    });
  }

  async queryAccounts(filter: Parameters<Ledger['queryAccounts']>[0]) {
    this.assertOpen('query_accounts');
    checkQueryFilterWire(filter);
    const body = encodeQueryFilter(filter);
    return this.request('query_accounts', Operation.query_accounts, body, (b) => decodeAccounts(b));
  }

  async queryTransfers(filter: Parameters<Ledger['queryTransfers']>[0]) {
    this.assertOpen('query_transfers');
    checkQueryFilterWire(filter);
    const body = encodeQueryFilter(filter);
    return this.request('query_transfers', Operation.query_transfers, body, (b) =>
      decodeTransfers(b),
    );
  }

  async changes(timestampMin: bigint, limit: number): Promise<LedgerChange[]> {
    this.assertOpen('get_change_events');
    checkChangesFilter(timestampMin, limit);
    const body = encodeChangesFilter(timestampMin, limit);
    return this.request('get_change_events', Operation.get_change_events, body, (b) =>
      decodeChangeEvents(b),
    );
  }

  /** Requests not yet sent reject with `closed`; those on the wire get their answer first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const [id, p] of this.pending) {
      if (!p.sent) this.settle(id, p)?.reject(this.closedError(p.operation));
    }
    while (this.pending.size > 0) {
      await new Promise<void>((resolve) => this.connectWaiters.add(resolve));
    }
    this.socket?.destroy();
    this.dialing?.destroy();
    this.socket = null;
    for (const wake of this.connectWaiters) wake();
  }

  /** True once connected, false if `timeoutMs` passes first. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.socket !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.connectWaiters.delete(wake);
        resolve(this.socket !== null);
      };
      const timer = setTimeout(wake, timeoutMs);
      this.connectWaiters.add(wake);
    });
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw this.closedError(operation);
  }

  private closedError(operation: string): LedgerError {
    return new LedgerError('closed', `${operation}: the ledger is closed`);
  }

  private request<T>(
    operation: string,
    op: number,
    body: Buffer,
    decode: (body: Buffer) => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.nextRequestId();
      const p: Pending = {
        operation,
        header: requestHeader(id, op, body.length),
        body,
        decode,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        sent: false,
      };
      p.timer = setTimeout(() => this.timeout(id), this.requestTimeoutMs);
      this.pending.set(id, p);
      if (this.socket !== null) this.send(this.socket, p);
    });
  }

  private nextRequestId(): number {
    do {
      this.lastRequestId = this.lastRequestId === REQUEST_ID_MAX ? 1 : this.lastRequestId + 1;
    } while (this.pending.has(this.lastRequestId));
    return this.lastRequestId;
  }

  private send(socket: net.Socket, p: Pending): void {
    p.sent = true;
    socket.cork();
    socket.write(p.header);
    if (p.body.length > 0) socket.write(p.body);
    socket.uncork();
  }

  /** Removes a request from the books; null if it was already settled. */
  private settle(id: number, p: Pending | undefined): Pending | null {
    if (p === undefined || this.pending.get(id) !== p) return null;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (this.pending.size === 0 && this.closed) for (const wake of this.connectWaiters) wake();
    return p;
  }

  private timeout(id: number): void {
    const p = this.settle(id, this.pending.get(id));
    if (p === null) return;
    const why = p.sent ? 'no answer from' : 'no connection to';
    const failure = this.failure === null ? '' : ` (${this.failure.message})`;
    p.reject(
      new LedgerError(
        'unavailable',
        `${p.operation}: ${why} the engine server at ${this.where} within ` +
          `${this.requestTimeoutMs} ms${failure}`,
      ),
    );
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.closed) return;
    this.dialing = dialEngine(this.address, this.key, {
      ready: (socket) => this.onReady(socket),
      refused: (error) => this.onRefused(error),
      reply: (frame) => this.onReply(frame),
      closed: (socket) => this.onClose(socket),
    });
  }

  private onReady(socket: net.Socket): void {
    this.dialing = null;
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    this.failure = null;
    this.reconnectDelayMs = RECONNECT_DELAY_MS_MIN;
    for (const p of this.pending.values()) if (!p.sent) this.send(socket, p);
    for (const wake of this.connectWaiters) wake();
  }

  /** A refusal will not heal by retrying fast: the slowest pace, and open fails at once. */
  private onRefused(error: Error): void {
    this.failure = error;
    if (!(error instanceof EngineAuthError)) return;
    this.reconnectDelayMs = RECONNECT_DELAY_MS_MAX;
    for (const wake of this.connectWaiters) wake();
  }

  private onClose(socket: net.Socket): void {
    if (this.socket === socket) this.socket = null;
    if (this.dialing === socket) this.dialing = null;
    for (const [id, p] of this.pending) {
      if (!p.sent) continue;
      this.settle(id, p)?.reject(
        new LedgerError(
          'unavailable',
          `${p.operation}: the connection to the engine server at ${this.where} dropped ` +
            'before the answer (the request may have committed; retry with the same ids)',
        ),
      );
    }
    if (this.closed) return;
    this.reconnectTimer = setTimeout(() => this.connect(), this.reconnectDelayMs);
    this.reconnectTimer.unref();
    this.reconnectDelayMs = Math.min(RECONNECT_DELAY_MS_MAX, this.reconnectDelayMs * 2);
  }

  private onReply(frame: Buffer): void {
    const id = frame.readUInt32LE(0);
    const kind = frame.readUInt8(4);
    const body = frame.subarray(REPLY_HEADER_BYTES - 4);
    if (kind !== REPLY_OK && kind !== REPLY_ERROR) throw new ProtocolError(`reply kind ${kind}`);
    // A late answer to a request that timed out: the caller has been told `unavailable`.
    const p = this.settle(id, this.pending.get(id));
    if (p === null) return;
    try {
      if (kind === REPLY_OK) p.resolve(p.decode(body));
      else p.reject(decodeErrorReply(body, p.operation));
    } catch (error) {
      p.reject(
        new LedgerError('unavailable', `${p.operation}: bad reply: ${(error as Error).message}`),
      );
      throw error;
    }
  }
}
