/**
 * The safe horizon: the TigerBeetle timestamp up to which PostgreSQL must already know every
 * transfer. The projections lag TigerBeetle by design (the outcome event is published after the
 * commit, and consumed asynchronously), so comparing anything newer would report, under load,
 * mismatches that heal by themselves a moment later. A false positive on a payments ledger pages
 * someone at night; a report delayed by a few seconds does not. So a horizon is only given when
 * it is proven, and the reconciler defers (compares nothing) otherwise.
 *
 * `kafkaCaughtUpHorizon` proves it: at wall time t0 it reads the outcome topic's high watermarks,
 * then waits (bounded) until the projection's checkpoints (`projection_checkpoint`, advanced in
 * the same transaction as the projected rows) reach them. Then every event published before t0 is
 * applied. An event is published right after its transfers commit, so every transfer committed
 * before t0 - settleDelay has its event applied, unless its publish took longer than the settle
 * delay: the bridge crashed or Kafka was down between commit and publish. Those are exactly the
 * "transfers without metadata" the reconciler exists to report (the client's retry completes
 * them). TigerBeetle timestamps are the cluster's wall clock in ns (strictly increasing), so the
 * horizon is (t0 - settleDelay) in ns; the settle delay also absorbs clock skew between hosts.
 *
 * `settledHorizon` only subtracts the settle delay: for tests that write PostgreSQL themselves,
 * and for a store known to be quiet. It proves nothing about lag.
 */
import type { Queryable } from '../../../core/postgres/pool';

export type HorizonResult =
  { kind: 'ready'; timestampNs: bigint; source: string } | { kind: 'deferred'; reason: string };

export interface HorizonSource {
  horizon(): Promise<HorizonResult>;
}

/** How long after a commit its outcome event is surely published, barring a crash (ms). */
export const SETTLE_DELAY_MS_DEFAULT = 5_000;
/** Longest wait for the projection to reach the high watermarks read at t0 (ms). */
export const CATCH_UP_WAIT_MS_DEFAULT = 30_000;
/** Between two reads of the checkpoints while waiting (ms). */
export const CATCH_UP_POLL_MS = 250;

const NS_PER_MS = 1_000_000n;

function msToNs(ms: number): bigint {
  return BigInt(Math.floor(ms)) * NS_PER_MS;
}

export function settledHorizon(options: {
  settleDelayMs?: number;
  clockMs?: () => number;
}): HorizonSource {
  const settleDelayMs = options.settleDelayMs ?? SETTLE_DELAY_MS_DEFAULT;
  const clockMs = options.clockMs ?? Date.now;
  return {
    horizon: () =>
      Promise.resolve({
        kind: 'ready',
        timestampNs: msToNs(clockMs() - settleDelayMs),
        source: `now - ${settleDelayMs} ms (settle delay only; projection lag not checked)`,
      }),
  };
}

/** What the horizon needs from Kafka: kafkajs's `Admin.fetchTopicOffsets` has this shape. */
export interface TopicOffsets {
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string }[]>;
}

export interface KafkaHorizonOptions {
  admin: TopicOffsets;
  db: Queryable;
  topic: string;
  /** The projection runner's consumer group, as it writes `projection_checkpoint`. */
  consumerGroup: string;
  settleDelayMs?: number;
  waitMs?: number;
  pollMs?: number;
  clockMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Partitions whose checkpoint is below the high watermark read at t0, with how far behind. */
async function behind(
  db: Queryable,
  options: KafkaHorizonOptions,
  highs: Map<number, bigint>,
): Promise<Map<number, bigint>> {
  const { rows } = await db.query<{ partition: number; next_offset: bigint | string }>(
    'SELECT partition, next_offset FROM projection_checkpoint ' +
      'WHERE consumer_group = $1 AND topic = $2',
    [options.consumerGroup, options.topic],
  );
  const applied = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  const lagging = new Map<number, bigint>();
  for (const [partition, high] of highs) {
    const next = applied.get(partition) ?? 0n;
    if (next < high) lagging.set(partition, high - next);
  }
  return lagging;
}

export function kafkaCaughtUpHorizon(options: KafkaHorizonOptions): HorizonSource {
  const settleDelayMs = options.settleDelayMs ?? SETTLE_DELAY_MS_DEFAULT;
  const waitMs = options.waitMs ?? CATCH_UP_WAIT_MS_DEFAULT;
  const pollMs = options.pollMs ?? CATCH_UP_POLL_MS;
  const clockMs = options.clockMs ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  return {
    async horizon() {
      const t0 = clockMs();
      const offsets = await options.admin.fetchTopicOffsets(options.topic);
      const highs = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
      for (;;) {
        const lagging = await behind(options.db, options, highs);
        if (lagging.size === 0) {
          return {
            kind: 'ready',
            timestampNs: msToNs(t0 - settleDelayMs),
            source:
              `projection '${options.consumerGroup}' caught up with ${options.topic} as of ` +
              `${new Date(t0).toISOString()}, minus ${settleDelayMs} ms settle delay`,
          };
        }
        if (clockMs() - t0 >= waitMs) {
          const list = [...lagging].map(([p, n]) => `partition ${p}: ${n} events`).join(', ');
          return {
            kind: 'deferred',
            reason:
              `projection '${options.consumerGroup}' did not reach the high watermarks of ` +
              `${options.topic} within ${waitMs} ms (behind: ${list})`,
          };
        }
        await sleep(pollMs);
      }
    },
  };
}

/**
 * The horizon of several sources at once (the outcome feed and the change feed): the earliest of
 * their horizons, so every feed has applied everything up to it; deferred when any one is.
 */
export function earliestHorizon(sources: readonly HorizonSource[]): HorizonSource {
  return {
    async horizon() {
      let earliest: bigint | null = null;
      const sourcesText: string[] = [];
      for (const source of sources) {
        const result = await source.horizon();
        if (result.kind === 'deferred') return result;
        sourcesText.push(result.source);
        if (earliest === null || result.timestampNs < earliest) earliest = result.timestampNs;
      }
      if (earliest === null) return { kind: 'deferred', reason: 'no horizon source' };
      return { kind: 'ready', timestampNs: earliest, source: sourcesText.join('; ') };
    },
  };
}

/** Each feed the projections follow, proven caught up the same way (kafkaCaughtUpHorizon). */
export function feedsCaughtUpHorizon(
  options: Omit<KafkaHorizonOptions, 'topic' | 'consumerGroup'> & {
    feeds: readonly { topic: string; consumerGroup: string }[];
  },
): HorizonSource {
  const { feeds, ...common } = options;
  return earliestHorizon(feeds.map((feed) => kafkaCaughtUpHorizon({ ...common, ...feed })));
}
