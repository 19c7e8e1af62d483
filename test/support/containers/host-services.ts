/**
 * The containers tier's services on the host network: those whose clients must reach them at the
 * address they announce. Kafka advertises its listener to every client, and each TigerBeetle
 * replica is given the whole cluster's --addresses, which the replicas and the tests share; so
 * they listen on 127.0.0.1 at free ports chosen at run time (never the local stack's), as the
 * smoke tests run them (infra/containers/smoke-images.sh, smoke-tigerbeetle.sh). The change feed's
 * `tigerbeetle amqp` job joins them there, with RabbitMQ's published port.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { type StartedTestContainer, Wait } from 'testcontainers';
import { IMAGES, ServiceContainer } from './service-container';

const STARTUP_TIMEOUT_MS = 600_000;
/** The local stack's ports and the bridge's 3000-3003 (infra/lib/common.sh): never taken here. */
const STACK_PORTS = new Set([
  3000, 3001, 3002, 3003, 55432, 55433, 56432, 56379, 59092, 59093, 58080, 55672, 55673, 54369,
]);
/** A broker for tests: a small heap (the image's default is the official 1 GB). */
const KAFKA_HEAP_OPTS = '-Xms128m -Xmx384m';
/**
 * A small grid cache: a replica still allocates about 2.1 GiB at start (its LSM manifests and
 * message pools; measured), against 2.3 GiB with the local stack's 256MiB. Not --development: it
 * lowers the batch size the tests rely on.
 */
const TB_CACHE_GRID = '32MiB';
/** How often the CDC job asks again after an empty answer, as the local stack's (ms). */
const TB_CDC_IDLE_INTERVAL_MS = 50;

/** Ports this process has handed out: Kafka's and TigerBeetle's are chosen side by side. */
const handedOut = new Set<number>();

/** A loopback port nothing listens on now (the OS picks it), not the stack's, never twice. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port > 0 && !STACK_PORTS.has(port) && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'. */
function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** One combined broker+controller with the compose file's KAFKA_* settings for a single node. */
export function startKafka(
  run: string,
  port: number,
  controllerPort: number,
): Promise<StartedTestContainer> {
  const bootstrap = `127.0.0.1:${port}`;
  return new ServiceContainer(IMAGES.kafka, run, 'kafka')
    .withNetworkMode('host')
    .withEnvironment({
      CLUSTER_ID: kafkaClusterId(),
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_QUORUM_VOTERS: `1@127.0.0.1:${controllerPort}`,
      KAFKA_LISTENERS: `PLAINTEXT://${bootstrap},CONTROLLER://127.0.0.1:${controllerPort}`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${bootstrap}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_LOG_DIRS: '/var/lib/kafka/data',
      KAFKA_NUM_PARTITIONS: '1',
      KAFKA_DEFAULT_REPLICATION_FACTOR: '1',
      KAFKA_MIN_INSYNC_REPLICAS: '1',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE: 'false',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_HEAP_OPTS,
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(STARTUP_TIMEOUT_MS)
    .start();
}

/**
 * Replica `replica` of a `count`-replica cluster: formats its data file inside the container,
 * then starts. io_uring needs seccomp=unconfined and the server locks memory (IPC_LOCK); no
 * memlock ulimit: this machine refuses to raise it, so the engine's limit stays, as natively.
 */
export function startTigerBeetleReplica(
  run: string,
  cluster: { id: string; addresses: string[] },
  replica: number,
): Promise<StartedTestContainer> {
  const file = `/data/${cluster.id}_${replica}.tigerbeetle`;
  const script = [
    'mkdir -p /data',
    `/tigerbeetle format --cluster=${cluster.id} --replica=${replica} ` +
      `--replica-count=${cluster.addresses.length} ${file}`,
    `exec /tigerbeetle start --addresses=${cluster.addresses.join(',')} ` +
      `--cache-grid=${TB_CACHE_GRID} ${file}`,
  ].join(' && ');
  return new ServiceContainer(IMAGES.tigerbeetle, run, `tigerbeetle-${replica}`)
    .withNetworkMode('host')
    .withInit()
    .withSecurityOpt('seccomp=unconfined')
    .withAddedCapabilities('IPC_LOCK')
    .withEntrypoint(['/bin/sh', '-c'])
    .withCommand([script])
    .withWaitStrategy(Wait.forLogMessage(/listening on/))
    .withStartupTimeout(STARTUP_TIMEOUT_MS)
    .start();
}

/**
 * TigerBeetle's CDC job, publishing the cluster's changes to the `ledger.cdc` exchange as the
 * stack's supervised job does (infra/tigerbeetle/cdc-supervise.sh); the engine restarts it when it
 * exits, as the supervisor would. The exchange must exist first (changefeed/declare.ts).
 */
export function startCdcJob(
  run: string,
  cluster: { id: string; addresses: string[] },
  amqp: { host: string; exchange: string; user: string; password: string; vhost: string },
): Promise<StartedTestContainer> {
  return new ServiceContainer(IMAGES.tigerbeetle, run, 'cdc')
    .withNetworkMode('host')
    .withInit()
    .withRestartOnFailure()
    .withCommand([
      'amqp',
      `--addresses=${cluster.addresses.join(',')}`,
      `--cluster=${cluster.id}`,
      `--host=${amqp.host}`,
      `--vhost=${amqp.vhost}`,
      `--user=${amqp.user}`,
      `--password=${amqp.password}`,
      `--publish-exchange=${amqp.exchange}`,
      `--idle-interval-ms=${TB_CDC_IDLE_INTERVAL_MS}`,
    ])
    .withWaitStrategy(Wait.forLogMessage(/Starting CDC/))
    .withStartupTimeout(STARTUP_TIMEOUT_MS)
    .start();
}
