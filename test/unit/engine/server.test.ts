/**
 * Proves the engine server can be shared and survives faults: two clients on one server see each
 * other's writes; a client survives a server restart on the same port and data directory; a
 * connection cut with requests in flight (through a test proxy that swallows their replies)
 * rejects them `unavailable`, and their retries with the same ids answer `exists`; a server that
 * never answers turns into `unavailable` at the timeout; malformed and oversized frames close only
 * the connection that sent them, with a logged reason, while the server keeps serving others.
 * Every connection here passes the handshake (./server-handshake.test.ts proves its refusals).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Operation } from 'tigerbeetle-node/dist/bindings';
import { openEngineClient } from '../../../ledger/engine/client';
import { authenticate, engineKey, randomEngineSecret } from '../../../ledger/engine/handshake';
import {
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  LedgerError,
} from '../../../ledger/port';
import {
  errorCodeOf,
  FRAME_BYTES_MAX,
  FrameReader,
  REPLY_ERROR,
  REPLY_HEADER_BYTES,
} from '../../../ledger/engine/protocol';
import {
  type EngineLog,
  type EngineServer,
  startEngineServer,
} from '../../../ledger/engine/server';
import { account, transfer } from '../../support/conformance/fixtures';

const TEST_TIMEOUT_MS = 20_000;
const secret = randomEngineSecret();

let dataRoot: string;
let server: EngineServer;
const opened: Ledger[] = [];
const warnings: string[] = [];

const log: EngineLog = {
  info: () => undefined,
  warn: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`),
  error: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`),
};

function addressOf(s: EngineServer): string {
  return `${s.address.host}:${s.address.port}`;
}

async function client(address = addressOf(server), requestTimeoutMs = 5_000): Promise<Ledger> {
  const ledger = await openEngineClient({ address, secret, requestTimeoutMs });
  opened.push(ledger);
  return ledger;
}

async function pair(ledger: Ledger): Promise<[bigint, bigint]> {
  const a = account();
  const b = account();
  const results = await ledger.createAccounts([a, b]);
  expect(results.map((r) => r.status)).toEqual([
    CreateAccountStatus.created,
    CreateAccountStatus.created,
  ]);
  return [a.id, b.id];
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof LedgerError ? error.code : String(error)),
  );
}

beforeEach(async () => {
  dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-server-'));
  server = await startEngineServer({ dataDir: dataRoot, port: 0, log, secret });
  warnings.length = 0;
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((ledger) => ledger.close()));
  await server.close();
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

describe('sharing', () => {
  it(
    'two clients on one server see each other’s writes',
    async () => {
      const one = await client();
      const two = await client();
      const [a, b] = await pair(one);
      const t = transfer({ debit_account_id: a, credit_account_id: b, amount: 7n });
      expect((await two.createTransfers([t]))[0]!.status).toBe(CreateTransferStatus.created);
      const [seen] = await one.lookupTransfers([t.id]);
      expect(seen?.amount).toBe(7n);
      expect((await one.createTransfers([t]))[0]!.status).toBe(CreateTransferStatus.exists);
      const [credited] = await two.lookupAccounts([b]);
      expect(credited?.credits_posted).toBe(7n);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'pipelined requests from many clients are all answered',
    async () => {
      const clients = await Promise.all([client(), client(), client()]);
      const [a, b] = await pair(clients[0]!);
      const batches = Array.from({ length: 30 }, () =>
        Array.from({ length: 50 }, () =>
          transfer({ debit_account_id: a, credit_account_id: b, amount: 1n }),
        ),
      );
      const results = await Promise.all(
        batches.map((batch, i) => clients[i % clients.length]!.createTransfers(batch)),
      );
      expect(results.flat().every((r) => r.status === CreateTransferStatus.created)).toBe(true);
      const [credited] = await clients[1]!.lookupAccounts([b]);
      expect(credited?.credits_posted).toBe(1500n);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('faults', () => {
  it(
    'a client survives a server restart on the same port and data directory',
    async () => {
      const ledger = await client();
      const [a, b] = await pair(ledger);
      const port = server.address.port;
      await server.close();
      // Made while the server is down: it waits for the reconnection, within its timeout.
      const during = codeOf(ledger.lookupAccounts([a]));
      server = await startEngineServer({ dataDir: dataRoot, port, log, secret });
      expect(await during).toBe('resolved');
      const t = transfer({ debit_account_id: a, credit_account_id: b, amount: 3n });
      const results = await retryUnavailable(() => ledger.createTransfers([t]));
      expect(results[0]!.status).toBe(CreateTransferStatus.created);
      expect((await ledger.lookupAccounts([b]))[0]?.credits_posted).toBe(3n);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'requests in flight on a dropped connection are unavailable; retries answer exists',
    async () => {
      const proxy = await startProxy(server.address.port);
      try {
        const ledger = await client(`127.0.0.1:${proxy.port}`);
        const [a, b] = await pair(ledger);
        const batch = [1n, 2n, 3n].map((amount) =>
          transfer({ debit_account_id: a, credit_account_id: b, amount }),
        );
        proxy.dropReplies = true;
        const inFlight = batch.map((t) => ledger.createTransfers([t]));
        await waitFor(async () => {
          const direct = await client();
          const found = await direct.lookupTransfers(batch.map((t) => t.id));
          return found.length === batch.length;
        });
        proxy.dropReplies = false;
        proxy.cut();
        expect(await Promise.all(inFlight.map(codeOf))).toEqual([
          'unavailable',
          'unavailable',
          'unavailable',
        ]);
        const retried = await retryUnavailable(() => ledger.createTransfers(batch));
        expect(retried.map((r) => r.status)).toEqual(batch.map(() => CreateTransferStatus.exists));
        expect((await ledger.lookupAccounts([b]))[0]?.credits_posted).toBe(6n);
      } finally {
        await proxy.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a server that does not answer is unavailable at the request timeout',
    async () => {
      const proxy = await startProxy(server.address.port);
      try {
        const ledger = await client(`127.0.0.1:${proxy.port}`, 300);
        const [a] = await pair(ledger);
        proxy.dropReplies = true;
        const started = Date.now();
        expect(await codeOf(ledger.lookupAccounts([a]))).toBe('unavailable');
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        proxy.dropReplies = false;
        expect((await ledger.lookupAccounts([a])).length).toBe(1);
      } finally {
        await proxy.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it.each<[string, Buffer]>([
    ['an unknown operation', requestFrame(1, 999, Buffer.alloc(0))],
    [
      'a transfer body that is not a multiple of 128 bytes',
      requestFrame(1, 147, Buffer.alloc(100)),
    ],
    ['an account filter of the wrong size', requestFrame(1, 142, Buffer.alloc(64))],
    ['ids that are not 16 bytes each', requestFrame(1, 140, Buffer.alloc(15))],
    ['a length shorter than the header', Buffer.from([2, 0, 0, 0, 1, 0])],
    ['a length over the 16 MiB limit', lengthOnly(FRAME_BYTES_MAX + 1)],
  ])(
    '%s closes that connection; the server keeps serving others',
    async (_name, frame) => {
      const ledger = await client();
      const [a, b] = await pair(ledger);
      const raw = await rawConnection(server.address.port);
      raw.socket.write(frame);
      await raw.closed;
      expect(warnings.join('\n')).toMatch(/bad frame/);
      const t = transfer({ debit_account_id: a, credit_account_id: b, amount: 1n });
      expect((await ledger.createTransfers([t]))[0]!.status).toBe(CreateTransferStatus.created);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a frame at the 16 MiB limit is read whole and answered (too_much_data), not cut off',
    async () => {
      const bodyBytes = Math.floor((FRAME_BYTES_MAX - 6) / 128) * 128;
      const raw = await rawConnection(server.address.port);
      const reply = raw.nextReply();
      raw.socket.write(requestFrame(42, Operation.create_transfers, Buffer.alloc(bodyBytes)));
      const frame = await reply;
      expect(frame.readUInt32LE(0)).toBe(42);
      expect(frame.readUInt8(4)).toBe(REPLY_ERROR);
      expect(errorCodeOf(frame.readUInt8(REPLY_HEADER_BYTES - 4))).toBe('too_much_data');
      raw.socket.destroy();
    },
    TEST_TIMEOUT_MS,
  );
});

// --- helpers -----------------------------------------------------------------------------------

function requestFrame(requestId: number, operation: number, body: Buffer): Buffer {
  const header = Buffer.alloc(10);
  header.writeUInt32LE(6 + body.length, 0);
  header.writeUInt32LE(requestId, 4);
  header.writeUInt16LE(operation, 8);
  return Buffer.concat([header, body]);
}

function lengthOnly(length: number): Buffer {
  const frame = Buffer.alloc(10);
  frame.writeUInt32LE(length, 0);
  return frame;
}

async function rawConnection(port: number): Promise<{
  socket: net.Socket;
  closed: Promise<void>;
  nextReply(): Promise<Buffer>;
}> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const rest = await authenticate(socket, engineKey(secret), `127.0.0.1:${port}`);
  const waiting: ((frame: Buffer) => void)[] = [];
  const reader = new FrameReader(REPLY_HEADER_BYTES, (frame) => waiting.shift()?.(frame));
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  reader.push(rest);
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closed,
    nextReply: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

interface Proxy {
  port: number;
  /** While true, the server's replies are swallowed (the requests still reach it). */
  dropReplies: boolean;
  cut(): void;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const proxy: Proxy = {
    port: 0,
    dropReplies: false,
    cut: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    close: async () => {
      proxy.cut();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
  const listener = net.createServer((downstream) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      if (!proxy.dropReplies) downstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  proxy.port = (listener.address() as net.AddressInfo).port;
  return proxy;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The caller's side of the contract: `unavailable` is retried with the same ids. */
async function retryUnavailable<T>(call: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof LedgerError) || error.code !== 'unavailable' || attempt >= attempts) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
