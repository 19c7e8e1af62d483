/**
 * The RabbitMQ side of the change feed, declared by the project and by nobody else: the stack's
 * declare step (changefeed/declare.ts) runs it before `tigerbeetle amqp` starts, and the relay
 * runs it again on every connection, so a broker that lost its definitions heals on its own.
 *
 *   tigerbeetle amqp ─▶ exchange ledger.cdc ─▶ queue ledger.cdc.relay (quorum) ─▶ relay
 *                         (fanout)               │ rejected, or delivered
 *                                                ▼ DELIVERY_LIMIT times
 *                       exchange ledger.cdc.dlx ─▶ queue ledger.cdc.relay.dead
 *
 * Why these choices:
 * - fanout: TigerBeetle publishes with an empty routing key (no --publish-routing-key), and every
 *   queue bound to the exchange should see every event;
 * - no alternate exchange, on purpose: TigerBeetle publishes `mandatory` and exits on a returned
 *   message, so with no queue bound the job stops (and its supervisor retries) with the events
 *   still in the ledger, instead of advancing its progress past events nobody stored;
 * - a quorum queue: its Raft log is fsync'd before a publish is confirmed (TigerBeetle advances
 *   its progress only on confirms), it is the replicated type in a 3-node production cluster
 *   (classic mirroring is deprecated), and only quorum queues count deliveries, so a message that
 *   kills the relay every time it is read is set aside after DELIVERY_LIMIT tries instead of
 *   stalling the feed;
 * - at-least-once dead-lettering (with `reject-publish` overflow, which it requires): a
 *   dead-lettered message is removed from the source only once the dead-letter queue has it;
 * - a length limit in bytes (QUEUE_BYTES_MAX), so a relay that is down for days stops the feed,
 *   not the broker;
 * - a single active consumer: a second relay is a standby, never a second reader, so each
 *   account's events reach Kafka in order.
 *
 * A queue's arguments are fixed when it is created: redeclaring it with others fails
 * (PRECONDITION_FAILED). Changing them means a new queue name, bound beside the old one.
 */
import type { Channel } from 'amqplib';

export interface ChangeTopology {
  /** Where `tigerbeetle amqp` publishes (--publish-exchange). */
  exchange: string;
  /** The relay's queue. */
  queue: string;
  deadLetterExchange: string;
  deadLetterQueue: string;
  /**
   * RabbitMQ deletes both queues once unused this long (x-expires, ms): for tests' queues bound
   * to the live exchange, which must not fill up after a crashed run. Never for the relay's own.
   */
  expiresMs?: number;
}

/**
 * Deliveries of one message before RabbitMQ dead-letters it. A relay killed mid-batch returns its
 * whole prefetch window, so each kill counts once for every message in it: 50 tolerates that many
 * crashes of the relay in a row while Kafka is healthy, and still parks a message that crashes
 * the process on every read.
 */
export const DELIVERY_LIMIT = 50;

/**
 * The relay's queue holds at most this many bytes of messages (~1.6 million events of ~1.3 KiB).
 * Past it RabbitMQ refuses TigerBeetle's publishes, the CDC job exits and its supervisor retries
 * until the relay has drained the queue: the backlog waits in the ledger, where it is kept anyway,
 * instead of filling the broker's disk. Nothing is lost (the job resumes from its last confirm).
 */
export const QUEUE_BYTES_MAX = 2 * 1024 * 1024 * 1024;

export function changeTopology(settings: {
  exchange: string;
  queue: string;
  expiresMs?: number;
}): ChangeTopology {
  return {
    exchange: settings.exchange,
    queue: settings.queue,
    deadLetterExchange: `${settings.exchange}.dlx`,
    deadLetterQueue: `${settings.queue}.dead`,
    ...(settings.expiresMs === undefined ? {} : { expiresMs: settings.expiresMs }),
  };
}

export interface DeclaredTopology {
  /** Messages ready in the relay's queue (not counting those delivered and unacknowledged). */
  queueMessages: number;
  queueConsumers: number;
  deadLetterMessages: number;
}

/** Declares everything, idempotently; a mismatch with what exists closes the channel. */
export async function declareTopology(
  channel: Channel,
  topology: ChangeTopology,
): Promise<DeclaredTopology> {
  await channel.assertExchange(topology.exchange, 'fanout', { durable: true, autoDelete: false });
  await channel.assertExchange(topology.deadLetterExchange, 'fanout', {
    durable: true,
    autoDelete: false,
  });
  const expires = topology.expiresMs === undefined ? {} : { 'x-expires': topology.expiresMs };
  const dead = await channel.assertQueue(topology.deadLetterQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum', ...expires },
  });
  await channel.bindQueue(topology.deadLetterQueue, topology.deadLetterExchange, '');
  const queue = await channel.assertQueue(topology.queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': DELIVERY_LIMIT,
      'x-dead-letter-exchange': topology.deadLetterExchange,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      'x-max-length-bytes': QUEUE_BYTES_MAX,
      'x-single-active-consumer': true,
      ...expires,
    },
  });
  await channel.bindQueue(topology.queue, topology.exchange, '');
  return {
    queueMessages: queue.messageCount,
    queueConsumers: queue.consumerCount,
    deadLetterMessages: dead.messageCount,
  };
}
