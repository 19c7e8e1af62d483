/**
 * The containers tier's services, one function each, run from the project's images the way
 * infra/containers/smoke-images.sh and smoke-tigerbeetle.sh run them (the compose file's
 * environment, commands and init scripts), and set up as the local stack sets up its own
 * (infra/lib/*.sh): the `ledger`, `ledger_test` and `ledger_load` databases, the replication role
 * and a streaming replica with its slot, PgBouncer routing all three databases, RabbitMQ's `ledger`
 * vhost, one KRaft Kafka node, a TigerBeetle cluster and its `tigerbeetle amqp` change feed.
 *
 * The engine has no default bridge network: PostgreSQL, its replica, PgBouncer, Redis and RabbitMQ
 * share a user-defined network (each reached by its container name) and publish their port on
 * 127.0.0.1 at a port the engine picks. Kafka and TigerBeetle must be reached at the address they
 * announce (Kafka's advertised listener, the replicas' --addresses), so they run on the host
 * network at free loopback ports chosen at run time. Test credentials only.
 */
import path from 'node:path';
import { type StartedNetwork, type StartedTestContainer, Wait } from 'testcontainers';
import { IMAGES, ServiceContainer } from './service-container';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** vfs copies each image on create, and the machine's 2 cores are shared: be patient. */
const STARTUP_TIMEOUT_MS = 600_000;

/** Test credentials, as the local stack's (infra/lib/common.sh): tests default to them. */
export const CREDENTIALS = {
  postgresPassword: 'tc-postgres',
  ledgerPassword: 'ledger',
  replicationPassword: 'tc-replication',
  rabbitmqPassword: 'ledger',
} as const;

/** Where one run's containers go, and what to call them. */
export interface Placement {
  run: string;
  network: StartedNetwork;
}

/** The databases the tests and load tools use, as `postgres_bootstrap` makes them. */
const TEST_DATABASES_SQL = `
CREATE DATABASE ledger_test OWNER ledger ENCODING 'UTF8';
CREATE DATABASE ledger_load OWNER ledger ENCODING 'UTF8';
-- As the local stack: the replica tests pause and resume WAL replay as ledger (per database).
\\c ledger
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO ledger;
\\c ledger_test
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO ledger;
\\c ledger_load
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO ledger;
`;

export function containerName(placement: Placement, service: string): string {
  return `ledger-bridge-tc-${placement.run}-${service}`;
}

/** The primary as the compose file runs it (less its 1 GB shared_buffers), with the test DBs. */
export function startPostgres(at: Placement): Promise<StartedTestContainer> {
  return (
    new ServiceContainer(IMAGES.postgres, at.run, 'postgres')
      .withNetwork(at.network)
      .withEnvironment({
        POSTGRES_PASSWORD: CREDENTIALS.postgresPassword,
        POSTGRES_INITDB_ARGS: '--encoding=UTF8 --auth-host=scram-sha-256',
        POSTGRES_HOST_AUTH_METHOD: 'scram-sha-256',
        LEDGER_DB_PASSWORD: CREDENTIALS.ledgerPassword,
        REPLICATION_PASSWORD: CREDENTIALS.replicationPassword,
      })
      .withCopyFilesToContainer([
        {
          source: path.join(ROOT, 'infra', 'postgres', 'primary-init.sh'),
          target: '/docker-entrypoint-initdb.d/10-ledger-bridge.sh',
          mode: 0o755,
        },
      ])
      .withCopyContentToContainer([
        {
          content: TEST_DATABASES_SQL,
          target: '/docker-entrypoint-initdb.d/20-ledger-bridge-tests.sql',
          mode: 0o644,
        },
      ])
      // The replica's entrypoint runs with max_connections=300, which a standby needs >= primary's.
      .withCommand(
        ['postgres', 'wal_level=replica', 'max_wal_senders=10', 'max_replication_slots=10']
          .concat(['synchronous_commit=on', 'fsync=on', 'shared_buffers=128MB'])
          .concat(['max_connections=300', 'wal_keep_size=256MB'])
          .flatMap((setting, i) => (i === 0 ? [setting] : ['-c', setting])),
      )
      .withLoopbackPorts(5432)
      .withWaitStrategy(
        Wait.forSuccessfulCommand('pg_isready -q -h 127.0.0.1 -p 5432 -U postgres -d ledger_load'),
      )
      .withStartupTimeout(STARTUP_TIMEOUT_MS)
      .start()
  );
}

