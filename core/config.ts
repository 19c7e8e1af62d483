/**
 * Every setting of the bridge, read from the environment once, validated, with defaults and units.
 * README's configuration table mirrors this file; a setting that is not here does not exist.
 */
import path from 'node:path';
import { z } from 'zod';

const REPO_ROOT = path.resolve(__dirname, '..');

const boolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const addresses = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((address) => address.trim())
      .filter((address) => address.length > 0),
  )
  .refine((list) => list.length > 0, 'lists no replica address');

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  /**
   * A request's headers must have arrived this long after its first byte, or after the
   * connection opened (ms); a later request on a kept-alive connection likewise. Headers fit in
   * one or two packets: 10 s allows for a slow mobile round trip, and a client trickling them
   * (slowloris) holds its connection 10 s instead of Node's 60. nginx's client_header_timeout
   * equals it (infra/lib/nginx.sh, infra/nginx/production.conf).
   */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * The whole request, headers and body, must have arrived this long after it began (ms); not
   * the answer, which LEDGER_REQUEST_TIMEOUT_MS bounds. 30 s carries the largest body the API
   * takes (8 MiB bulk) at 2.3 Mbit/s; nginx reads bodies whole before it forwards them, so
   * behind it the bridge reads at LAN speed. A body trickled at 1 byte/s is cut after 30 s
   * instead of Node's 300.
   */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /**
   * An idle kept-alive connection is closed after this (ms; Node adds 1 s of grace). Above nginx's
   * upstream keepalive_timeout (60 s), so nginx always closes an idle upstream connection first
   * and never sends a request on one the bridge is closing (a 502).
   */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(65_000),
  /**
   * Open connections at most (server.maxConnections); past it a new one is closed at once and
   * nginx tries the next instance. 1024 ≈ the SLOs' peak (2,000 journals/s) × their p99 bound
   * (500 ms): the requests in flight when the SLOs hold; more would only queue, each holding
   * a descriptor and up to a body's worth of memory. nginx's max_conns per instance equals it.
   */
  HTTP_MAX_CONNECTIONS: z.coerce.number().int().positive().default(1_024),
  /**
   * Request line plus headers, in bytes (Node's maxHeaderSize): more answers 431. The API's own
   * headers take under 1 KiB (content type, consistency and balance tokens); 16 KiB leaves room
   * for proxies' X-Forwarded-For chains and tracing headers. nginx's header buffers match it.
   */
  HTTP_MAX_HEADER_BYTES: z.coerce.number().int().min(1_024).default(16_384),
  /**
   * API keys are cached per instance (bridge/src/access/key-cache.ts): a revocation, the end of a
   * rotation's grace or a new key reaches every instance within this long (ms).
   */
  ACCESS_KEY_CACHE_TTL_MS: z.coerce.number().int().positive().default(5_000),
  /** While PostgreSQL does not answer, a key read this recently keeps working (ms). */
  ACCESS_KEY_STALE_MAX_MS: z.coerce.number().int().nonnegative().default(300_000),
  ACCESS_KEY_CACHE_ENTRIES_MAX: z.coerce.number().int().positive().default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** TigerBeetle cluster id (u128). */
  TB_CLUSTER_ID: z
    .string()
    .regex(/^\d+$/, 'must be a non-negative integer')
    .transform((value) => BigInt(value))
    .default(0n),
  /** Every replica's address, in replica order. Unset or empty: the embedded engine is used. */
  TB_ADDRESSES: z.preprocess((value) => (value === '' ? undefined : value), addresses.optional()),
  /** How long a ledger request may take before the bridge answers 503 (the request may still
   * commit; retries reuse the same ids). */
  LEDGER_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** The primary through PgBouncer (transaction pooling): no session state across statements. */
  DATABASE_URL: z.string().url().default('postgres://ledger:ledger@127.0.0.1:56432/ledger'),
  /** The primary directly, for what needs a session (migrations, advisory locks, LISTEN). */
  DATABASE_DIRECT_URL: z.string().url().default('postgres://ledger:ledger@127.0.0.1:55432/ledger'),
  DATABASE_POOL_MAX: z.coerce.number().int().positive().default(10),
  /** Streaming replicas for journal and statement reads; empty: the primary only. */
  DATABASE_REPLICA_URLS: z
    .string()
    .default('postgres://ledger:ledger@127.0.0.1:55433/ledger')
    .transform((value) =>
      value
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url.length > 0),
    ),
  DATABASE_REPLICA_POOL_MAX: z.coerce.number().int().positive().default(10),
  /** How often each replica's replay position is compared with the primary's (ms). */
  REPLICA_LAG_POLL_MS: z.coerce.number().int().positive().default(100),
  /** A replica further behind than this is not read from (ms). */
  REPLICA_LAG_MS_MAX: z.coerce.number().int().positive().default(1_000),
  /** ... or than this much WAL (bytes); unset: time only. */
  REPLICA_LAG_BYTES_MAX: z.coerce.number().int().positive().optional(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:56379'),
  /** L2 in Redis and cross-instance invalidation; false: L1 and the ledger only. */
  BALANCE_CACHE_REDIS: boolean.default(true),
  /**
   * Follow the ledger's change feed (KAFKA_CHANGES_TOPIC) for holds that expire by timeout and
   * invalidate their balances on every instance (bridge/src/balances/expiry-follower.ts).
   */
  BALANCE_FOLLOW_EXPIRIES: boolean.default(true),
  BALANCE_L1_ENTRIES_MAX: z.coerce.number().int().positive().default(100_000),
  BALANCE_L1_TTL_MS: z.coerce.number().int().positive().default(1_000),
  BALANCE_L2_TTL_MS: z.coerce.number().int().positive().default(30_000),
  /** A Redis command slower than this falls through to the ledger (ms). */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().positive().default(50),
  REDIS_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(1_000),
  /** Invalidations kept while Redis is down, replayed when it returns (accounts). */
  BALANCE_PENDING_INVALIDATIONS_MAX: z.coerce.number().int().positive().default(100_000),
  BALANCE_CACHE_KEY_PREFIX: z.string().min(1).default('lb:bal:'),
  BALANCE_INVALIDATION_CHANNEL: z.string().min(1).default('lb:bal:invalidations'),
  /**
   * Token buckets per API key and scope, `<scope>=<rate>/s:<burst>` (bridge/src/access/
   * rate-limit-rules.ts; `default` covers unlisted scopes; a bad entry stops the start, named).
   * Generous: one key drives the load tests and benches (~5,000 journals/s, ~20,000 balance
   * reads/s), so writes get 20,000/s and reads 50,000/s; the limits stop a runaway client, not
   * normal use. Bursts are 2 s at the rate.
   */
  RATE_LIMITS: z
    .string()
    .min(1)
    .default(
      'default=1000/s:2000,journals:write=20000/s:40000,holds:write=20000/s:40000,' +
        'accounts:write=5000/s:10000,journals:read=50000/s:100000,' +
        'balances:read=50000/s:100000,accounts:read=50000/s:100000',
    ),
  /** Buckets in Redis, shared by every instance; false, or Redis down: each instance its own. */
  RATE_LIMIT_REDIS: boolean.default(true),
  /**
   * Tokens taken from Redis in leases (bridge/src/access/rate-limit-lease.ts): a Redis call per
   * lease, N instances admitting at most N × lease beyond a bucket; false: a call per check,
   * exact, ~20,000 checks/s at most on 2 cores.
   */
  RATE_LIMIT_LEASES: boolean.default(true),
  RATE_LIMIT_KEY_PREFIX: z.string().min(1).default('lb:rl:'),
  KAFKA_BROKERS: addresses.default(['127.0.0.1:59092']),
  KAFKA_CLIENT_ID: z.string().default('ledger-bridge'),
  /** Journal outcome events (schema in core/events/). */
  KAFKA_OUTCOMES_TOPIC: z.string().default('ledger.journal-outcomes.v1'),
  KAFKA_OUTCOMES_PARTITIONS: z.coerce.number().int().positive().default(6),
  /**
   * How outcome events are written (events/envelope.ts): `batch`, one version-2 record per
   * partition per send (many events); `single`, one version-1 record per event. The projections
   * read both: upgrade them first, then the bridges.
   */
  KAFKA_OUTCOMES_FORMAT: z.enum(['batch', 'single']).default('batch'),
  /**
   * The client that writes outcome events: `librdkafka` (`@confluentinc/kafka-javascript`, built
   * by infra/setup.sh; events/rdkafka.ts: about 4× less client CPU per event, measured), `kafkajs`,
   * or `auto`: librdkafka when the package loads, else kafkajs with a warning at start.
   */
  KAFKA_PRODUCER: z.enum(['auto', 'kafkajs', 'librdkafka']).default('auto'),
  /**
   * The ledger's change feed (TigerBeetle CDC, changefeed/): each event twice, keyed by its debit
   * and by its credit account id; poison messages go to `<topic>.dlq`.
   */
  KAFKA_CHANGES_TOPIC: z.string().min(1).default('ledger.changes.v1'),
  KAFKA_CHANGES_PARTITIONS: z.coerce.number().int().positive().default(6),
  /** RabbitMQ, where `tigerbeetle amqp` publishes the change feed (the stack's node by default). */
  AMQP_URL: z.string().url().default('amqp://ledger:ledger@127.0.0.1:55672/ledger'),
  /** The exchange `tigerbeetle amqp --publish-exchange` names (fanout, declared by the project). */
  AMQP_CDC_EXCHANGE: z.string().min(1).default('ledger.cdc'),
  /** The relay's queue on that exchange; `<queue>.dead` holds what the relay could not take. */
  AMQP_CDC_QUEUE: z.string().min(1).default('ledger.cdc.relay'),
  /**
   * Unacknowledged messages the relay holds at most (AMQP prefetch): it acknowledges only what
   * Kafka has, so this bounds the work a crash makes it redo; a Kafka send carries up to half.
   */
  RELAY_PREFETCH: z.coerce.number().int().min(2).max(16_384).default(2_048),
  /** Where the relay's /metrics listens (`0.0.0.0` in a container, for Prometheus). */
  RELAY_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** The relay's /metrics port (`0` picks a free one). */
  RELAY_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9466),
  /**
   * Longest an outcome waits for company before its Kafka batch is sent when no send is in flight
   * (ms). 0: the end of the current event-loop turn. Under load the send in flight is the batching
   * window anyway; a timer only adds its delay to every journal at low rates (measured with k6:
   * p50 4.4 ms with 2, 2.2 ms with 0, at 200 journals/s; no loss at 4,000/s).
   */
  KAFKA_LINGER_MS: z.coerce.number().int().min(0).default(0),
  /**
   * The projection worker's consumer group, also the namespace of its checkpoints; consistent
   * reads wait on those checkpoints.
   */
  PROJECTIONS_GROUP_ID: z.string().min(1).default('ledger-bridge.projections'),
  /** Longest a read carrying a consistency token waits for the projections (ms). */
  CONSISTENCY_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(2_000),
  /** Longest a journal chain waits for company before its ledger batch is sent (ms). */
  BATCH_FLUSH_DELAY_MS: z.coerce.number().min(0).default(1),
  /** POSTed once when an SLO is breached and once when it recovers; unset: alerts are logged. */
  MONITOR_ALERT_WEBHOOK_URL: z.string().url().optional(),
  MONITOR_ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  /** Projection workers' /metrics, read for the reconciliation SLO. */
  MONITOR_WORKER_METRICS_URLS: addresses.optional(),
  SLO_THROUGHPUT_JOURNALS_PER_SEC: z.coerce.number().positive().default(1_000),
  SLO_PEAK_JOURNALS_PER_SEC: z.coerce.number().positive().default(2_000),
  SLO_BALANCE_READ_P95_MS: z.coerce.number().positive().default(50),
  SLO_API_P99_MS: z.coerce.number().positive().default(500),
  SLO_ERROR_RATIO_MAX: z.coerce.number().min(0).max(1).default(0.01),
  SLO_AVAILABILITY_MIN: z.coerce.number().min(0).max(1).default(0.999),
  SLO_PROJECTION_LAG_P99_MS: z.coerce.number().positive().default(1_000),
  SLO_SHORT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  SLO_LONG_WINDOW_MS: z.coerce.number().int().positive().default(300_000),
  ENGINE_DATA_DIR: z.string().default(path.join(REPO_ROOT, '.run', 'engine')),
  /** Only for throwaway benchmarks: without fsync an acknowledged transfer can be lost. */
  ENGINE_FSYNC: boolean.default(true),
  /**
   * A shared engine server's host:port (ledger/engine/server-main.ts). Set, and TB_ADDRESSES
   * unset: this process is its client instead of opening ENGINE_DATA_DIR, so several processes
   * share one engine. Needs ENGINE_SECRET.
   */
  ENGINE_ADDRESS: z
    .string()
    .regex(/^[^:]*:\d{1,5}$/, 'must be host:port')
    .optional(),
  /**
   * The engine server's shared secret, proved by every connection's handshake and never sent
   * (ledger/engine/handshake.ts). At least 32 characters (ENGINE_SECRET_CHARS_MIN there).
   */
  ENGINE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Limits that depend on each other, checked once at load with the reason (Node refuses a headers
 * timeout above the request timeout: the headers are part of the request).
 */
const checked = schema
  .refine((c) => c.HTTP_HEADERS_TIMEOUT_MS <= c.HTTP_REQUEST_TIMEOUT_MS, {
    message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS: the headers are part of the request',
    path: ['HTTP_HEADERS_TIMEOUT_MS'],
  })
  .refine(
    (c) =>
      c.ENGINE_ADDRESS === undefined ||
      c.TB_ADDRESSES !== undefined ||
      c.ENGINE_SECRET !== undefined,
    {
      message: 'must be set with ENGINE_ADDRESS: the engine server refuses clients without it',
      path: ['ENGINE_SECRET'],
    },
  );

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = checked.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
