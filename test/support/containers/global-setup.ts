/**
 * Jest globalSetup of the containers tier (jest.containers.config.js, run by
 * infra/containers/test-containers.sh): starts every service the integration suite uses from the
 * project's images with testcontainers, waits until each answers as the local stack's checks
 * demand, and hands their settings to the test files through a JSON file (env.ts applies it) and
 * this process's environment. Ryuk, testcontainers' reaper, cannot run here (its image cannot be
 * pulled), so this run removes what it made itself: global-teardown.ts, or below when starting
 * fails; the wrapper sweeps anything left by name and label after a crash.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Network, type StartedTestContainer } from 'testcontainers';
import excluded from './excluded.json';
import { freePort, startCdcJob, startKafka, startTigerBeetleReplica } from './host-services';
import { containerLogTails, NAME_PREFIX } from './service-container';
import {
  CREDENTIALS,
  containerName,
  pgbouncerIni,
  type Placement,
  startPgbouncer,
  startPostgres,
  startRabbitmq,
  startRedis,
  startReplica,
} from './services';
import { type ContainersRun, setRun, stopRun } from './state';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/**
 * A TigerBeetle replica allocates about 2.1 GiB at start even with a small grid cache, and this
 * machine also runs the local stack (and, at times, another session's composed cluster). So three
 * replicas, as the local stack and production run, only when /proc/meminfo has room for them and
 * the other services; else one. LEDGER_CONTAINERS_TB_REPLICAS chooses.
 */
const TB_REPLICA_BYTES = 2.1 * 2 ** 30;
const OTHER_SERVICES_BYTES = 4 * 2 ** 30;
/** TigerBeetle's own limit on a cluster's (active) replicas. */
const TB_REPLICAS_MAX = 6;

function replicaCount(): { count: number; why: string } {
  const given = process.env.LEDGER_CONTAINERS_TB_REPLICAS;
  if (given !== undefined && given !== '') {
    const count = Number(given);
    if (!Number.isInteger(count) || count < 1 || count > TB_REPLICAS_MAX) {
      throw new Error(`LEDGER_CONTAINERS_TB_REPLICAS=${given}: want 1 to ${TB_REPLICAS_MAX}`);
    }
    return { count, why: 'LEDGER_CONTAINERS_TB_REPLICAS' };
  }
  const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
  const availableKiB = Number(/^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0);
  const available = availableKiB * 1024;
  const count = available >= 3 * TB_REPLICA_BYTES + OTHER_SERVICES_BYTES ? 3 : 1;
  return { count, why: `${(available / 2 ** 30).toFixed(1)} GiB available` };
}
const SCRIPT_TIMEOUT_MS = 180_000;
const CDC_EXCHANGE = 'ledger.cdc';

function say(message: string): void {
  process.stderr.write(`[test:containers] ${message}\n`);
}

/** Runs a project script under tsx (as the stack does); fails with its output. */
function runTsx(script: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: SCRIPT_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error === null) resolve();
        else reject(new Error(`${script} ${args.join(' ')} failed: ${error}\n${stdout}${stderr}`));
      },
    );
  });
}

async function timed<T>(what: string, start: () => Promise<T>): Promise<T> {
  const startedMs = Date.now();
  const result = await start();
  say(`${what}: ready in ${Date.now() - startedMs} ms`);
  return result;
}

/** Waits for every start, so that a failure leaves no container starting unrecorded. */
async function settled<T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

type Keep = (container: StartedTestContainer) => StartedTestContainer;

async function startDatabases(at: Placement, keep: Keep) {
  const primary = keep(await startPostgres(at));
  const production = fs.readFileSync(path.join(ROOT, 'infra/pgbouncer/production.ini'), 'utf8');
  const ini = pgbouncerIni(production, containerName(at, 'postgres'));
  const [replica, pgbouncer] = await settled<[StartedTestContainer, StartedTestContainer]>([
    startReplica(at).then(keep),
    startPgbouncer(at, ini).then(keep),
  ]);
  return {
    primary: primary.getMappedPort(5432),
    replica: replica.getMappedPort(5432),
    pgbouncer: pgbouncer.getMappedPort(6432),
  };
}

/** RabbitMQ, checked as the stack checks it, with the change feed's topology declared. */
async function startBroker(at: Placement, keep: Keep): Promise<string> {
  const rabbitmq = keep(await startRabbitmq(at));
  const address = `127.0.0.1:${rabbitmq.getMappedPort(5672)}`;
  const url = `amqp://ledger:${CREDENTIALS.rabbitmqPassword}@${address}/ledger`;
  await runTsx('infra/rabbitmq/ready.ts', [url]);
  await runTsx('changefeed/declare.ts', [], { AMQP_URL: url, AMQP_CDC_EXCHANGE: CDC_EXCHANGE });
  return url;
}

