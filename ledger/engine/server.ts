/**
 * The embedded engine as a shared process: one EmbeddedLedger (which holds the data directory's
 * lock) served over TCP to any number of clients (`ledger/engine/client.ts`), so
 * several bridge instances, the projection worker's reconciliation and `ledger-bridge reconcile`
 * can use one ledger at once. Framing and bodies: ./protocol.ts.
 *
 * Requests from every connection go to the same ledger, whose group commit batches their
 * fdatasyncs. A create request executes when its frame arrives (so per connection, execution
 * order is send order) and is answered, tagged with its request id, once durable; pipelined
 * requests are answered as they complete. A malformed frame closes its connection with a logged
 * reason; the server and every other connection carry on.
 *
 * Like the engine itself this is for development, CI and local multi-instance clusters, not a
 * TigerBeetle replacement: one process, no replication.
 */
import net from 'node:net';
import { Operation } from 'tigerbeetle-node/dist/bindings';
import { BATCH_EVENTS_MAX, LedgerError } from '../port';
import {
  ACCOUNT_SIZE,
  decodeAccounts,
  decodeTransfers,
  encodeAccounts,
  encodeTransfers,
  TRANSFER_SIZE,
} from './codec';
import { decodeChangesFilter, encodeChangeEvents } from './change-codec';
import { EmbeddedLedger } from './ledger';
import {
  ACCOUNT_FILTER_BYTES,
  allocateReply,
  decodeAccountFilter,
  decodeIds,
  decodeQueryFilter,
  encodeBalances,
  encodeErrorReply,
  FrameReader,
  ID_BYTES,
  ProtocolError,
  QUERY_FILTER_BYTES,
  REPLY_OK,
  replyHeader,
  REQUEST_HEADER_BYTES,
  RESULT_BYTES,
  writeResults,
} from './protocol';

/** pino-compatible subset, so the server can log through the bridge's logger or a test's. */
export interface EngineLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface EngineServerOptions {
  dataDir: string;
  /** Default true; false only for throwaway runs. */
  fsync?: boolean;
  /** Default 127.0.0.1: the protocol has no authentication, so keep it off public interfaces. */
  host?: string;
  /** 0 picks a free port (see `address`). */
  port: number;
  log?: EngineLog;
}

export interface EngineServer {
  readonly address: { host: string; port: number };
  readonly ledger: EmbeddedLedger;
  /** Stop accepting, answer what is in flight, close connections, then the ledger. */
  close(): Promise<void>;
}

/** Requests one connection may have in flight before the server stops reading from it. */
const CONNECTION_IN_FLIGHT_MAX = 256;
/** How long close() lets clients read their last replies before cutting connections. */
const CLOSE_DRAIN_MS_MAX = 2_000;

const jsonLog = (level: string) => (fields: object, message: string) => {
  process.stderr.write(`${JSON.stringify({ level, component: 'engine', message, ...fields })}\n`);
};
const STDERR_LOG: EngineLog = {
  info: jsonLog('info'),
  warn: jsonLog('warn'),
  error: jsonLog('error'),
};

export async function startEngineServer(options: EngineServerOptions): Promise<EngineServer> {
  const log = options.log ?? STDERR_LOG;
  const ledger = await EmbeddedLedger.open({
    dataDir: options.dataDir,
    fsync: options.fsync ?? true,
  });
  const state = new ServerState(ledger, log);
  const server = net.createServer({ noDelay: true }, (socket) => state.accept(socket));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await ledger.close();
    throw error;
  }
  server.on('error', (error) => log.error({ error: error.message }, 'engine server error'));
  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  let closing: Promise<void> | null = null;
  return {
    address,
    ledger,
    close: () => (closing ??= state.close(server)),
  };
}

class ServerState {
  private readonly connections = new Set<Connection>();
  private inFlight = 0;
  private idle: (() => void) | null = null;
  closing = false;

  constructor(
    readonly ledger: EmbeddedLedger,
    readonly log: EngineLog,
  ) {}

  accept(socket: net.Socket): void {
    const connection = new Connection(this, socket);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }

  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.idle) this.idle();
  }

  async close(server: net.Server): Promise<void> {
    this.closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await Promise.all([...this.connections].map((c) => c.drain(CLOSE_DRAIN_MS_MAX)));
    await stopped;
    await this.ledger.close();
  }
}

class Connection {
  private readonly reader: FrameReader;
  private inFlight = 0;
  private writeBlocked = false;
  private readonly remote: string;

