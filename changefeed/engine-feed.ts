/**
 * The embedded engine's CDC job: what `tigerbeetle amqp` (TigerBeetle's src/cdc/runner.zig) does
 * for a cluster, done for the engine, so the projections read one feed whatever the ledger. It
 * reads the engine's change events in timestamp order (`changes`, TigerBeetle's
 * get_change_events: in process, or over the engine server's wire) and publishes each one, encoded
 * byte for byte as TigerBeetle does (events/change.ts), to the exchange, `mandatory`, persistent,
 * with publisher confirms. Like TigerBeetle's job:
 *
 * - the exchange must pre-exist (checked passively at start);
 * - one job per engine: it holds an exclusive, auto-deleted "locker" queue
 *   `ledger.engine.internal.locker.<engine id>`, so a second one fails at start;
 * - its progress is the last confirmed timestamp, kept as the one message of a durable queue
 *   `ledger.engine.internal.progress.<engine id>` (max-length 1, drop-head), published after
 *   each batch's confirms and read (then requeued) on start; a restart resumes after it, so
 *   delivery is at least once and a batch cut short is published again;
 * - with nothing new it waits `idleIntervalMs` before asking again;
 * - any AMQP trouble (a refused declaration, a returned or nacked message, a closed channel, no
 *   confirm within `amqpTimeoutMs`) ends it with an EngineFeedError: its supervisor restarts it.
 *
 * One deliberate difference: the progress header `timestamp` is a decimal string, not an AMQP
 * long. amqplib reads and writes longs as JavaScript numbers, which round a nanosecond timestamp
 * (above 2^53) and could move the resume point past an unpublished event.
 *
 * As in TigerBeetle, an event recorded below the progress after it was published (an imported
 * transfer dated before an expiry already sent) is never published.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import type { Logger } from '../core/logger';
import { changeAmqpProperties, encodeChange, type LedgerChange } from '../events/change';
import { CHANGE_EVENTS_MAX } from '../ledger/engine/changes';
import {
  amqpError,
  EngineFeedError,
  FEED_RELEASE,
  feedQueues,
  lockerQueue,
  parseProgress,
  progressQueue,
} from './engine-feed-queues';

export { EngineFeedError, type EngineFeedErrorCode, feedQueues } from './engine-feed-queues';

/** What the job reads: the embedded ledger, or the engine server's client. */
export interface ChangeSource {
  changes(timestampMin: bigint, limit: number): Promise<LedgerChange[]>;
}

export const FEED_EXCHANGE_DEFAULT = 'ledger.cdc';
/** TigerBeetle's defaults: --idle-interval-ms 1000, --amqp-timeout-seconds 30. */
const IDLE_INTERVAL_MS_DEFAULT = 1_000;
const AMQP_TIMEOUT_MS_DEFAULT = 30_000;

export interface EngineFeedOptions {
  source: ChangeSource;
  /** Owned by the caller: the job opens one confirm channel on it. */
  connection: ChannelModel;
  /** Names the progress and locker queues, as TigerBeetle's cluster id does. */
  engineId: string;
  exchange?: string;
  routingKey?: string;
  /** Events per batch: at most CHANGE_EVENTS_MAX (the default). */
  eventCountMax?: number;
  idleIntervalMs?: number;
  amqpTimeoutMs?: number;
  /** Resume after this timestamp instead of the recorded progress (TigerBeetle's --timestamp-last). */
  timestampLast?: bigint;
  logger?: Logger;
}

export interface EngineFeed {
  /** Resolves once stopped; rejects with the EngineFeedError that ended the job. */
  readonly done: Promise<void>;
  /** The last timestamp RabbitMQ confirmed (0n: none yet). */
  timestampLast(): bigint;
  /** Finishes the batch in flight, releases the lock, closes the channel. */
  stop(): Promise<void>;
}

