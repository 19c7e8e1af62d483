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
  KAFKA_BROKERS: addresses.default(['127.0.0.1:59092']),
  KAFKA_CLIENT_ID: z.string().default('ledger-bridge'),
  /** Journal outcome events (schema in core/events/). */
  KAFKA_OUTCOMES_TOPIC: z.string().default('ledger.journal-outcomes.v1'),
  KAFKA_OUTCOMES_PARTITIONS: z.coerce.number().int().positive().default(6),
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
   * A shared engine server's host:port (ledger/engine/server-main.ts; no authentication:
   * keep it on 127.0.0.1). Set, and TB_ADDRESSES unset: this process is its client instead of
   * opening ENGINE_DATA_DIR, so several processes share one engine.
   */
  ENGINE_ADDRESS: z
    .string()
    .regex(/^[^:]*:\d{1,5}$/, 'must be host:port')
    .optional(),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
