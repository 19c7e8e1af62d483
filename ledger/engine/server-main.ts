/**
 * `tsx ledger/engine/server-main.ts`: the embedded engine as one standalone process that
 * several bridge instances (and the projection worker, and `ledger-bridge reconcile`) share.
 *
 * Settings (env): ENGINE_DATA_DIR (default .run/engine), ENGINE_FSYNC (default true),
 * ENGINE_ADDRESS (host:port, default 127.0.0.1:3100; port 0 picks a free one). Prints
 * `engine listening on <host>:<port>` once it serves; SIGTERM/SIGINT stop it gracefully
 * (in-flight requests are answered, the log is closed).
 */
import path from 'node:path';
import { parseAddress } from './protocol';
import { startEngineServer } from './server';

const ADDRESS_DEFAULT = '127.0.0.1:3100';

function fsyncSetting(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`ENGINE_FSYNC: expected true, false, 1 or 0, got ${JSON.stringify(value)}`);
}

async function main(): Promise<void> {
  const dataDir =
    process.env.ENGINE_DATA_DIR ?? path.resolve(__dirname, '..', '..', '.run', 'engine');
  const fsync = fsyncSetting(process.env.ENGINE_FSYNC);
  const { host, port } = parseAddress(process.env.ENGINE_ADDRESS ?? ADDRESS_DEFAULT);
  const server = await startEngineServer({ dataDir, fsync, host, port });
  const { recovery } = server.ledger;
  console.log(
    `engine listening on ${server.address.host}:${server.address.port} ` +
      `(data ${dataDir}, fsync ${fsync}, recovery ${JSON.stringify(recovery, bigintJson)})`,
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => {
        console.log(`engine stopped (${signal})`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`engine: close failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

main().catch((error: unknown) => {
  console.error(`engine: ${(error as Error).message}`);
  process.exit(1);
});