/** Checks the exchange, takes the lock, reads the progress; then publishes until stopped. */
export async function startEngineFeed(options: EngineFeedOptions): Promise<EngineFeed> {
  const job = new FeedJob(options);
  try {
    await job.recover();
  } catch (error) {
    job.requestStop();
    await job.release();
    throw error;
  }
  const done = job.run();
  done.catch(() => undefined); // the caller's to observe
  return {
    done,
    timestampLast: () => job.consumerTimestamp,
    stop: async () => {
      job.requestStop();
      await done.catch(() => undefined);
      await job.release();
    },
  };
}

class FeedJob {
  consumerTimestamp = 0n;
  private channel: ConfirmChannel | null = null;
  private failure: EngineFeedError | null = null;
  /** Waiting AMQP steps, cut short by a failure (registered per step, never left behind). */
  private readonly onFailure = new Set<(error: EngineFeedError) => void>();
  private stopping = false;
  private wake: (() => void) | null = null;
  private readonly queues: { progress: string; locker: string };
  private readonly exchange: string;
  private readonly eventCountMax: number;

  constructor(private readonly options: EngineFeedOptions) {
    this.queues = feedQueues(options.engineId);
    this.exchange = options.exchange ?? FEED_EXCHANGE_DEFAULT;
    this.eventCountMax = Math.min(options.eventCountMax ?? CHANGE_EVENTS_MAX, CHANGE_EVENTS_MAX);
    if (!Number.isInteger(this.eventCountMax) || this.eventCountMax < 1) {
      throw new RangeError(
        `eventCountMax must be a positive integer, got ${options.eventCountMax}`,
      );
    }
    if (!/^[0-9A-Za-z_.-]{1,64}$/.test(options.engineId)) {
      throw new RangeError(`engineId ${JSON.stringify(options.engineId)}: 1-64 of [0-9A-Za-z_.-]`);
    }
  }

  private get amqpTimeoutMs(): number {
    return this.options.amqpTimeoutMs ?? AMQP_TIMEOUT_MS_DEFAULT;
  }

  /** TigerBeetle's `recover`: exchange, locker queue, progress queue, progress message. */
  async recover(): Promise<void> {
    const channel = await this.amqp('open a confirm channel', () =>
      this.options.connection.createConfirmChannel(),
    );
    this.channel = channel;
    channel.on('return', (message: { fields: { exchange: string; routingKey: string } }) =>
      this.fail(
        new EngineFeedError(
          'unroutable',
          `message returned unroutable: exchange "${message.fields.exchange}" routing key ` +
            `"${message.fields.routingKey}" (no queue bound?)`,
        ),
      ),
    );
    channel.on('error', (error: Error) => this.fail(amqpError(error, 'channel error')));
    channel.on('close', () => {
      if (!this.stopping) this.fail(new EngineFeedError('amqp_closed', 'the channel closed'));
    });
    if (this.exchange !== '') {
      await this.amqp(`check exchange ${this.exchange}`, () =>
        channel.checkExchange(this.exchange),
      );
    }
    await this.amqp(`declare ${this.queues.locker}`, () =>
      channel.assertQueue(this.queues.locker, lockerQueue),
    );
    await this.amqp(`declare ${this.queues.progress}`, () =>
      channel.assertQueue(this.queues.progress, progressQueue),
    );
    this.consumerTimestamp = this.options.timestampLast ?? (await this.readProgress(channel));
    this.options.logger?.info(
      { exchange: this.exchange, ...this.queues, timestampLast: String(this.consumerTimestamp) },
      'engine change feed: recovered',
    );
  }

  /** The progress message's timestamp, put back (nack, requeue); 0n when there is none. */
  private async readProgress(channel: ConfirmChannel): Promise<bigint> {
    const message = await this.amqp(`get ${this.queues.progress}`, () =>
      channel.get(this.queues.progress, { noAck: false }),
    );
    if (message === false) return 0n;
    if (message.fields.messageCount > 0) {
      throw new EngineFeedError(
        'progress_invalid',
        `${this.queues.progress} holds ${message.fields.messageCount + 1} messages, not one`,
      );
    }
    channel.nack(message, false, true);
    return parseProgress(this.queues.progress, message.properties.headers);
  }

  requestStop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** Deletes the lock (it would outlive the job while the caller keeps the connection). */
  async release(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    if (channel === null) return;
    await channel.deleteQueue(this.queues.locker).catch(() => undefined);
    await channel.close().catch(() => undefined);
  }