  constructor(
    private readonly server: ServerState,
    private readonly socket: net.Socket,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.reader = new FrameReader(REQUEST_HEADER_BYTES, (frame) => this.onFrame(frame));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
      } catch (error) {
        this.violation(error as Error);
      }
    });
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    socket.on('error', (error) => {
      server.log.warn({ remote: this.remote, error: error.message }, 'engine connection error');
    });
  }

  /** Ends the connection once its replies are flushed, or cuts it after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }

  private violation(error: Error): void {
    const reason = error instanceof ProtocolError ? error.message : `internal: ${error.message}`;
    this.server.log.warn({ remote: this.remote, reason }, 'engine connection closed: bad frame');
    this.socket.destroy();
  }

  private onFrame(frame: Buffer): void {
    if (this.socket.destroyed) return;
    const requestId = frame.readUInt32LE(0);
    const operation = frame.readUInt16LE(4);
    const body = frame.subarray(6);
    if (this.server.closing) {
      this.reply(
        encodeErrorReply(requestId, 'unavailable', 'the engine server is stopping', undefined),
      );
      return;
    }
    // Throws ProtocolError for a body the operation cannot have: nothing was executed.
    const pending = execute(this.server.ledger, requestId, operation, body);
    this.inFlight++;
    this.server.begin();
    this.updateFlow();
    pending
      .catch((error: unknown) => this.failure(requestId, error))
      .then((frames) => this.reply(...frames))
      .finally(() => {
        this.inFlight--;
        this.server.end();
        this.updateFlow();
      })
      .catch(() => undefined);
  }

  private failure(requestId: number, error: unknown): Buffer[] {
    if (error instanceof LedgerError) {
      // The ledger closed under us means the server is stopping: for the client, that is a
      // server it cannot reach, not a client it closed.
      const code = error.code === 'closed' ? 'unavailable' : error.code;
      return [encodeErrorReply(requestId, code, error.message, error.eventIndex)];
    }
    const message = (error as Error).message ?? String(error);
    this.server.log.error({ remote: this.remote, error: message }, 'engine request failed');
    return [encodeErrorReply(requestId, 'unavailable', `engine: ${message}`, undefined)];
  }

  private reply(...frames: Buffer[]): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.cork();
    let ok = true;
    for (const frame of frames) ok = this.socket.write(frame);
    this.socket.uncork();
    if (!ok) {
      this.writeBlocked = true;
      this.updateFlow();
    }
  }

  /** Stop reading while this client has too much in flight or is not reading its replies. */
  private updateFlow(): void {
    const pause = this.writeBlocked || this.inFlight >= CONNECTION_IN_FLIGHT_MAX;
    if (pause && !this.socket.isPaused()) this.socket.pause();
    else if (!pause && this.socket.isPaused()) this.socket.resume();
  }
}

function bodyCount(body: Buffer, size: number, what: string): number {
  if (body.length % size !== 0) {
    throw new ProtocolError(`${what}: body of ${body.length} bytes is not a multiple of ${size}`);
  }
  return body.length / size;
}

function bodyExact(body: Buffer, size: number, what: string): void {
  if (body.length !== size) {
    throw new ProtocolError(`${what}: body of ${body.length} bytes, expected ${size}`);
  }
}

function tooMuchData(what: string, count: number): Promise<never> {
  return Promise.reject(
    new LedgerError(
      'too_much_data',
      `${what}: ${count} events exceed the batch limit of ${BATCH_EVENTS_MAX}`,
    ),
  );
}

function records(requestId: number, encoded: Buffer): Buffer[] {
  return [replyHeader(requestId, REPLY_OK, encoded.length), encoded];
}

function results(requestId: number, list: readonly { timestamp: bigint; status: number }[]) {
  const frame = allocateReply(requestId, REPLY_OK, list.length * RESULT_BYTES);
  writeResults(frame, list);
  return [frame];
}

/**
 * Checks the body's shape synchronously (a ProtocolError closes the connection before anything
 * runs), then starts the ledger call; the promise yields the reply frames.
 */
function execute(
  ledger: EmbeddedLedger,
  requestId: number,
  operation: number,
  body: Buffer,
): Promise<Buffer[]> {
  switch (operation) {
    case Operation.create_accounts: {
      const count = bodyCount(body, ACCOUNT_SIZE, 'create_accounts');
      if (count > BATCH_EVENTS_MAX) return tooMuchData('create_accounts', count);
      return ledger.createAccounts(decodeAccounts(body)).then((r) => results(requestId, r));
    }
    case Operation.create_transfers: {
      const count = bodyCount(body, TRANSFER_SIZE, 'create_transfers');
      if (count > BATCH_EVENTS_MAX) return tooMuchData('create_transfers', count);
      return ledger.createTransfers(decodeTransfers(body)).then((r) => results(requestId, r));
    }
    case Operation.lookup_accounts:
    case Operation.lookup_transfers: {
      const what = operation === Operation.lookup_accounts ? 'lookup_accounts' : 'lookup_transfers';
      const count = bodyCount(body, ID_BYTES, what);
      if (count > BATCH_EVENTS_MAX) return tooMuchData(what, count);
      const ids = decodeIds(body);
      if (operation === Operation.lookup_accounts) {
        return ledger.lookupAccounts(ids).then((a) => records(requestId, encodeAccounts(a)));
      }
      return ledger.lookupTransfers(ids).then((t) => records(requestId, encodeTransfers(t)));
    }
    case Operation.get_account_transfers:
      bodyExact(body, ACCOUNT_FILTER_BYTES, 'get_account_transfers');
      return ledger
        .getAccountTransfers(decodeAccountFilter(body))
        .then((t) => records(requestId, encodeTransfers(t)));
    case Operation.get_account_balances:
      bodyExact(body, ACCOUNT_FILTER_BYTES, 'get_account_balances');
      return ledger
        .getAccountBalances(decodeAccountFilter(body))
        .then((b) => records(requestId, encodeBalances(b)));
    case Operation.query_accounts:
      bodyExact(body, QUERY_FILTER_BYTES, 'query_accounts');
      return ledger
        .queryAccounts(decodeQueryFilter(body))
        .then((a) => records(requestId, encodeAccounts(a)));
    case Operation.query_transfers:
      bodyExact(body, QUERY_FILTER_BYTES, 'query_transfers');
      return ledger
        .queryTransfers(decodeQueryFilter(body))
        .then((t) => records(requestId, encodeTransfers(t)));
    case Operation.get_change_events: {
      const { timestampMin, limit } = decodeChangesFilter(body);
      return ledger
        .changes(timestampMin, limit)
        .then((c) => records(requestId, encodeChangeEvents(c)));
    }
    default:
      throw new ProtocolError(`unknown operation ${operation}`);
  }
}
