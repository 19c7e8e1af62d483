/**
 * Proves the engine server serves only clients that hold its ENGINE_SECRET, and that clients
 * trust only servers that hold theirs. Against a real server on a free port: the right secret is
 * served; a wrong one fails `openEngineClient` at once with `engine_unauthorized`; a peer that
 * stays silent is cut at the handshake deadline, one that hangs up is logged; garbage, a request
 * frame sent without a handshake (not executed), a handshake of another version and a proof
 * replayed from another connection are refused at once. Each refusal is one logged line that names the reason and not
 * the secret, and a client already served keeps being served throughout. A fake server that
 * cannot prove the secret is refused by the client; a server started without a usable secret
 * does not start; a client whose server comes back with another secret reads `unavailable`
 * until the secret is restored.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Operation } from 'tigerbeetle-node/dist/bindings';
import { openEngineClient } from '../../../ledger/engine/client';
import { encodeAccounts } from '../../../ledger/engine/codec';
import {
  ClientHandshake,
  EngineAuthError,
  engineKey,
  HANDSHAKE_BYTES,
  HANDSHAKE_TIMEOUT_MS,
  HANDSHAKE_VERSION,
  HandshakeKind,
  randomEngineSecret,
} from '../../../ledger/engine/handshake';
import { requestHeader } from '../../../ledger/engine/protocol';
import {
  type EngineLog,
  type EngineServer,
  startEngineServer,
} from '../../../ledger/engine/server';
import { CreateAccountStatus, type Ledger, LedgerError } from '../../../ledger/port';
import { account, sleepMs } from '../../support/conformance/fixtures';

const TEST_TIMEOUT_MS = 20_000;
const secret = randomEngineSecret();
const wrongSecret = randomEngineSecret();

let dataRoot: string;
let server: EngineServer;
let served: Ledger;
const opened: Ledger[] = [];
const lines: string[] = [];

const log: EngineLog = {
  info: () => undefined,
  warn: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
  error: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
};

const addressOf = (s: EngineServer): string => `${s.address.host}:${s.address.port}`;
const refusals = (): string[] => lines.filter((line) => line.includes('refused'));

async function client(withSecret: string, requestTimeoutMs = 5_000): Promise<Ledger> {
  const ledger = await openEngineClient({
    address: addressOf(server),
    secret: withSecret,
    requestTimeoutMs,
  });
  opened.push(ledger);
  return ledger;
}

/** The server still serves the client opened before the refusals, and a new one. */
async function stillServing(): Promise<void> {
  const a = account();
  expect((await served.createAccounts([a]))[0]!.status).toBe(CreateAccountStatus.created);
  const fresh = await client(secret);
  expect((await fresh.lookupAccounts([a.id])).map((x) => x.id)).toEqual([a.id]);
}

/** The only refusal logged so far has `reason`, and leaks neither secret. */
function expectOneRefusal(reason: string): void {
  expect(refusals()).toEqual([expect.stringContaining(`"reason":"${reason}"`)]);
  expect(lines.join('\n')).not.toContain(secret);
  expect(lines.join('\n')).not.toContain(wrongSecret);
}

beforeEach(async () => {
  dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-handshake-'));
  server = await startEngineServer({ dataDir: dataRoot, port: 0, log, secret, fsync: false });
  served = await client(secret);
  lines.length = 0;
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((ledger) => ledger.close()));
  await server.close();
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

it('the right secret is served', async () => {
  const a = account();
  expect((await served.createAccounts([a]))[0]!.status).toBe(CreateAccountStatus.created);
  expect((await served.lookupAccounts([a.id])).map((x) => x.id)).toEqual([a.id]);
  expect(lines).toEqual([]);
});

it(
  'a wrong secret fails open at once with engine_unauthorized',
  async () => {
    const started = Date.now();
    const error = await client(wrongSecret, 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineAuthError);
    expect((error as EngineAuthError).code).toBe('engine_unauthorized');
    expect((error as Error).message).not.toContain(wrongSecret);
    // Told by the server's refusal, not by waiting out the 10 s connect timeout.
    expect(Date.now() - started).toBeLessThan(3_000);
    expectOneRefusal('bad_proof');
    await stillServing();
  },
  TEST_TIMEOUT_MS,
);

it(
  'a peer that sends no handshake is cut at the deadline',
  async () => {
    const peer = await rawPeer(server.address.port);
    const started = Date.now();
    await peer.closed;
    const waitedMs = Date.now() - started;
    expect(waitedMs).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 200);
    expect(waitedMs).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 2_000);
    expect(peer.kinds()).toEqual([HandshakeKind.challenge, HandshakeKind.refuse]);
    expectOneRefusal('timeout');
    await stillServing();
  },
  TEST_TIMEOUT_MS,
);