  /** The producer and consumer of TigerBeetle's job, one batch at a time. */
  async run(): Promise<void> {
    while (!this.stopping) {
      if (this.failure) throw this.failure;
      const events = await this.read(this.consumerTimestamp + 1n);
      if (events.length === 0) {
        await this.idle();
        continue;
      }
      await this.publish(events);
    }
    if (this.failure) throw this.failure;
  }

  private async read(timestampMin: bigint): Promise<LedgerChange[]> {
    let events: LedgerChange[];
    try {
      events = await this.options.source.changes(timestampMin, this.eventCountMax);
    } catch (error) {
      throw new EngineFeedError('source_failed', `get_change_events: ${(error as Error).message}`);
    }
    let previous = timestampMin - 1n;
    for (const event of events) {
      if (event.timestamp <= previous) {
        throw new EngineFeedError(
          'source_out_of_order',
          `get_change_events returned ${event.timestamp} after ${previous} (from ${timestampMin})`,
        );
      }
      previous = event.timestamp;
    }
    if (events.length > this.eventCountMax) {
      throw new EngineFeedError('source_out_of_order', `${events.length} events for a limit`);
    }
    return events;
  }

  /** Publishes a batch, waits for its confirms, then records the progress and waits again. */
  private async publish(events: readonly LedgerChange[]): Promise<void> {
    const channel = this.channel!;
    const routingKey = this.options.routingKey ?? '';
    for (const event of events) {
      const properties = { ...changeAmqpProperties(event), mandatory: true };
      if (!this.send(channel, this.exchange, routingKey, encodeChange(event), properties)) {
        await this.amqp('drain the channel', () => once(channel, 'drain'));
      }
    }
    await this.amqp(`confirm ${events.length} events`, () => channel.waitForConfirms());
    if (this.failure) throw this.failure;
    const last = events[events.length - 1]!.timestamp;
    this.send(channel, '', this.queues.progress, Buffer.alloc(0), {
      deliveryMode: 2,
      mandatory: true,
      timestamp: Date.now(),
      headers: { release: FEED_RELEASE, timestamp: last.toString() },
    });
    await this.amqp('confirm the progress', () => channel.waitForConfirms());
    if (this.failure) throw this.failure;
    this.consumerTimestamp = last;
    this.options.logger?.debug(
      { events: events.length, timestampLast: String(last) },
      'engine change feed: published',
    );
  }

  /** amqplib's publish, whose synchronous throw (a closed channel) becomes a typed failure. */
  private send(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    body: Buffer,
    properties: Options.Publish,
  ): boolean {
    if (this.failure) throw this.failure;
    try {
      return channel.publish(exchange, routingKey, body, properties);
    } catch (error) {
      throw amqpError(error as Error, `publish to "${exchange}"`);
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.idleIntervalMs ?? IDLE_INTERVAL_MS_DEFAULT);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private fail(error: EngineFeedError): void {
    this.failure ??= error;
    for (const abort of this.onFailure) abort(this.failure);
    this.wake?.();
  }

  /** One AMQP step: its error typed, bounded by the AMQP timeout, cut short by a failure. */
  private async amqp<T>(what: string, step: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    let timer: NodeJS.Timeout | undefined;
    let abort: ((error: EngineFeedError) => void) | undefined;
    const cut = new Promise<never>((_, reject) => {
      abort = reject;
      timer = setTimeout(
        () =>
          reject(
            new EngineFeedError('amqp_timeout', `${what}: no reply in ${this.amqpTimeoutMs} ms`),
          ),
        this.amqpTimeoutMs,
      );
    });
    this.onFailure.add(abort!);
    try {
      return await Promise.race([step(), cut]);
    } catch (error) {
      throw error instanceof EngineFeedError ? error : amqpError(error as Error, what);
    } finally {
      clearTimeout(timer);
      this.onFailure.delete(abort!);
    }
  }
}

function once(channel: ConfirmChannel, event: string): Promise<void> {
  return new Promise((resolve) => channel.once(event, () => resolve()));
}
