/**
 * `tsx ledger/engine/server-main.ts`: the embedded engine as one standalone process that
 * several bridge instances (and the projection worker, and `ledger-bridge reconcile`) share.
 *
 * Settings (env): ENGINE_DATA_DIR (default .run/engine), ENGINE_FSYNC (default true),
 * ENGINE_ADDRESS (host:port, default 127.0.0.1:3100; port 0 picks a free one),
 * ENGINE_SECRET (required, ≥ 32 characters: every client proves it in the handshake,
 * ./handshake.ts; the server does not start without it, whatever the host, and never logs it),
 * ENGINE_CHANGE_FEED (default on): its CDC job, changefeed/engine-main.ts, runs beside it and is
 * restarted whenever it exits (./feed-supervisor.ts), publishing every change event to RabbitMQ
 * (AMQP_URL, AMQP_CDC_EXCHANGE) as the stack's `tigerbeetle amqp` does for a cluster; `off` for
 * throwaway servers (tests, benchmarks), which would otherwise leave a progress queue per data
 * directory in the broker. Prints `engine listening on <host>:<port>` once it serves;
 * SIGTERM/SIGINT stop it gracefully (the feed first, then in-flight requests are answered and the
 * log is closed).
 */
import path from 'node:path';
import { type FeedSupervisor, superviseChangeFeed } from './feed-supervisor';
import { parseAddress } from './protocol';
import { startEngineServer } from './server';

const ADDRESS_DEFAULT = '127.0.0.1:3100';

function onOff(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || ['true', '1', 'on'].includes(value)) return true;
  if (['false', '0', 'off'].includes(value)) return false;
  throw new Error(`${name}: expected on, off, true, false, 1 or 0, got ${JSON.stringify(value)}`);
}

const LOG = {
  info: (fields: object, message: string) => console.error(JSON.stringify({ message, ...fields })),
  error: (fields: object, message: string) => console.error(JSON.stringify({ message, ...fields })),
};

async function main(): Promise<void> {
  const dataDir =
    process.env.ENGINE_DATA_DIR ?? path.resolve(__dirname, '..', '..', '.run', 'engine');
  const fsync = onOff('ENGINE_FSYNC', process.env.ENGINE_FSYNC);
  const changeFeed = onOff('ENGINE_CHANGE_FEED', process.env.ENGINE_CHANGE_FEED);
  const { host, port } = parseAddress(process.env.ENGINE_ADDRESS ?? ADDRESS_DEFAULT);
  const secret = process.env.ENGINE_SECRET ?? '';
  const server = await startEngineServer({ dataDir, fsync, host, port, secret });
  const { recovery } = server.ledger;
  console.log(
    `engine listening on ${server.address.host}:${server.address.port} ` +
      `(data ${dataDir}, fsync ${fsync}, recovery ${JSON.stringify(recovery, bigintJson)})`,
  );
  const address = `${server.address.host}:${server.address.port}`;
  const feed: FeedSupervisor | null = changeFeed
    ? superviseChangeFeed({ address, secret, engineId: server.ledger.engineId, log: LOG })
    : null;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    (feed?.stop() ?? Promise.resolve())
      .then(() => server.close())
      .then(
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