const newAccount = account();
it.each<[string, () => Buffer, string]>([
  ['garbage (an HTTP request)', () => Buffer.from('GET /metrics HTTP/1.1\r\n\r\n'), 'bad_magic'],
  [
    'a request frame without a handshake',
    () => {
      const body = encodeAccounts([newAccount]);
      return Buffer.concat([requestHeader(1, Operation.create_accounts, body.length), body]);
    },
    'bad_magic',
  ],
  ['a handshake of another version', () => handshakeOf(HANDSHAKE_VERSION + 1, 2), 'bad_version'],
  ['a challenge sent back', () => handshakeOf(HANDSHAKE_VERSION, 1), 'bad_kind'],
])(
  '%s is refused at once; nothing runs; the server serves on',
  async (_name, bytes, reason) => {
    const peer = await rawPeer(server.address.port);
    const started = Date.now();
    peer.socket.write(bytes());
    await peer.closed;
    expect(Date.now() - started).toBeLessThan(HANDSHAKE_TIMEOUT_MS);
    expect(peer.kinds()).toEqual([HandshakeKind.challenge, HandshakeKind.refuse]);
    expectOneRefusal(reason);
    expect(await served.lookupAccounts([newAccount.id])).toEqual([]);
    await stillServing();
  },
  TEST_TIMEOUT_MS,
);

it('a peer that hangs up mid-handshake is logged once; the server serves on', async () => {
  const peer = await rawPeer(server.address.port);
  // A valid start, then gone: nothing to refuse, but the attempt leaves its line.
  peer.socket.end(Buffer.from('LB', 'latin1'));
  await peer.closed;
  for (let i = 0; i < 100 && refusals().length === 0; i++) await sleepMs(20);
  expectOneRefusal('hung_up');
  await stillServing();
});

it(
  'a proof recorded on one connection is refused on another',
  async () => {
    const first = await rawPeer(server.address.port);
    await first.received(HANDSHAKE_BYTES);
    const handshake = new ClientHandshake(engineKey(secret), 'test');
    const step = handshake.push(first.bytes().subarray(0, HANDSHAKE_BYTES));
    if (step.kind !== 'send') throw new Error(`expected a proof to send, got ${step.kind}`);
    first.socket.write(step.proof);
    await first.received(2 * HANDSHAKE_BYTES);
    expect(first.kinds()).toEqual([HandshakeKind.challenge, HandshakeKind.accept]);

    const second = await rawPeer(server.address.port);
    second.socket.write(step.proof);
    await second.closed;
    expect(second.kinds()).toEqual([HandshakeKind.challenge, HandshakeKind.refuse]);
    expectOneRefusal('bad_proof');
    first.socket.destroy();
    await stillServing();
  },
  TEST_TIMEOUT_MS,
);

it(
  'the client refuses a server that cannot prove the secret',
  async () => {
    // Challenges, then accepts any proof with a mac it cannot have computed.
    const fake = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write(handshakeOf(HANDSHAKE_VERSION, HandshakeKind.challenge));
      socket.once('data', () => socket.write(handshakeOf(HANDSHAKE_VERSION, HandshakeKind.accept)));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as net.AddressInfo).port;
    try {
      const error = await openEngineClient({
        address: `127.0.0.1:${port}`,
        secret,
        requestTimeoutMs: 10_000,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineAuthError);
      expect((error as EngineAuthError).code).toBe('engine_unauthorized');
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  },
  TEST_TIMEOUT_MS,
);

it.each([
  ['no secret', undefined],
  ['a secret of 31 characters', 'x'.repeat(31)],
])('a server with %s does not start', async (_name, badSecret) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-handshake-nosecret-'));
  try {
    const started = startEngineServer({ dataDir: dir, port: 0, log, secret: badSecret as string });
    await expect(started).rejects.toMatchObject({ code: 'engine_secret_invalid' });
    // Refused before the ledger opened: nothing was written.
    expect(fs.readdirSync(dir)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it(
  'a server back with another secret reads unavailable until the secret is restored',
  async () => {
    const port = server.address.port;
    const a = account();
    await server.close();
    server = await startEngineServer({ dataDir: dataRoot, port, log, secret: wrongSecret });
    const error = await served.createAccounts([a]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('unavailable');
    expect((error as Error).message).toMatch(/ENGINE_SECRET differs/);
    expect(refusals().length).toBeGreaterThan(0);
    await server.close();
    server = await startEngineServer({ dataDir: dataRoot, port, log, secret });
    expect((await served.createAccounts([a]))[0]!.status).toBe(CreateAccountStatus.created);
  },
  TEST_TIMEOUT_MS,
);

// --- helpers -----------------------------------------------------------------------------------

/** A well-formed handshake message of any version and kind, nonce and mac zero. */
function handshakeOf(version: number, kind: number): Buffer {
  const out = Buffer.alloc(HANDSHAKE_BYTES);
  out.write('LBEH', 0, 'latin1');
  out.writeUInt16LE(version, 4);
  out.writeUInt16LE(kind, 6);
  return out;
}

/** A bare TCP peer: what the server sends it, and when the server closes it. */
async function rawPeer(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const bytes = (): Buffer => Buffer.concat(chunks);
  return {
    socket,
    closed,
    bytes,
    /** The kinds of the whole handshake messages received so far. */
    kinds: (): number[] => {
      const all = bytes();
      const kinds: number[] = [];
      for (let o = 0; o + HANDSHAKE_BYTES <= all.length; o += HANDSHAKE_BYTES) {
        kinds.push(all.readUInt16LE(o + 6));
      }
      return kinds;
    },
    received: async (count: number): Promise<void> => {
      while (bytes().length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
