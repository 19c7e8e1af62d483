/**
 * The engine server's handshake: the first bytes of every connection, before any request frame
 * (./protocol.ts). Both ends prove they hold ENGINE_SECRET without sending it (challenge and
 * response, HMAC-SHA256): a process that reaches the port without the secret can neither read
 * nor write the ledger, and a client never takes answers (a `created` for a transfer that was
 * never made) from a server without it.
 *
 * Three messages, each HANDSHAKE_BYTES long: [4 bytes "LBEH"][u16 version][u16 kind]
 * [32-byte nonce][32-byte mac], little-endian, unused fields zero.
 *
 * 1. server → client, challenge (kind 1): a fresh random server nonce.
 * 2. client → server, proof (kind 2): a fresh client nonce and
 *    mac = HMAC(secret, "ledger-bridge/engine/1/client" ‖ server nonce ‖ client nonce).
 * 3. server → client, accept (kind 3): mac = HMAC(secret, ".../server" ‖ server nonce ‖ client
 *    nonce); or refuse (kind 4), after which the server closes the connection.
 *
 * The server's nonce makes a recorded proof useless on another connection, the client's does the
 * same for a recorded accept, and the two labels keep one side's mac from being reflected as the
 * other's. Macs are compared in constant time. A peer that sends anything else, or nothing within
 * HANDSHAKE_TIMEOUT_MS, is refused.
 */
import crypto from 'node:crypto';
import type net from 'node:net';

const MAGIC = Buffer.from('LBEH', 'latin1');
/** As many random bytes as the HMAC-SHA256 output: a nonce never repeats in practice. */
const NONCE_BYTES = 32;
const MAC_BYTES = 32;
const NONCE_AT = 8;
const MAC_AT = NONCE_AT + NONCE_BYTES;

export const HANDSHAKE_BYTES = MAC_AT + MAC_BYTES;
export const HANDSHAKE_VERSION = 1;
/** Long enough for a loaded machine's scheduler, short enough that idle probes do not pile up. */
export const HANDSHAKE_TIMEOUT_MS = 2_000;
/** 32 characters: ≥ 128 bits even for a hex secret, the least an HMAC key should carry. */
export const ENGINE_SECRET_CHARS_MIN = 32;
const CLIENT_LABEL = Buffer.from('ledger-bridge/engine/1/client', 'latin1');
const SERVER_LABEL = Buffer.from('ledger-bridge/engine/1/server', 'latin1');

export const HandshakeKind = { challenge: 1, proof: 2, accept: 3, refuse: 4 } as const;
type HandshakeKind = (typeof HandshakeKind)[keyof typeof HandshakeKind];

/**
 * `engine_unauthorized`: the other end does not hold our secret (refused, or failed its proof).
 * `engine_secret_invalid`: ours is missing or too short, so nothing is started or dialled.
 */
export type EngineAuthErrorCode = 'engine_unauthorized' | 'engine_secret_invalid';

