/**
 * `tsx ledger/engine/bench-server.ts`: durable transfers/s through the engine client over
 * TCP (a `server-main.ts` child process) against the same engine in process, fsync on both.
 *
 * Batches of 8189 transfers over 10,000 accounts, uniformly random, built before the clock starts;
 * BENCH_INFLIGHT requests in flight. A warm-up round each, then the two alternate for BENCH_ROUNDS
 * rounds and the median is reported. Settings (env): BENCH_TRANSFERS (default 500,000 per round),
 * BENCH_ROUNDS (3), BENCH_INFLIGHT (2).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { openEngineClient } from './client';
import { randomEngineSecret } from './handshake';
import { BATCH_EVENTS_MAX, type Ledger, type Transfer } from '../port';
import { buildBatches, createBenchAccounts, makeRandom, runBatches } from './bench-workload';
import { openEmbeddedLedger } from '.';

const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 2);
const ACCOUNTS = 10_000;

let nextId = 1_000_000_000n;
const random = makeRandom(42);

function nextBatches(): Transfer[][] {
  const batches = buildBatches({
    transfers: TRANSFERS,
    accountMin: 1,
    accountMax: ACCOUNTS,
    hotAccount: null,
    firstId: nextId,
    random,
  });
  nextId += BigInt(TRANSFERS);
  return batches;
}

const run = async (ledger: Ledger): Promise<number> =>
  (await runBatches(ledger, nextBatches(), INFLIGHT)).perSecond;

async function startServerProcess(dataDir: string, secret: string) {
  const entry = path.join(__dirname, 'server-main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: {
      ...process.env,
      ENGINE_DATA_DIR: dataDir,
      ENGINE_ADDRESS: '127.0.0.1:0',
      ENGINE_CHANGE_FEED: 'off',
      ENGINE_SECRET: secret,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout });
  const address = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const match = /^engine listening on (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`engine server exited (${code})`)));
  });
  return { child, address };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-engine-server-'));
  const local = await openEmbeddedLedger({ dataDir: path.join(root, 'local'), fsync: true });
  // A fresh secret per run, for the server and this client only: the handshake is paid as in
  // production, once per connection.
  const secret = randomEngineSecret();
  const server = await startServerProcess(path.join(root, 'served'), secret);
  const remote = await openEngineClient({
    address: server.address,
    secret,
    requestTimeoutMs: 60_000,
  });
  try {
    await createBenchAccounts(local, ACCOUNTS);
    await createBenchAccounts(remote, ACCOUNTS);
    const targets: [string, Ledger][] = [
      ['in process', local],
      ['over TCP (engine client → server-main)', remote],
    ];
    for (const [, ledger] of targets) await run(ledger); // warm-up
    const rates = targets.map((): number[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, ledger]] of targets.entries()) {
        rates[i]!.push(await run(ledger));
      }
    }
    console.log(
      `${TRANSFERS} transfers per round, batches of ${BATCH_EVENTS_MAX}, ${INFLIGHT} in flight, ` +
        `fsync on, median of ${ROUNDS} rounds (${os.cpus().length} cores)`,
    );
    console.log('| ledger | transfers/s (median) | min … max |');
    console.log('|---|---|---|');
    const format = (n: number): string => Math.round(n).toLocaleString('en-US');
    for (const [i, [name]] of targets.entries()) {
      const sorted = [...rates[i]!].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      console.log(
        `| ${name} | ${format(median)} | ${format(sorted[0]!)} … ${format(sorted.at(-1)!)} |`,
      );
    }
  } finally {
    await remote.close();
    await local.close();
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
