/**
 * The relay's RabbitMQ side: one connection and one consuming channel on the change queue, with
 * a prefetch window, re-opened with backoff whenever either closes (broker restart, network cut,
 * a channel error), forever until `stop()`. Each channel has a generation number; a delivery
 * carries its generation, and an acknowledgement for an older generation is dropped (its delivery
 * tags died with that channel, and RabbitMQ redelivers what it never saw acknowledged).
 *
 * The topology is declared on every connection (changefeed/topology.ts), and the queue is
 * consumed by one relay at a time (single active consumer): a second relay waits as a standby and
 * takes over when the first one's connection goes, so per-account order is never split.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { Logger } from '../core/logger';
import { Nap } from './nap';
import type { Delivery } from './records';
import { type ChangeTopology, declareTopology } from './topology';

export interface SourceDelivery extends Delivery {
  generation: number;
  deliveryTag: number;
}

export interface AmqpSourceOptions {
  url: string;
  topology: ChangeTopology;
  prefetch: number;
  /** Called for every delivery, in delivery order. */
  onDelivery(delivery: SourceDelivery): void;
  /** Called when a channel is lost: every delivery of `generation` is void. */
  onLost(generation: number): void;
  logger: Logger;
}

/** AMQP heartbeat (s): a silent broker or cut link is noticed within two of these. */
const HEARTBEAT_S = 10;
/** A refused or silent broker must not hold a connection attempt longer (ms). */
const CONNECT_TIMEOUT_MS = 5_000;
/** Backoff between connection attempts: 250 ms doubling to 30 s. */
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 30_000;

/** amqplib's connect options from an amqp:// URL, with our heartbeat unless the URL sets one. */
export function connectOptions(url: string): amqp.Options.Connect {
  const parsed = new URL(url);
  const vhost = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    protocol: parsed.protocol.replace(/:$/, ''),
    hostname: parsed.hostname,
    port: parsed.port === '' ? 5672 : Number(parsed.port),
    username: decodeURIComponent(parsed.username) || 'guest',
    password: decodeURIComponent(parsed.password) || 'guest',
    vhost: vhost === '' ? '/' : vhost,
    heartbeat: Number(parsed.searchParams.get('heartbeat') ?? HEARTBEAT_S),
  };
}

export class AmqpSource {
  private connection: ChannelModel | null = null;
  private channel: Channel | null = null;
  private generation = 0;
  private stopping = false;
  private connected: Promise<void> | null = null;
  private readonly nap = new Nap();
  private consumerTag: string | null = null;
  /** Channel openings so far (1 after the first connection). */
  connections = 0;

  constructor(private readonly options: AmqpSourceOptions) {}

