/**
 * The reader's two Redis connections (commands, and a subscriber: a connection in subscriber mode
 * can do nothing else) and their health.
 *
 * A cache must never make a read slower than the ledger would: every command has a timeout, the
 * command connection has no offline queue (while disconnected a command fails at once instead of
 * waiting), and after `failuresMax` failures in a row the link is unhealthy and the reader skips
 * Redis until a probe (PING every `probeMs`) answers. ioredis reconnects with backoff and
 * re-subscribes by itself. When the link becomes healthy again `onRecovered` runs: invalidations
 * published while it was down were missed, so the reader drops its L1 wholesale.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../../core/logger';

export interface RedisLinkOptions {
  url: string;
  /** Longest a Redis command may take before the read falls through to the ledger (ms). */
  commandTimeoutMs: number;
  /** Longest a (re)connection attempt may take (ms). */
  connectTimeoutMs: number;
  /** Consecutive command failures after which Redis is skipped until a probe answers. */
  failuresMax: number;
  /** Probe period while unhealthy (ms). */
  probeMs: number;
  logger?: Logger;
}

/** Reconnection backoff: 50 ms, 100 ms, … capped here (ms). */
const RECONNECT_DELAY_MS_MAX = 1_000;

export class RedisLink {
  readonly commands: Redis;
  readonly subscriber: Redis;
  private failures = 0;
  private healthy = false;
  private probe: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly recoveredHandlers: Array<() => void> = [];
  /** Times the link went from unhealthy to healthy after having been healthy once. */
  recoveries = 0;
  private everHealthy = false;

  constructor(private readonly options: RedisLinkOptions) {
    const base: RedisOptions = {
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 50, RECONNECT_DELAY_MS_MAX),
      lazyConnect: false,
    };
    this.commands = new Redis(options.url, {
      ...base,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      connectionName: 'ledger-bridge:balances',
    });
    // The subscriber keeps its offline queue: SUBSCRIBE issued before the first connect waits.
    this.subscriber = new Redis(options.url, {
      ...base,
      commandTimeout: undefined,
      connectionName: 'ledger-bridge:balances-sub',
    });
    for (const [name, client] of [
      ['commands', this.commands],
      ['subscriber', this.subscriber],
    ] as const) {
      client.on('error', (error: Error) => {
        options.logger?.debug({ err: error, connection: name }, 'redis connection error');
      });
      client.on('ready', () => {
        // A fresh connection: failures of the old one say nothing about it.
        if (client === this.commands) this.failures = 0;
        this.evaluate();
      });
      client.on('close', () => this.evaluate());
      client.on('end', () => this.evaluate());
    }
  }

  /** True while reads use L2 and invalidations reach other instances. */
  isHealthy(): boolean {
    return this.healthy;
  }

  /** Runs `handler` on every unhealthy → healthy transition, the first one included. */
  onRecovered(handler: () => void): void {
    this.recoveredHandlers.push(handler);
  }

  /** Runs a command: its result, or undefined (and a recorded failure) when Redis failed. */
  async run<T>(command: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    if (!this.healthy) return undefined;
    // ioredis starts a command's timeout only when its auto-pipeline is written, and holds that
    // pipeline until the previous one on the connection has answered: behind a hung Redis a read
    // would wait for the pipeline ahead of it and then for its own timeout. The caller's wait is
    // bounded here, once, from the call.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis command over ${this.options.commandTimeoutMs} ms`)),
        this.options.commandTimeoutMs,
      );
    });
    const running = command(this.commands);
    try {
      const result = await Promise.race([running, deadline]);
      this.failures = 0;
      return result;
    } catch (error) {
      // The command itself may still fail later: observed, so it is never an unhandled rejection.
      running.catch(() => undefined);
      this.recordFailure(error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopProbe();
    this.healthy = false;
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private recordFailure(error: unknown): void {
    this.failures += 1;
    this.options.logger?.debug({ err: error, failures: this.failures }, 'redis command failed');
    if (this.failures >= this.options.failuresMax) this.evaluate();
  }

  private connected(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  private evaluate(): void {
    if (this.closed) return;
    const wasHealthy = this.healthy;
    this.healthy = this.connected() && this.failures < this.options.failuresMax;
    if (this.healthy && !wasHealthy) {
      this.stopProbe();
      // Also the first time: reads served while Redis was unreachable at start filled L1
      // without hearing any invalidation.
      if (this.everHealthy) {
        this.recoveries += 1;
        this.options.logger?.info('redis healthy again: dropping L1, replaying invalidations');
      }
      this.everHealthy = true;
      for (const handler of this.recoveredHandlers) handler();
    } else if (!this.healthy && wasHealthy) {
      this.options.logger?.warn(
        { failures: this.failures },
        'redis unhealthy: balances from L1 and the ledger only',
      );
    }
    if (!this.healthy && this.connected()) this.startProbe();
  }

  /** While connected but failing (a hung server), PING until it answers. */
  private startProbe(): void {
    if (this.probe !== null) return;
    this.probe = setInterval(() => {
      this.commands.ping().then(
        () => {
          this.failures = 0;
          this.evaluate();
        },
        () => undefined,
      );
    }, this.options.probeMs);
    this.probe.unref();
  }

  private stopProbe(): void {
    if (this.probe !== null) clearInterval(this.probe);
    this.probe = null;
  }
}
