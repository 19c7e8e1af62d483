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
 * A connection is served only after its handshake (./handshake.ts): the client proves it holds
 * ENGINE_SECRET, without sending it, within HANDSHAKE_TIMEOUT_MS. Anything else is refused and
 * closed with one logged line (the remote address and why, never the secret or the proof).
 * The secret is required whatever the host: this server listens on TCP only, and loopback is
 * shared by every process and container on the machine.
 *
 * Like the engine itself this is for development, CI and local multi-instance clusters, not a
 * TigerBeetle replacement: one process, no replication.
 */
import net from 'node:net';
import { LedgerError } from '../port';
import { execute } from './execute';
import { engineKey, HANDSHAKE_TIMEOUT_MS, type RefusalReason, ServerHandshake } from './handshake';
import { EmbeddedLedger } from './ledger';
import { encodeErrorReply, FrameReader, ProtocolError, REQUEST_HEADER_BYTES } from './protocol';

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
  /** Default 127.0.0.1: a shared secret is no reason to face a public interface. */
  host?: string;
  /** ENGINE_SECRET (≥ 32 characters): every client must prove it (./handshake.ts). */
  secret: string;
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
/** How long a refused peer has to read the refusal before its connection is cut. */
const REFUSE_LINGER_MS = 1_000;

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
  // Before the ledger opens: a server without a usable secret never starts.
  const key = engineKey(options.secret);
  const ledger = await EmbeddedLedger.open({
    dataDir: options.dataDir,
    fsync: options.fsync ?? true,
  });
  const state = new ServerState(ledger, log, key);
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
    readonly key: Buffer,
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
  /** Until the client has proved the secret; null after, served or refused. */
  private handshake: ServerHandshake | null;
  private readonly handshakeTimer: NodeJS.Timeout;
  private refused = false;

  constructor(
    private readonly server: ServerState,
    private readonly socket: net.Socket,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.reader = new FrameReader(REQUEST_HEADER_BYTES, (frame) => this.onFrame(frame));
    this.handshake = new ServerHandshake(server.key);
    socket.write(this.handshake.challenge);
    this.handshakeTimer = setTimeout(() => this.refuse('timeout'), HANDSHAKE_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      if (this.refused) return;
      try {
        if (this.handshake !== null) this.onHandshake(chunk);
        else this.reader.push(chunk);
      } catch (error) {
        this.violation(error as Error);
      }
    });
    socket.once('close', () => {
      clearTimeout(this.handshakeTimer);
      // A peer gone mid-handshake is logged like a refusal, unless the server itself closed it.
      if (this.handshake !== null && !server.closing) this.refuse('hung_up');
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

  private onHandshake(chunk: Buffer): void {
    const step = this.handshake!.push(chunk);
    if (step.kind === 'pending') return;
    if (step.kind === 'refused') {
      this.refuse(step.reason);
      return;
    }
    this.handshake = null;
    clearTimeout(this.handshakeTimer);
    this.socket.write(step.reply);
    if (step.rest.length > 0) this.reader.push(step.rest);
  }

  /** One line per refused connection; the peer gets a refusal it can name, then the close. */
  private refuse(reason: RefusalReason): void {
    this.handshake = null;
    this.refused = true;
    clearTimeout(this.handshakeTimer);
    this.server.log.warn({ remote: this.remote, reason }, 'engine connection refused: handshake');
    if (this.socket.destroyed) return;
    this.socket.end(ServerHandshake.refusal(reason).reply);
    setTimeout(() => this.socket.destroy(), REFUSE_LINGER_MS).unref();
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
