/**
 * Connection settings of the local stack (infra/stack.sh), overridable from the environment.
 * The defaults repeat the fixed ports in infra/lib/common.sh; infra/README.md lists both.
 */
export const stackSettings = {
  /** PostgreSQL through PgBouncer (transaction pooling): what the application uses. */
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://ledger:ledger@127.0.0.1:56432/ledger',
  /** PostgreSQL primary, directly (migrations, LISTEN, session state). */
  databasePrimaryUrl:
    process.env.DATABASE_DIRECT_URL ?? 'postgres://ledger:ledger@127.0.0.1:55432/ledger',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:56379',
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:59092').split(','),
  /** RabbitMQ, the change feed's broker (vhost `ledger`). */
  amqpUrl: process.env.AMQP_URL ?? 'amqp://ledger:ledger@127.0.0.1:55672/ledger',
  /** nginx in front of the bridge API instances. */
  lbUrl: process.env.LB_URL ?? 'http://127.0.0.1:58080',
} as const;
