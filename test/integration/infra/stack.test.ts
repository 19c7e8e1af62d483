// Proves the local stack started by `infra/stack.sh up` is real and configured as documented: SQL
// round trips through PgBouncer and on the primary, Redis SET/GET on its AOF, a Kafka topic created,
// written with an idempotent acks=all producer and read back by a consumer group, and nginx.
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import Redis from 'ioredis';
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs';
import { stackSettings } from '../../support/infra/settings';

const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 10_000;
const KAFKA_CONSUME_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 45_000;
const PRIMARY_PORT = 55432;

function pgClient(connectionString: string): Client {
  return new Client({
    connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
  });
}

async function withPg<T>(url: string, body: (client: Client) => Promise<T>): Promise<T> {
  const client = pgClient(url);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** Rejects after `ms` with a message naming what was awaited; clears its timer either way. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('PostgreSQL', () => {
  test(
    'primary answers directly with durable, replication-ready settings',
    async () => {
      const settings = await withPg(stackSettings.databasePrimaryUrl, async (client) => {
        const result = await client.query<{ name: string; setting: string }>(
          `SELECT name, setting FROM pg_settings
            WHERE name = ANY($1::text[]) ORDER BY name`,
          [['fsync', 'synchronous_commit', 'wal_level', 'listen_addresses', 'server_encoding']],
        );
        return Object.fromEntries(result.rows.map((row) => [row.name, row.setting]));
      });
      expect(settings).toEqual({
        fsync: 'on',
        listen_addresses: '127.0.0.1',
        server_encoding: 'UTF8',
        synchronous_commit: 'on',
        wal_level: 'replica',
      });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'a transaction through PgBouncer reaches the primary (unnamed statements only)',
    async () => {
      const marker = randomUUID();
      const rows = await withPg(stackSettings.databaseUrl, async (client) => {
        // One transaction pins one server connection, so the temp table lives for all of it.
        await client.query('BEGIN');
        await client.query('CREATE TEMP TABLE probe (id int8, note text) ON COMMIT DROP');
        await client.query('INSERT INTO probe VALUES ($1, $2), ($3, $2)', ['1', marker, '2']);
        const result = await client.query<{ total: string; note: string; port: number }>(
          `SELECT sum(id)::int8 AS total, min(note) AS note, inet_server_port() AS port
             FROM probe`,
        );
        await client.query('COMMIT');
        return result.rows;
      });
      // PgBouncer itself listens elsewhere; the server it forwards to is the primary.
      expect(rows).toEqual([{ total: '3', note: marker, port: PRIMARY_PORT }]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'PgBouncer serves more concurrent clients than it opens server connections',
    async () => {
      // default_pool_size is 20 (infra/lib/pgbouncer.sh): 30 clients share fewer backends.
      const clients = Array.from({ length: 30 }, () => pgClient(stackSettings.databaseUrl));
      await Promise.all(clients.map((client) => client.connect()));
      try {
        const answers = await Promise.all(
          clients.map((client, index) =>
            client
              .query<{ n: number; pid: number }>(
                'SELECT $1::int AS n, pg_backend_pid() AS pid, pg_sleep(0.2)',
                [index],
              )
              .then((result) => result.rows[0]),
          ),
        );
        expect(answers.map((answer) => answer?.n)).toEqual(clients.map((_, index) => index));
        const backends = new Set(answers.map((answer) => answer?.pid));
        expect(backends.size).toBeGreaterThan(0);
        expect(backends.size).toBeLessThan(clients.length);
      } finally {
        await Promise.all(clients.map((client) => client.end()));
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('Redis', () => {
  test(
    'SET then GET round-trips a value, with the append-only file on',
    async () => {
      const redis = new Redis(stackSettings.redisUrl, {
        lazyConnect: true,
        connectTimeout: CONNECT_TIMEOUT_MS,
        commandTimeout: QUERY_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      await redis.connect();
      try {
        const key = `infra-test:${randomUUID()}`;
        const value = randomUUID();
        expect(await redis.set(key, value, 'PX', 60_000)).toBe('OK');
        expect(await redis.get(key)).toBe(value);
        expect(await redis.del(key)).toBe(1);
        expect(await redis.get(key)).toBeNull();
        expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      } finally {
        redis.disconnect();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('Kafka', () => {
  const kafka = new Kafka({
    clientId: 'ledger-bridge-infra-test',
    brokers: stackSettings.kafkaBrokers,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: QUERY_TIMEOUT_MS,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: logLevel.ERROR,
  });

  test(
    'a created topic takes an idempotent acks=all write and a consumer group reads it back',
    async () => {
      const topic = `infra-test-${randomUUID()}`;
      const key = randomUUID();
      const value = JSON.stringify({ probe: randomUUID() });
      const admin = kafka.admin();
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      let consumer: Consumer | undefined;
      await admin.connect();
      try {
        const created = await admin.createTopics({
          topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
          waitForLeaders: true,
          timeout: QUERY_TIMEOUT_MS,
        });
        expect(created).toBe(true);

        await producer.connect();
        const [written] = await producer.send({ topic, acks: -1, messages: [{ key, value }] });
        expect(written).toMatchObject({ topicName: topic, partition: 0, errorCode: 0 });

        consumer = kafka.consumer({ groupId: `infra-test-${randomUUID()}` });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        const received = new Promise<{ key: string; value: string; offset: string }>((resolve) => {
          void consumer!.run({
            eachMessage: async ({ message }) =>
              resolve({
                key: message.key?.toString() ?? '',
                value: message.value?.toString() ?? '',
                offset: message.offset,
              }),
          });
        });
        expect(await within(KAFKA_CONSUME_TIMEOUT_MS, 'consumer', received)).toEqual({
          key,
          value,
          offset: written?.baseOffset,
        });
      } finally {
        await consumer?.disconnect();
        await producer.disconnect();
        await admin.deleteTopics({ topics: [topic], timeout: QUERY_TIMEOUT_MS }).catch(() => {});
        await admin.disconnect();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'topics are not auto-created: the application creates them explicitly',
    async () => {
      // The broker's error is the expected outcome here: keep kafkajs from logging it.
      const quiet = new Kafka({
        clientId: 'ledger-bridge-infra-test',
        brokers: stackSettings.kafkaBrokers,
        connectionTimeout: CONNECT_TIMEOUT_MS,
        requestTimeout: QUERY_TIMEOUT_MS,
        retry: { retries: 1, initialRetryTime: 200 },
        logLevel: logLevel.NOTHING,
      });
      const admin = quiet.admin();
      await admin.connect();
      try {
        const missing = `infra-test-missing-${randomUUID()}`;
        await expect(admin.fetchTopicMetadata({ topics: [missing] })).rejects.toThrow(
          /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/,
        );
        expect(await admin.listTopics()).not.toContain(missing);
      } finally {
        await admin.disconnect();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('nginx', () => {
  test(
    'answers its own health endpoint whether or not a bridge instance is up',
    async () => {
      const response = await fetch(`${stackSettings.lbUrl}/nginx-health`, {
        signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
      });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok');
    },
    TEST_TIMEOUT_MS,
  );
});
