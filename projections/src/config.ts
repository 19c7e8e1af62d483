/**
 * Settings of the projection worker beyond the bridge's (core/config.ts supplies the
 * database, Kafka, the topic and PROJECTIONS_GROUP_ID, which the bridge's consistent reads share). Read from the environment once, validated, with defaults and units.
 */
import { z } from 'zod';
import { KAFKA_TUNING_DEFAULT } from '../../events/kafka';

const boolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const schema = z.object({
  /** Events per PostgreSQL transaction. */
  PROJECTIONS_BATCH_EVENTS_MAX: z.coerce.number().int().positive().default(5_000),
  /**
   * Worker processes `npm run worker` runs (./workers.ts): each a member of the feeds' consumer
   * groups owning its partitions. One process uses one core; more than the topics' partitions
   * leaves some idle.
   */
  PROJECTIONS_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /** Partitions applied at once by one worker (each its own transaction). */
  PROJECTIONS_PARTITIONS_CONCURRENCY: z.coerce.number().int().positive().default(2),
  /**
   * Bytes of one record (key + value) above which the runner dead-letters it (`oversized`)
   * without parsing it: the topics' own max.message.bytes (8 MiB) by default.
   */
  PROJECTIONS_EVENT_BYTES_MAX: z.coerce
    .number()
    .int()
    .positive()
    .default(KAFKA_TUNING_DEFAULT.topicMessageBytesMax),
  /** How often the lag is polled (ms). */
  PROJECTIONS_LAG_POLL_MS: z.coerce.number().int().positive().default(2_000),
  /**
   * A worker that dies without leaving the group keeps its partitions this long (ms), and a worker
   * started meanwhile waits as long to join: 30 s (kafkajs's default) stalled the projections for
   * 30 s after a kill -9 in the chaos run. Heartbeats go every tenth of it, during long batches
   * too; the broker accepts 6,000 and up by default.
   */
  PROJECTIONS_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(10_000),
  /** The worker's /metrics listener (0: any free port). */
  PROJECTIONS_METRICS_HOST: z.string().default('127.0.0.1'),
  PROJECTIONS_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  /**
   * How often the worker reconciles TigerBeetle with PostgreSQL when it can reach the ledger (ms);
   * 0: never (load runs reconcile once, after the load, instead of competing with it for CPU).
   */
  PROJECTIONS_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /**
   * The worker's scheduling niceness (0 = as the API; up to 19): on a host shared with the bridge,
   * the projections, asynchronous by design, yield the CPU to the journal path and catch up when
   * it is idle. Their lag is the price, and is measured.
   */
  PROJECTIONS_NICENESS: z.coerce.number().int().min(0).max(19).default(0),
  /** Run the migrations at start (off when another process owns them). */
  PROJECTIONS_MIGRATE: boolean.default(true),
  /** Run only these projections (by name); unset: all of PROJECTIONS. */
  PROJECTIONS_ONLY: list.optional(),
  /**
   * Tests and tools: use direct connections with this schema first in search_path instead of
   * PgBouncer (which cannot carry the setting).
   */
  PROJECTIONS_DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .optional(),
});

export type ProjectionsConfig = z.infer<typeof schema>;

export function loadProjectionsConfig(env: NodeJS.ProcessEnv = process.env): ProjectionsConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid projections configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