/** The streaming replica as the compose file runs it: its entrypoint clones the primary. */
export function startReplica(at: Placement): Promise<StartedTestContainer> {
  return new ServiceContainer(IMAGES.postgres, at.run, 'replica')
    .withNetwork(at.network)
    .withUser('postgres')
    .withEntrypoint(['/usr/local/bin/replica-entrypoint.sh'])
    .withEnvironment({
      PRIMARY_HOST: containerName(at, 'postgres'),
      REPLICA_SLOT: 'replica_1',
      REPLICATION_PASSWORD: CREDENTIALS.replicationPassword,
    })
    .withCopyFilesToContainer([
      {
        source: path.join(ROOT, 'infra', 'postgres', 'replica-entrypoint.sh'),
        target: '/usr/local/bin/replica-entrypoint.sh',
        mode: 0o755,
      },
    ])
    .withLoopbackPorts(5432)
    .withWaitStrategy(
      Wait.forSuccessfulCommand(
        'pg_isready -q -h 127.0.0.1 -U postgres -d ledger_test && ' +
          `psql -U postgres -d ledger_test -Atc 'select pg_is_in_recovery()' | grep -qx t`,
      ),
    )
    .withStartupTimeout(STARTUP_TIMEOUT_MS)
    .start();
}

/** infra/pgbouncer/production.ini, its one database line replaced by the stack's three. */
export function pgbouncerIni(productionIni: string, primaryHost: string): string {
  const line = 'ledger = host=postgres-primary port=5432 dbname=ledger';
  if (!productionIni.includes(line)) {
    throw new Error(`infra/pgbouncer/production.ini: its [databases] line '${line}' has changed`);
  }
  const databases = ['ledger', 'ledger_test', 'ledger_load']
    .map((db) => `${db} = host=${primaryHost} port=5432 dbname=${db}`)
    .join('\n');
  return productionIni.replace(line, databases);
}

export function startPgbouncer(at: Placement, ini: string): Promise<StartedTestContainer> {
  return (
    new ServiceContainer(IMAGES.pgbouncer, at.run, 'pgbouncer')
      .withNetwork(at.network)
      .withEnvironment({ LEDGER_DB_PASSWORD: CREDENTIALS.ledgerPassword })
      .withCopyContentToContainer([
        { content: ini, target: '/etc/pgbouncer/pgbouncer.ini', mode: 0o644 },
      ])
      .withLoopbackPorts(6432)
      // The compose file's health check.
      .withWaitStrategy(
        Wait.forSuccessfulCommand(
          `PGPASSWORD=${CREDENTIALS.ledgerPassword} ` +
            'psql -h 127.0.0.1 -p 6432 -U ledger -d ledger_test -Atc "select 1"',
        ),
      )
      .withStartupTimeout(STARTUP_TIMEOUT_MS)
      .start()
  );
}

export function startRedis(at: Placement): Promise<StartedTestContainer> {
  return new ServiceContainer(IMAGES.redis, at.run, 'redis')
    .withNetwork(at.network)
    .withCommand(['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec'])
    .withLoopbackPorts(6379)
    .withWaitStrategy(Wait.forSuccessfulCommand('redis-cli ping | grep -qx PONG'))
    .withStartupTimeout(STARTUP_TIMEOUT_MS)
    .start();
}

export function startRabbitmq(at: Placement): Promise<StartedTestContainer> {
  return (
    new ServiceContainer(IMAGES.rabbitmq, at.run, 'rabbitmq')
      .withNetwork(at.network)
      .withEnvironment({ RABBITMQ_PASSWORD: CREDENTIALS.rabbitmqPassword })
      .withLoopbackPorts(5672)
      // `ping` answers before RabbitMQ has booted; check_running once it has; then the compose
      // file's health check.
      .withWaitStrategy(
        Wait.forSuccessfulCommand(
          'rabbitmq-diagnostics -q check_running && ' +
            'rabbitmq-diagnostics -q check_port_connectivity',
        ),
      )
      .withStartupTimeout(STARTUP_TIMEOUT_MS)
      .start()
  );
}
