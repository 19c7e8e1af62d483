/**
 * Proves the shared engine keeps the engine's durability promise across processes: a real
 * `server-main.ts` process takes pipelined transfer batches from a client over TCP and is killed
 * with SIGKILL mid-load; a new server process on the same data directory (taking over the dead
 * process's lock) returns every transfer the client saw acknowledged, with its timestamp, and
 * debits equal credits. Requests in flight at the kill reject `unavailable`, never hang.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { openEngineClient } from '../../../ledger/engine/client';
import { randomEngineSecret } from '../../../ledger/engine/handshake';
import {
  BATCH_EVENTS_MAX,
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  LedgerError,
  type Transfer,
} from '../../../ledger/port';
import { account, transfer } from '../../support/conformance/fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ENTRY = path.join(ROOT, 'ledger', 'engine', 'server-main.ts');
const ACCOUNTS = 20;
const BATCH_TRANSFERS = 200;
const IN_FLIGHT = 4;
const ACKS_BEFORE_KILL_MIN = 20;
const TEST_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 20_000;

let dataDir: string;
const children: ChildProcess[] = [];
const secret = randomEngineSecret();

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-server-crash-'));
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function startServer(): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: ROOT,
    env: {
      ...process.env,
      ENGINE_DATA_DIR: dataDir,
      ENGINE_ADDRESS: '127.0.0.1:0',
      ENGINE_CHANGE_FEED: 'off',
      ENGINE_SECRET: secret,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = readline.createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('engine server did not start')),
      START_TIMEOUT_MS,
    );
    lines.on('line', (line) => {
      const match = /^engine listening on (\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`engine server exited early (${code})`)));
  });
  return { child, address };
}

interface Acked {
  id: bigint;
  timestamp: bigint;
}

/** Keeps IN_FLIGHT batches in flight until the first rejection; returns what was acknowledged. */
async function load(ledger: Ledger, ids: bigint[], onAck: () => void): Promise<Acked[]> {
  const acked: Acked[] = [];
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const batch: Transfer[] = Array.from({ length: BATCH_TRANSFERS }, (_, i) =>
        transfer({
          debit_account_id: ids[i % ACCOUNTS]!,
          credit_account_id: ids[(i + 1) % ACCOUNTS]!,
          amount: 1n,
        }),
      );
      try {
        const results = await ledger.createTransfers(batch);
        results.forEach((r, i) => {
          expect(r.status).toBe(CreateTransferStatus.created);
          acked.push({ id: batch[i]!.id, timestamp: r.timestamp });
        });
        onAck();
      } catch (error) {
        expect(error).toBeInstanceOf(LedgerError);
        expect((error as LedgerError).code).toBe('unavailable');
        stopped = true;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return acked;
}

it(
  'kill -9 of the server process loses no acknowledged transfer',
  async () => {
    const first = await startServer();
    const ledger = await openEngineClient({
      address: first.address,
      secret,
      requestTimeoutMs: 10_000,
    });
    const accounts = Array.from({ length: ACCOUNTS }, () => account());
    const created = await ledger.createAccounts(accounts);
    expect(created.every((r) => r.status === CreateAccountStatus.created)).toBe(true);
    const ids = accounts.map((a) => a.id);

    let acks = 0;
    const acked = await load(ledger, ids, () => {
      if (++acks === ACKS_BEFORE_KILL_MIN) first.child.kill('SIGKILL');
    });
    await ledger.close();
    expect(acked.length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL_MIN * BATCH_TRANSFERS);

    const second = await startServer();
    const reader = await openEngineClient({
      address: second.address,
      secret,
      requestTimeoutMs: 10_000,
    });
    try {
      for (let i = 0; i < acked.length; i += BATCH_EVENTS_MAX) {
        const chunk = acked.slice(i, i + BATCH_EVENTS_MAX);
        const found = await reader.lookupTransfers(chunk.map((a) => a.id));
        expect(found.map((t) => [t.id, t.timestamp])).toEqual(
          chunk.map((a) => [a.id, a.timestamp]),
        );
      }
      const balances = await reader.lookupAccounts(ids);
      const debits = balances.reduce((sum, a) => sum + a.debits_posted, 0n);
      const credits = balances.reduce((sum, a) => sum + a.credits_posted, 0n);
      expect(debits).toBe(credits);
      expect(debits).toBeGreaterThanOrEqual(BigInt(acked.length));
    } finally {
      await reader.close();
      second.child.kill('SIGTERM');
      await new Promise((resolve) => second.child.once('exit', resolve));
    }
    expect(second.child.exitCode).toBe(0);
  },
  TEST_TIMEOUT_MS,
);
