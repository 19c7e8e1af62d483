/**
 * Proves the engine's change events survive what its other state survives, and cross its wire:
 * a ledger reopened from its log (with an expiry released by a logged pulse, a failed chain and a
 * closing transfer in it) answers get_change_events exactly as before, from the same data
 * directory identity; the engine server answers it over TCP in TigerBeetle's 384-byte layout
 * exactly as the ledger does in process, refuses what the filter cannot carry with typed errors,
 * and cuts a connection that sends a filter it does not take.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Operation } from 'tigerbeetle-node/dist/bindings';
import { CHANGE_EVENTS_MAX } from '../../../ledger/engine/changes';
import { CHANGE_EVENTS_FILTER_BYTES } from '../../../ledger/engine/change-codec';
import { openEngineClient } from '../../../ledger/engine/client';
import { authenticate, engineKey, randomEngineSecret } from '../../../ledger/engine/handshake';
import { EmbeddedLedger } from '../../../ledger/engine/ledger';
import { requestHeader } from '../../../ledger/engine/protocol';
import { startEngineServer } from '../../../ledger/engine/server';
import { AccountFlags, LedgerError, TransferFlags as F, U64_MAX } from '../../../ledger/port';
import { account, resolve, sleepMs, transfer } from '../../support/conformance/fixtures';

const SILENT = { info: () => undefined, warn: () => undefined, error: () => undefined };

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-changes-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A bit of everything, an expiry included (waits out a 1 s timeout). */
async function scenario(ledger: EmbeddedLedger): Promise<void> {
  const [a, b] = [account({ flags: AccountFlags.history }), account()];
  await ledger.createAccounts([a, b]);
  const pair = { debit_account_id: a.id, credit_account_id: b.id };
  const held = transfer({ ...pair, amount: 5n, flags: F.pending });
  const closing = transfer({ ...pair, amount: 0n, flags: F.pending | F.closing_credit });
  const results = await ledger.createTransfers([
    transfer({ ...pair, amount: U64_MAX + 3n }),
    held,
    transfer({ ...pair, flags: F.linked }),
    transfer({ ...pair, debit_account_id: b.id, credit_account_id: b.id }), // fails the chain
    resolve('post', held.id, { amount: 2n }),
    closing,
    resolve('void', closing.id),
    transfer({ ...pair, amount: 7n, flags: F.pending, timeout: 1 }),
  ]);
  expect(results.map((r) => r.status === 0xffff_ffff)).toEqual([
    true,
    true,
    false,
    false,
    true,
    true,
    true,
    true,
  ]);
  const deadline = Date.now() + 5_000;
  while ((await ledger.changes(0n, CHANGE_EVENTS_MAX)).at(-1)?.type !== 'two_phase_expired') {
    if (Date.now() > deadline) throw new Error('no expiry within 5 s');
    await sleepMs(50);
  }
}

it('a reopened ledger answers get_change_events exactly as before, same identity', async () => {
  const dataDir = path.join(root, 'replay');
  const first = await EmbeddedLedger.open({ dataDir, fsync: true });
  await scenario(first);
  const before = await first.changes(0n, CHANGE_EVENTS_MAX);
  const id = first.engineId;
  await first.close();
  expect(before.map((e) => e.type)).toEqual([
    'single_phase',
    'two_phase_pending',
    'two_phase_posted',
    'two_phase_pending',
    'two_phase_voided',
    'two_phase_pending',
    'two_phase_expired',
  ]);
  const second = await EmbeddedLedger.open({ dataDir, fsync: true });
  try {
    expect(second.engineId).toBe(id);
    expect(second.engineId).toMatch(/^[0-9a-f]{32}$/);
    expect(await second.changes(0n, CHANGE_EVENTS_MAX)).toEqual(before);
    expect(await second.changes(before[3]!.timestamp, 2)).toEqual(before.slice(3, 5));
  } finally {
    await second.close();
  }
}, 20_000);

it('the server answers get_change_events in TigerBeetle layout as the ledger does', async () => {
  const secret = randomEngineSecret();
  const server = await startEngineServer({
    dataDir: path.join(root, 'server'),
    fsync: false,
    port: 0,
    log: SILENT,
    secret,
  });
  const address = `${server.address.host}:${server.address.port}`;
  const client = await openEngineClient({ address, secret });
  try {
    await scenario(server.ledger);
    const local = await server.ledger.changes(0n, CHANGE_EVENTS_MAX);
    expect(await client.changes(0n, CHANGE_EVENTS_MAX)).toEqual(local);
    expect(await client.changes(local[2]!.timestamp, 1)).toEqual([local[2]]);
    expect(await client.changes(0n, 0)).toEqual([]);
    await expect(client.changes(0n, CHANGE_EVENTS_MAX + 1)).rejects.toMatchObject({
      code: 'too_much_data',
    });
    await expect(client.changes(-1n, 1)).rejects.toBeInstanceOf(LedgerError);
    await expect(server.ledger.changes(U64_MAX + 1n, 1)).rejects.toMatchObject({
      code: 'invalid_event',
    });
    // A filter with an upper bound (which the engine does not take) costs the connection.
    expect(await sendsRawFilter(address, secret, 1n)).toBe('closed');
    expect(await client.changes(0n, 1)).toEqual([local[0]]);
  } finally {
    await client.close();
    await server.close();
  }
}, 20_000);

/**
 * Sends a get_change_events frame with `timestampMax` by hand, after the handshake:
 * 'closed' or 'answered'.
 */
async function sendsRawFilter(
  address: string,
  secret: string,
  timestampMax: bigint,
): Promise<'closed' | 'answered'> {
  const [host, port] = address.split(':');
  const socket = net.connect({ host, port: Number(port) });
  socket.on('error', () => undefined);
  await new Promise((connected) => socket.once('connect', connected));
  await authenticate(socket, engineKey(secret), address);
  return new Promise((done) => {
    socket.on('data', () => {
      socket.destroy();
      done('answered');
    });
    socket.on('close', () => done('closed'));
    socket.resume();
    const filter = Buffer.alloc(CHANGE_EVENTS_FILTER_BYTES);
    filter.writeUInt32LE(1, 16);
    filter.writeBigUInt64LE(timestampMax, 8);
    socket.write(requestHeader(1, Operation.get_change_events, filter.length));
    socket.write(filter);
  });
}
