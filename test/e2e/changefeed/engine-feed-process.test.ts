/**
 * Proves `npm start`'s fallback path emits the change feed: the engine server process
 * (ledger/engine/server-main.ts, as infra/start-local.ts starts it when there is no cluster) runs
 * its CDC job beside it, which publishes the transfers a client writes to the exchange
 * (AMQP_CDC_EXCHANGE, run-unique here, on the stack's RabbitMQ); killed with SIGKILL, the job is
 * restarted by the server and catches up from its recorded progress; and when the server itself
 * is killed with SIGKILL, the job stops on its own instead of outliving it. The job reaches the
 * engine with the server's ENGINE_SECRET, which neither process writes to its logs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import amqp from 'amqplib';
import { decodeChange } from '../../../events/change';
import { feedQueues } from '../../../changefeed/engine-feed';
import { openEngineClient } from '../../../ledger/engine/client';
import { randomEngineSecret } from '../../../ledger/engine/handshake';
import { account, sleepMs, transfer } from '../../support/conformance/fixtures';
import { ExchangeTap } from '../../support/conformance/changes';
import { runName } from '../../support/changefeed/harness';
import { stackSettings } from '../../support/infra/settings';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ENTRY = path.join(ROOT, 'ledger', 'engine', 'server-main.ts');
const TEST_TIMEOUT_MS = 90_000;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleepMs(25);
  }
}

it(
  'the engine server runs its CDC job, restarts it, and takes it down with it',
  async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-feed-process-'));
    const exchange = runName('cdc', 'engine-process');
    const admin = await amqp.connect(stackSettings.amqpUrl);
    const channel = await admin.createChannel();
    await channel.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
    const tap = await ExchangeTap.open(stackSettings.amqpUrl, exchange);
    const feedPids: number[] = [];
    const logged: string[] = [];
    const secret = randomEngineSecret();
    const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      cwd: ROOT,
      env: {
        ...process.env,
        ENGINE_DATA_DIR: dataDir,
        ENGINE_ADDRESS: '127.0.0.1:0',
        ENGINE_FSYNC: 'false',
        AMQP_URL: stackSettings.amqpUrl,
        AMQP_CDC_EXCHANGE: exchange,
        LOG_LEVEL: 'warn',
        ENGINE_SECRET: secret,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    readline.createInterface({ input: server.stderr! }).on('line', (line) => {
      logged.push(line);
      const started = /"message":"engine change feed started".*"pid":(\d+)/.exec(line);
      if (started) feedPids.push(Number(started[1]));
    });
    const address = await new Promise<string>((resolveAddress, reject) => {
      readline.createInterface({ input: server.stdout! }).on('line', (line) => {
        logged.push(line);
        const match = /^engine listening on (\S+)/.exec(line);
        if (match) resolveAddress(match[1]!);
      });
      server.once('exit', (code) => reject(new Error(`engine server exited (${code})`)));
    });
    const client = await openEngineClient({ address, secret });
    const ids = new Set<bigint>();
    const write = async (count: number): Promise<void> => {
      const [a, b] = [account(), account()];
      await client.createAccounts([a, b]);
      const batch = Array.from({ length: count }, () =>
        transfer({ debit_account_id: a.id, credit_account_id: b.id, amount: 1n }),
      );
      await client.createTransfers(batch);
      for (const t of batch) ids.add(t.id);
    };
    const published = (): Set<bigint> =>
      new Set(tap.messages.map((m) => decodeChange(m.body).transfer.id));
    try {
      await write(10);
      await until('the first events', () => published().size === ids.size);
      await until('the job pid', () => feedPids.length === 1);
      process.kill(feedPids[0]!, 'SIGKILL');
      await write(10);
      await until('a restarted job', () => feedPids.length === 2);
      await until('the events written while it was down', () => published().size === ids.size);
      expect(published()).toEqual(ids);
      await client.close();
      server.kill('SIGKILL');
      await until('the job to stop with its server', () => !alive(feedPids[1]!), 15_000);
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.filter((line) => line.includes(secret))).toEqual([]);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
      for (const pid of feedPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await tap.close();
      await channel.deleteExchange(exchange).catch(() => undefined);
      const engineId = fs.readFileSync(path.join(dataDir, 'engine.id'), 'utf8').trim();
      await channel.deleteQueue(feedQueues(engineId).progress).catch(() => undefined);
      await admin.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  },
  TEST_TIMEOUT_MS,
);
