/**
 * Proves the embedded engine's durability promise: after `kill -9` in the middle of a write load,
 * reopening the data directory recovers every acknowledged transfer, each batch all-or-nothing,
 * with debits equal to credits. A real child process is killed with SIGKILL, three times over the
 * same directory, so recovery from a recovered (possibly torn) log is exercised too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { openEmbeddedLedger } from '../../../ledger/engine';
import { ACCOUNT_COUNT } from '../../support/engine/fixtures/crash-accounts';

const CHILD = path.join(__dirname, '..', '..', 'support', 'engine', 'fixtures', 'write-load.ts');
const ROUNDS = 3;
const ACKS_BEFORE_KILL_MIN = 25;

interface Ack {
  firstId: bigint;
  count: number;
}

interface Writer {
  child: ChildProcess;
  sent: Ack[];
  acks: Ack[];
}

function startChild(dataDir: string, firstId: bigint): Writer {
  // Node itself, not an npx wrapper: SIGKILL must hit the process that writes the log.
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(firstId)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const writer: Writer = { child, sent: [], acks: [] };
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const [word, id, count] = line.split(' ');
    const batch = { firstId: BigInt(id!), count: Number(count) };
    if (word === 'send') writer.sent.push(batch);
    if (word === 'ack') writer.acks.push(batch);
  });
  return writer;
}

async function killAfterAcks(child: ChildProcess, acks: Ack[], wanted: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (acks.length < wanted) {
    if (child.exitCode !== null) throw new Error(`writer exited early (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`only ${acks.length} acks within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('embedded engine: kill -9 during a write load', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-crash-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('recovers every acknowledged transfer, each batch whole, debits = credits', async () => {
    const acknowledged: Ack[] = [];
    const sent: Ack[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const firstId = BigInt(round + 1) * 10_000_000n;
      const writer = startChild(dataDir, firstId);
      await killAfterAcks(writer.child, writer.acks, ACKS_BEFORE_KILL_MIN + round * 7);
      acknowledged.push(...writer.acks);
      sent.push(...writer.sent);
    }

    const ledger = await openEmbeddedLedger({ dataDir });
    try {
      for (const ack of acknowledged) {
        const ids = Array.from({ length: ack.count }, (_, i) => ack.firstId + BigInt(i));
        const found = await ledger.lookupTransfers(ids);
        expect({ batch: String(ack.firstId), found: found.length }).toEqual({
          batch: String(ack.firstId),
          found: ack.count,
        });
      }
      // A batch in flight at the kill is one log record: all of it survived, or none.
      for (const batch of sent) {
        const ids = Array.from({ length: batch.count }, (_, i) => batch.firstId + BigInt(i));
        const found = (await ledger.lookupTransfers(ids)).length;
        expect([0, batch.count]).toContain(found);
      }
      const accountIds = Array.from({ length: ACCOUNT_COUNT }, (_, i) => BigInt(i + 1));
      const accounts = await ledger.lookupAccounts(accountIds);
      expect(accounts).toHaveLength(ACCOUNT_COUNT);
      const debits = accounts.reduce((sum, a) => sum + a.debits_posted, 0n);
      const credits = accounts.reduce((sum, a) => sum + a.credits_posted, 0n);
      expect(debits).toBe(credits);
      expect(debits).toBeGreaterThan(0n);
    } finally {
      await ledger.close();
    }
  }, 180_000);
});