  /** Starts the connect loop; resolves once consuming (the loop retries until then). */
  start(): Promise<void> {
    let first: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (first = resolve));
    void this.run(first);
    return ready;
  }

  /** True while a consumer is registered on the queue (the active one, or a standby). */
  consumingNow(): boolean {
    return this.channel !== null && this.consumerTag !== null;
  }

  /** True while `generation`'s channel is the open one. */
  isCurrent(generation: number): boolean {
    return this.channel !== null && generation === this.generation;
  }

  /** Acknowledges every delivery up to `deliveryTag` on its channel (multiple=true). */
  ackUpTo(generation: number, deliveryTag: number): boolean {
    if (!this.isCurrent(generation)) return false;
    this.channel!.ack(tagged(deliveryTag), true);
    return true;
  }

  /** Rejects one delivery without requeue: RabbitMQ dead-letters it (the queue's DLX). */
  reject(generation: number, deliveryTag: number): boolean {
    if (!this.isCurrent(generation)) return false;
    this.channel!.nack(tagged(deliveryTag), false, false);
    return true;
  }

  /** Ready messages in the queue (passive declare), or null when the broker is not reachable. */
  async queueDepth(): Promise<number | null> {
    const connection = this.connection;
    if (connection === null) return null;
    let channel: Channel | null = null;
    try {
      channel = await connection.createChannel();
      channel.on('error', () => undefined);
      const reply = await channel.checkQueue(this.options.topology.queue);
      return reply.messageCount;
    } catch {
      return null;
    } finally {
      await channel?.close().catch(() => undefined);
    }
  }

  /** Stops new deliveries; those already delivered can still be acknowledged. */
  async pause(): Promise<void> {
    const channel = this.channel;
    const consumerTag = this.consumerTag;
    this.consumerTag = null;
    if (channel !== null && consumerTag !== null) {
      await channel.cancel(consumerTag).catch(() => undefined);
    }
  }

  /** Closes the connection: unacknowledged deliveries go back to the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.nap.wake();
    const connection = this.connection;
    this.connection = null;
    this.channel = null;
    await connection?.close().catch(() => undefined);
  }

  private async run(first: () => void): Promise<void> {
    let backoffMs = RECONNECT_MIN_MS;
    while (!this.stopping) {
      try {
        const { closed } = await this.open();
        first();
        backoffMs = RECONNECT_MIN_MS;
        await closed;
      } catch (error) {
        this.options.logger.warn(
          { err: error, retryInMs: backoffMs },
          'RabbitMQ connection failed; retrying',
        );
      }
      this.lose();
      if (this.stopping) break;
      await this.nap.sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, RECONNECT_MAX_MS);
    }
    first();
  }

  /**
   * Opens connection and channel, declares, consumes; resolves with a promise of the close (in
   * an object: a promise resolved with a promise would wait for that one).
   */
  private async open(): Promise<{ closed: Promise<void> }> {
    const { url, topology, prefetch, logger } = this.options;
    const connection = await amqp.connect(connectOptions(url), { timeout: CONNECT_TIMEOUT_MS });
    let closed: () => void = () => undefined;
    const whenClosed = new Promise<void>((resolve) => (closed = resolve));
    connection.on('error', (error: unknown) => logger.warn({ err: error }, 'RabbitMQ connection'));
    connection.on('close', () => closed());
    this.connection = connection;
    const channel = await connection.createChannel();
    channel.on('error', (error: unknown) => logger.warn({ err: error }, 'RabbitMQ channel error'));
    channel.on('close', () => {
      // A channel closed alone (e.g. a refused acknowledgement) takes the connection with it:
      // one path back, through a fresh connection.
      void connection.close().catch(() => undefined);
      closed();
    });
    const declared = await declareTopology(channel, topology);
    await channel.prefetch(prefetch, false);
    this.generation += 1;
    const generation = this.generation;
    this.channel = channel;
    const consumer = await channel.consume(
      topology.queue,
      (message) => this.deliver(generation, message),
      { noAck: false },
    );
    this.consumerTag = consumer.consumerTag;
    this.connections += 1;
    logger.info({ queue: topology.queue, prefetch, generation, ...declared }, 'consuming');
    return { closed: whenClosed };
  }

  private deliver(generation: number, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (queue deleted): start over on a fresh connection.
      this.options.logger.warn({ queue: this.options.topology.queue }, 'consumer cancelled');
      void this.connection?.close().catch(() => undefined);
      return;
    }
    const timestamp = message.properties.timestamp as unknown;
    this.options.onDelivery({
      generation,
      deliveryTag: message.fields.deliveryTag,
      body: message.content,
      exchange: message.fields.exchange,
      queue: this.options.topology.queue,
      redelivered: message.fields.redelivered,
      timestampS: typeof timestamp === 'number' ? timestamp : undefined,
    });
  }

  private lose(): void {
    const lost = this.generation;
    this.channel = null;
    this.consumerTag = null;
    const connection = this.connection;
    this.connection = null;
    void connection?.close().catch(() => undefined);
    this.options.onLost(lost);
  }
}

/** amqplib acknowledges by a message's delivery tag; the rest of the message is not read. */
function tagged(deliveryTag: number): amqp.Message {
  return { fields: { deliveryTag } } as amqp.Message;
}
