/**
 * Proves the stack's RabbitMQ and CDC job are as infra/README.md says: AMQP, Erlang distribution
 * and the node's own epmd listen on loopback only, on their fixed ports; the `ledger` user opens
 * the `ledger` vhost and `guest` opens nothing; the change feed's exchange and queues exist with
 * the declared arguments (a passive check on each, and a redeclaration with the same arguments);
 * and `stack.sh status` reports RabbitMQ and the supervised `tigerbeetle amqp` job running.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import amqp from 'amqplib';
import { changeTopology, declareTopology } from '../../../changefeed/topology';
import { stackSettings } from '../../support/infra/settings';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PORTS = { amqp: 55672, distribution: 55673, epmd: 54369 };
const LOOPBACK = new Set(['127.0.0.1', '[::1]', '::1']);

/** Local addresses listening on `port` (ss -ltnH), e.g. ["127.0.0.1", "[::1]"]. */
function listeners(port: number): string[] {
  const out = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s+/)[3]!)
    .map((local) => local.slice(0, local.lastIndexOf(':')));
}

it.each(Object.entries(PORTS))('%s listens on loopback only', (_, port) => {
  const addresses = listeners(port);
  expect(addresses.length).toBeGreaterThan(0);
  expect(addresses.filter((address) => !LOOPBACK.has(address))).toEqual([]);
});

it('lets the ledger user in and keeps guest out', async () => {
  const connection = await amqp.connect(stackSettings.amqpUrl, { timeout: 5_000 });
  await connection.close();
  const guest = stackSettings.amqpUrl.replace('ledger:ledger@', 'guest:guest@');
  await expect(amqp.connect(guest, { timeout: 5_000 })).rejects.toThrow(/ACCESS_REFUSED|403/);
});

it('holds the change feed topology the stack declared', async () => {
  const connection = await amqp.connect(stackSettings.amqpUrl, { timeout: 5_000 });
  try {
    const channel = await connection.createChannel();
    const topology = changeTopology({
      exchange: process.env.AMQP_CDC_EXCHANGE ?? 'ledger.cdc',
      queue: process.env.AMQP_CDC_QUEUE ?? 'ledger.cdc.relay',
    });
    await channel.checkExchange(topology.exchange);
    await channel.checkExchange(topology.deadLetterExchange);
    await channel.checkQueue(topology.deadLetterQueue);
    // Declaring again with the very same arguments is a no-op; any difference would close it.
    await declareTopology(channel, topology);
    await channel.close();
  } finally {
    await connection.close();
  }
});

it('reports RabbitMQ and the supervised CDC job running', () => {
  const status = spawnSync('bash', ['infra/stack.sh', 'status'], { cwd: ROOT, encoding: 'utf8' });
  const line = (name: string) =>
    status.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '(missing)';
  expect(line('rabbitmq')).toMatch(/^rabbitmq\s+running \(pid \d+\) 127\.0\.0\.1:55672/);
  if (process.env.TB_ADDRESSES) {
    expect(line('cdc')).toMatch(/^cdc\s+running \(supervisor pid \d+, job pid \d+\)/);
  }
}, 30_000);