async function startKafkaNode(run: string, keep: Keep): Promise<string> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  keep(await startKafka(run, port, controllerPort));
  const bootstrap = `127.0.0.1:${port}`;
  // The local stack's readiness check: the broker lists itself and grants a producer id.
  await runTsx('infra/kafka/ready.ts', [bootstrap, String(SCRIPT_TIMEOUT_MS / 2)]);
  return bootstrap;
}

async function startCluster(run: string, replicas: number, keep: Keep) {
  const ports = new Set<number>();
  while (ports.size < replicas) ports.add(await freePort());
  const cluster = {
    id: String(randomBytes(4).readUInt32BE()),
    addresses: [...ports].map((port) => `127.0.0.1:${port}`),
  };
  await settled(
    cluster.addresses.map((_, replica) =>
      startTigerBeetleReplica(run, cluster, replica).then(keep),
    ),
  );
  return cluster;
}

/** Everything, side by side where nothing depends on another; the settings the tests need. */
async function startAll(state: ContainersRun): Promise<Record<string, string>> {
  const network = await new Network({ nextUuid: () => `${NAME_PREFIX}-${state.run}` }).start();
  state.network = network;
  const keep: Keep = (container) => (state.containers.push(container), container);
  const at: Placement = { run: state.run, network };
  const replicas = replicaCount();
  say(`tigerbeetle: ${replicas.count} replicas (${replicas.why})`);
  const [db, redis, amqpUrl, kafka, cluster] = await settled([
    timed('postgres, replica, pgbouncer', () => startDatabases(at, keep)),
    timed('redis', () => startRedis(at).then(keep)),
    timed('rabbitmq', () => startBroker(at, keep)),
    timed('kafka', () => startKafkaNode(state.run, keep)),
    timed('tigerbeetle', () => startCluster(state.run, replicas.count, keep)),
  ]);
  const amqpHost = new URL(amqpUrl).host;
  await timed('tigerbeetle amqp (change feed)', async () =>
    keep(
      await startCdcJob(state.run, cluster, {
        host: amqpHost,
        exchange: CDC_EXCHANGE,
        user: 'ledger',
        password: CREDENTIALS.rabbitmqPassword,
        vhost: 'ledger',
      }),
    ),
  );
  const pg = (port: number, db = 'ledger') =>
    `postgres://ledger:${CREDENTIALS.ledgerPassword}@127.0.0.1:${port}/${db}`;
  return {
    DATABASE_URL: pg(db.pgbouncer),
    DATABASE_DIRECT_URL: pg(db.primary),
    DATABASE_REPLICA_URLS: pg(db.replica),
    DATABASE_REPLICA_URL: pg(db.replica, 'ledger_test'),
    REDIS_URL: `redis://127.0.0.1:${redis.getMappedPort(6379)}`,
    KAFKA_BROKERS: kafka,
    AMQP_URL: amqpUrl,
    AMQP_CDC_EXCHANGE: CDC_EXCHANGE,
    TB_ADDRESSES: cluster.addresses.join(','),
    TB_CLUSTER_ID: cluster.id,
    // No nginx runs in this tier (its tests are excluded): nothing may reach the stack's.
    LB_URL: 'http://127.0.0.1:9',
  };
}

/** What each container wrote last, failed starts included (testcontainers removes those). */
function printLogs(): void {
  for (const [name, lines] of containerLogTails()) {
    if (lines.length > 0) say(`${name}: its last lines:\n  ${lines.join('\n  ')}`);
  }
}

function printExcluded(): void {
  say(`${excluded.length} integration test files are not run here (they need the native stack):`);
  for (const entry of excluded) say(`  excluded ${entry.test}: ${entry.why}`);
}

export default async function globalSetup(): Promise<void> {
  const startedMs = Date.now();
  // Ryuk's image cannot be pulled here: this run removes what it made itself.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  printExcluded();
  const state: ContainersRun = {
    run: process.env.LEDGER_CONTAINERS_RUN ?? String(process.pid),
    containers: [],
    network: null,
  };
  setRun(state);
  say(`starting the services (run ${state.run}, engine ${process.env.DOCKER_HOST ?? 'default'})`);
  let env: Record<string, string>;
  try {
    env = await startAll(state);
  } catch (error) {
    say(`starting failed: ${error instanceof Error ? error.message : String(error)}`);
    printLogs();
    await stopRun(state, say);
    throw error;
  }
  const file =
    process.env.LEDGER_CONTAINERS_ENV_FILE ??
    path.join(os.tmpdir(), `ledger-bridge-containers-${state.run}.json`);
  fs.writeFileSync(file, `${JSON.stringify(env, null, 2)}\n`);
  state.envFile = file;
  Object.assign(process.env, env, { LEDGER_CONTAINERS_ENV_FILE: file });
  for (const [name, value] of Object.entries(env)) say(`  ${name}=${value}`);
  say(`services ready in ${Date.now() - startedMs} ms`);
}
