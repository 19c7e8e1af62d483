/**
 * The process `npm run bench:reads` measures (load/bench/balances.ts starts it): the ledger its
 * environment names (the TigerBeetle cluster of TB_ADDRESSES; TB_ADDRESSES empty: the embedded
 * engine, fsync on, in a temp dir), account metadata in a PostgreSQL schema of its own, and four
 * balance readers on the real local Redis, behind a bare node:http server:
 *   GET /a/<id>    reader A (L1 1 s → L2 → ledger): the production configuration;
 *   GET /b/<id>    reader B, a second instance (its own Redis connections), same configuration;
 *   GET /l2/<id>   reader C, L1 TTL 1 ms: nearly every read is an L2 hit;
 *   GET /l3/<id>   reader D, no Redis and L1 TTL 1 ms: nearly every read goes to the ledger
 *                  (batched, single-flight).
 *   POST /writes?rate=<journals/s>   starts the write load: journals (one transfer each) from a
 *                  world account to random write accounts through the micro-batcher, each
 *                  followed by A.onPosted — the posting instance's hook;
 *   GET /staleness?n=<count>   cross-instance staleness: B caches an account, A posts to it and
 *                  calls onPosted, and B is polled (no token) until it serves the new balance;
 *                  answers the times from commit to B's first fresh read (ms);
 *   GET /stats     the readers' counters, the write load's achieved rate, and the ledger
 *                  (`{kind, where}`, as the bridge's /health names it).
 * Prints `READY <port> <read ids> <write ids>` once set up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { AssetRegistry } from '../../bridge/src/accounts/registry';
import { AccountService } from '../../bridge/src/accounts/service';
import { BalanceReader, type BalanceCacheSettings } from '../../bridge/src/balances/reader';
import { balanceChange } from '../../bridge/src/balances/token';
import { loadConfig } from '../../core/config';
import { TransferBatcher } from '../../ledger/batcher';
import { openLedger } from '../../ledger/open';
import { newTransfer } from '../../ledger/records';
import { CreateTransferStatus } from '../../ledger/port';
import { migrateUp } from '../../core/postgres/migrate';
import { createDirectPool } from '../../core/postgres/pool';

const READ_ACCOUNTS = Number(process.env.BENCH_READ_ACCOUNTS ?? 1_000);
const WRITE_ACCOUNTS = Number(process.env.BENCH_WRITE_ACCOUNTS ?? 1_000);
const WRITE_TICK_MS = 10;
const RUN = randomUUID().slice(0, 8);

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-balances-'));
  const config = loadConfig({
    ...process.env,
    ENGINE_DATA_DIR: dataDir,
    ENGINE_FSYNC: 'true',
    ENGINE_ADDRESS: undefined,
  });
  const opened = await openLedger(config);
  const ledger = opened.ledger;
  const schemaName = `bench_bal_${RUN}`;
  const admin = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schemaName}`);
  const db = createDirectPool({
    url: config.DATABASE_DIRECT_URL,
    max: 4,
    searchPath: [schemaName],
  });
  await migrateUp(db);
  const registry = await AssetRegistry.load(db);
  const accounts = new AccountService({ db, ledger, registry });
  const create = async (accountId: string, accountType: string) =>
    (
      await accounts.createAccount({
        accountId,
        name: accountId,
        holderId: 'bench',
        accountType,
        asset: 'USD',
      })
    ).account.ledgerId;
  const world = await create(`w-${RUN}`, 'world');
  const readIds = Array.from({ length: READ_ACCOUNTS }, (_, i) => `r-${RUN}-${i}`);
  const writeIds = Array.from({ length: WRITE_ACCOUNTS }, (_, i) => `x-${RUN}-${i}`);
  const writeLedgerIds: bigint[] = [];
  for (const id of readIds) await create(id, 'liability');
  for (const id of writeIds) writeLedgerIds.push(await create(id, 'liability'));
  const staleId = `s-${RUN}`;
  const staleLedgerId = await create(staleId, 'liability');

  const reader = (instanceId: string, redis: boolean, settings: Partial<BalanceCacheSettings>) =>
    new BalanceReader({
      ledger,
      accounts,
      redisUrl: redis ? config.REDIS_URL : null,
      keyPrefix: `bench:bal:${RUN}:`,
      channel: `bench:bal:${RUN}:invalidations`,
      instanceId,
      settings,
    });
  const readers: Record<string, BalanceReader> = {
    a: reader('a', true, {}),
    b: reader('b', true, {}),
    l2: reader('c', true, { l1TtlMs: 1 }),
    l3: reader('d', false, { l1TtlMs: 1 }),
  };
  await Promise.all(Object.values(readers).map((r) => r.start()));
  // As the bridge sets it (bridge.ts): a TigerBeetle session keeps one request on the wire.
  const batcher = new TransferBatcher(ledger, {
    flushDelayMs: config.BATCH_FLUSH_DELAY_MS,
    inflightMax: opened.kind === 'tigerbeetle' ? 1 : 2,
  });

  // Time-ordered ids that no other client of a shared cluster makes: 48 bits of milliseconds,
  // then 64 random bits, then a 16-bit counter's room (TigerBeetle's own id layout, roughly).
  let seq = (BigInt(Date.now()) << 80n) | (BigInt(`0x${randomBytes(8).toString('hex')}`) << 16n);
  const postOne = async (credit: bigint, amount: bigint) => {
    const transfer = newTransfer({
      id: (seq += 1n),
      debit_account_id: world,
      credit_account_id: credit,
      amount,
      ledger: 1,
      code: 1,
    });
    const [result] = await batcher.submit([transfer]);
    if (result!.status !== CreateTransferStatus.created) throw new Error(`${result!.status}`);
    const change = balanceChange([{ ...transfer, timestamp: result!.timestamp }]);
    const committedAt = performance.now();
    void readers.a!.onPosted(change.ledgerIds, change.ledgerTimestampNs);
    return committedAt;
  };

  let written = 0;
  let writeStartedMs = 0;
  let writer: NodeJS.Timeout | null = null;
  const startWrites = (rate: number) => {
    if (writer !== null) clearInterval(writer);
    writeStartedMs = performance.now();
    written = 0;
    const perTick = Math.max(1, Math.round((rate * WRITE_TICK_MS) / 1_000));
    writer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const credit = writeLedgerIds[Math.floor(Math.random() * writeLedgerIds.length)]!;
        postOne(credit, 1n).then(
          () => (written += 1),
          (error: unknown) => console.error('write failed', error),
        );
      }
    }, WRITE_TICK_MS);
  };

  const staleness = async (n: number): Promise<number[]> => {
    const times: number[] = [];
    let expected = BigInt((await readers.b!.read(staleId)).view.balance);
    for (let i = 0; i < n; i++) {
      await readers.b!.read(staleId); // B holds the current balance in L1
      const committedAt = await postOne(staleLedgerId, 1n);
      expected += 1n;
      for (;;) {
        const read = await readers.b!.read(staleId);
        if (BigInt(read.view.balance) === expected) break;
        // Polls every millisecond: the resolution of the measurement, and cheap for the server.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      times.push(performance.now() - committedAt);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return times;
  };

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const url = req.url ?? '/';
    const [, head, tail] = url.split('?')[0]!.split('/');
    const answer = (status: number, body: unknown) => {
      const payload = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(payload);
    };
    const fail = (error: unknown) => answer(500, { error: String(error) });
    const query = new URLSearchParams(url.split('?')[1] ?? '');
    const r = head === undefined ? undefined : readers[head];
    if (r !== undefined && tail !== undefined) {
      r.read(tail).then((read) => answer(200, { ...read.view, cache: read.level }), fail);
    } else if (head === 'writes') {
      startWrites(Number(query.get('rate') ?? 1_000));
      answer(200, { started: true });
    } else if (head === 'staleness') {
      staleness(Number(query.get('n') ?? 200)).then((times) => answer(200, { times }), fail);
    } else if (head === 'stats') {
      const seconds = (performance.now() - writeStartedMs) / 1_000;
      const stats = Object.fromEntries(Object.entries(readers).map(([k, v]) => [k, v.stats()]));
      answer(200, {
        writesPerSecond: written / seconds,
        written,
        readers: stats,
        ledger: { kind: opened.kind, where: opened.where },
      });
    } else answer(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  console.log(`READY ${port} ${readIds.join(',')}`);

  const stop = async () => {
    if (writer !== null) clearInterval(writer);
    server.close();
    server.closeAllConnections();
    await batcher.drain();
    await Promise.all(Object.values(readers).map((r) => r.close()));
    await ledger.close();
    await db.end();
    await admin.query(`DROP SCHEMA ${schemaName} CASCADE`);
    await admin.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