export class EngineAuthError extends Error {
  override readonly name = 'EngineAuthError';
  constructor(
    readonly code: EngineAuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Why the server refused a connection; logged, never sent (the peer learns only "refused"). */
export type RefusalReason =
  'bad_magic' | 'bad_version' | 'bad_kind' | 'bad_proof' | 'timeout' | 'hung_up';

/** The secret as an HMAC key; the message names `setting`, never the value. */
export function engineKey(secret: string | undefined, setting = 'ENGINE_SECRET'): Buffer {
  if (secret === undefined || secret.length < ENGINE_SECRET_CHARS_MIN) {
    throw new EngineAuthError(
      'engine_secret_invalid',
      `${setting} must be set, at least ${ENGINE_SECRET_CHARS_MIN} characters ` +
        '(e.g. openssl rand -base64 33)',
    );
  }
  return Buffer.from(secret, 'utf8');
}

/** A per-run secret for the engines the project starts itself (tests, npm start, benches). */
export function randomEngineSecret(): string {
  return crypto.randomBytes(32).toString('base64url');
}

function message(kind: HandshakeKind, nonce?: Buffer, mac?: Buffer): Buffer {
  const out = Buffer.alloc(HANDSHAKE_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt16LE(HANDSHAKE_VERSION, 4);
  out.writeUInt16LE(kind, 6);
  nonce?.copy(out, NONCE_AT);
  mac?.copy(out, MAC_AT);
  return out;
}

function mac(key: Buffer, label: Buffer, serverNonce: Buffer, clientNonce: Buffer): Buffer {
  return crypto
    .createHmac('sha256', key)
    .update(label)
    .update(serverNonce)
    .update(clientNonce)
    .digest();
}

/** Checks magic and version as soon as their bytes are there, so garbage is refused at once. */
function headerFault(bytes: Buffer): RefusalReason | null {
  const magic = Math.min(bytes.length, MAGIC.length);
  if (!bytes.subarray(0, magic).equals(MAGIC.subarray(0, magic))) return 'bad_magic';
  if (bytes.length >= 6 && bytes.readUInt16LE(4) !== HANDSHAKE_VERSION) return 'bad_version';
  return null;
}

/** Joins chunks until one whole message is there; the bytes after it are the caller's. */
class Collector {
  private bytes: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer {
    this.bytes = this.bytes.length === 0 ? chunk : Buffer.concat([this.bytes, chunk]);
    return this.bytes;
  }
}

type Refused = { kind: 'refused'; reply: Buffer; reason: RefusalReason };
export type ServerStep =
  { kind: 'pending' } | { kind: 'accepted'; reply: Buffer; rest: Buffer } | Refused;

/** The server's side of one connection: send `challenge`, then push what arrives. */
export class ServerHandshake {
  readonly challenge: Buffer;
  private readonly nonce = crypto.randomBytes(NONCE_BYTES);
  private readonly collector = new Collector();

  constructor(private readonly key: Buffer) {
    this.challenge = message(HandshakeKind.challenge, this.nonce);
  }

  static refusal(reason: RefusalReason): Refused {
    return { kind: 'refused', reply: message(HandshakeKind.refuse), reason };
  }

  push(chunk: Buffer): ServerStep {
    const bytes = this.collector.push(chunk);
    const fault = headerFault(bytes);
    if (fault !== null) return ServerHandshake.refusal(fault);
    if (bytes.length < HANDSHAKE_BYTES) return { kind: 'pending' };
    if (bytes.readUInt16LE(6) !== HandshakeKind.proof) return ServerHandshake.refusal('bad_kind');
    const clientNonce = bytes.subarray(NONCE_AT, MAC_AT);
    const expected = mac(this.key, CLIENT_LABEL, this.nonce, clientNonce);
    const proof = bytes.subarray(MAC_AT, HANDSHAKE_BYTES);
    if (!crypto.timingSafeEqual(proof, expected)) return ServerHandshake.refusal('bad_proof');
    const reply = message(
      HandshakeKind.accept,
      undefined,
      mac(this.key, SERVER_LABEL, this.nonce, clientNonce),
    );
    return { kind: 'accepted', reply, rest: bytes.subarray(HANDSHAKE_BYTES) };
  }
}

export type ClientStep =
  | { kind: 'pending' }
  | { kind: 'send'; proof: Buffer }
  | { kind: 'accepted'; rest: Buffer }
  | { kind: 'failed'; error: EngineAuthError | Error };

/** The client's side: push what arrives; send the proof when told; done at accept. */
export class ClientHandshake {
  private readonly nonce = crypto.randomBytes(NONCE_BYTES);
  private serverNonce: Buffer | null = null;
  private collector = new Collector();

  constructor(
    private readonly key: Buffer,
    private readonly where: string,
  ) {}

  push(chunk: Buffer): ClientStep {
    const bytes = this.collector.push(chunk);
    const fault = headerFault(bytes);
    if (fault !== null) return this.unexpected(`not an engine server of this version (${fault})`);
    if (bytes.length < HANDSHAKE_BYTES) return { kind: 'pending' };
    const kind = bytes.readUInt16LE(6);
    const rest = bytes.subarray(HANDSHAKE_BYTES);
    if (this.serverNonce === null && kind === HandshakeKind.challenge) {
      this.serverNonce = Buffer.from(bytes.subarray(NONCE_AT, MAC_AT));
      this.collector = new Collector();
      const proof = mac(this.key, CLIENT_LABEL, this.serverNonce, this.nonce);
      if (rest.length > 0) return this.unexpected('bytes after the challenge');
      return { kind: 'send', proof: message(HandshakeKind.proof, this.nonce, proof) };
    }
    if (this.serverNonce !== null && kind === HandshakeKind.refuse) {
      // The server keeps its reason (its log has it): a wrong proof, or one that came too late.
      return this.unauthorized('refused our proof: its ENGINE_SECRET differs from ours');
    }
    if (this.serverNonce !== null && kind === HandshakeKind.accept) {
      const expected = mac(this.key, SERVER_LABEL, this.serverNonce, this.nonce);
      if (!crypto.timingSafeEqual(bytes.subarray(MAC_AT, HANDSHAKE_BYTES), expected)) {
        return this.unauthorized('accepted us without proving it holds our ENGINE_SECRET');
      }
      return { kind: 'accepted', rest };
    }
    return this.unexpected(`handshake message of kind ${kind}`);
  }

  private unauthorized(what: string): ClientStep {
    const error = new EngineAuthError(
      'engine_unauthorized',
      `engine server at ${this.where} ${what}`,
    );
    return { kind: 'failed', error };
  }

  private unexpected(what: string): ClientStep {
    return { kind: 'failed', error: new Error(`engine server at ${this.where}: ${what}`) };
  }
}

/**
 * Runs the client's side on a connected socket. Resolves with any bytes that came after the
 * accept, the socket paused so nothing is lost before the caller listens; rejects on refusal, on
 * anything but a handshake, on a close, or after `timeoutMs` (the caller closes the socket).
 */
export function authenticate(
  socket: net.Socket,
  key: Buffer,
  where: string,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<Buffer> {
  const handshake = new ClientHandshake(key, where);
  return new Promise((resolve, reject) => {
    const finish = (error: Error | null, rest: Buffer = Buffer.alloc(0)): void => {
      if (error === null) socket.pause();
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error === null) resolve(rest);
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      const step = handshake.push(chunk);
      if (step.kind === 'send') socket.write(step.proof);
      else if (step.kind === 'accepted') finish(null, step.rest);
      else if (step.kind === 'failed') finish(step.error);
    };
    const onClose = (): void =>
      finish(new Error(`engine server at ${where} closed the connection during the handshake`));
    const timer = setTimeout(
      () => finish(new Error(`engine server at ${where}: no handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
