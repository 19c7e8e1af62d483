/**
 * Read routing over PostgreSQL streaming replicas, by measured replay lag.
 *
 * Every `pollMs` the router reads the primary's WAL position (`pg_current_wal_lsn()`) and each
 * replica's replayed position (`pg_last_wal_replay_lsn()`). Lag is measured two ways:
 *   - bytes: primary position − replayed position;
 *   - time: how long ago the primary was last seen at a position the replica has not replayed
 *     (from the primary positions sampled at each poll). An idle primary with a caught-up replica
 *     is 0 ms behind — unlike `now() − pg_last_xact_replay_timestamp()`, which grows while
 *     nothing is written.
 * `pick()` answers a replica that answered its last poll, is within `lagMsMax` (and `lagBytesMax`),
 * and — given `minLsn` — has replayed at least that position; several such replicas take turns.
 * Otherwise it answers the primary: a read is never sent where it could see older data than the
 * bound allows.
 *
 * Reads with a projection consistency token (a Kafka position, bridge/src/journal/consistency.ts)
 * must read the checkpoint and the data on the same server: call `pick()` once per request and
 * give the chosen pool to both `awaitConsistency` (ConsistencyDeps.db) and the data query. The
 * checkpoint row replicates with the data it covers, so a replica that shows the checkpoint past
 * the token also holds the rows; the wait (CONSISTENCY_WAIT_MS) absorbs the replica's lag, which
 * `lagMsMax` keeps well below it.
 */
import { InvariantError } from '../assert';
import type pg from 'pg';
import type { Logger } from '../logger';
import { createDirectPool, type Queryable } from './pool';

export interface ReplicaSettings {
  /** Name in metrics and logs, e.g. 'replica1'. */
  name: string;
  url: string;
}

export interface ReplicaRouterOptions {
  /** The primary (through PgBouncer): the fallback, and where the WAL position is read. */
  primary: Queryable;
  replicas: ReplicaSettings[];
  /** Connections per replica pool. */
  poolMax: number;
  /** Lag poll period (ms). */
  pollMs: number;
  /** A replica further behind than this is not used (ms). */
  lagMsMax: number;
  /** ... or than this many bytes of WAL (undefined: time only). */
  lagBytesMax?: number;
  /** Longest a poll query may take before the replica counts as down (ms). */
  pollTimeoutMs?: number;
  /** Schemas first on replica connections (tests). */
  searchPath?: string[];
  logger?: Logger;
  now?: () => number;
}

export interface ReplicaLag {
  name: string;
  /** Answered its last poll and is in recovery. */
  up: boolean;
  /** Null until measured. */
  lagBytes: number | null;
  lagMs: number | null;
  replayLsn: string | null;
  /** Whether `pick()` (without minLsn) would use it now. */
  eligible: boolean;
}

export interface Picked {
  /** 'primary' or the replica's name. */
  name: string;
  db: Queryable;
}

interface ReplicaState {
  settings: ReplicaSettings;
  pool: pg.Pool;
  up: boolean;
  replayLsn: bigint | null;
  lagBytes: number | null;
  lagMs: number | null;
}

/** Primary positions remembered for the time lag: enough for lagMsMax at any sane poll period. */
const SAMPLES_MAX = 600;
const DEFAULT_POLL_TIMEOUT_MS = 1_000;

/** `X/Y` (two hex halves) as a byte position. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (match === null) throw new Error(`'${text}' is not a WAL position`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  const hex = (n: bigint) => n.toString(16).toUpperCase();
  return `${hex(lsn >> 32n)}/${hex(lsn & 0xffffffffn)}`;
}

export class ReplicaRouter {
  private readonly replicas: ReplicaState[];
  /** Primary positions by poll time, oldest first. */
  private readonly samples: Array<{ lsn: bigint; atMs: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private turn = 0;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: ReplicaRouterOptions) {
    if (options.pollMs < 1 || options.lagMsMax < 0 || options.poolMax < 1) {
      throw new InvariantError('replica router limits');
    }
    this.now = options.now ?? Date.now;
    const timeoutMs = options.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;
    this.replicas = options.replicas.map((settings) => ({
      settings,
      pool: createDirectPool({
        url: settings.url,
        max: options.poolMax,
        applicationName: `ledger-bridge:${settings.name}`,
        connectTimeoutMs: timeoutMs,
        searchPath: options.searchPath,
        logger: options.logger,
      }),
      up: false,
      replayLsn: null,
      lagBytes: null,
      lagMs: null,
    }));
  }

  /** Measures once (so the first reads can use replicas), then every pollMs. */
  async start(): Promise<void> {
    await this.poll();
    this.schedule();
  }

  /** A replica within the bound (and past `minLsn`), else the primary. */
  pick(options: { minLsn?: string | bigint } = {}): Picked {
    const minLsn =
      options.minLsn === undefined
        ? null
        : typeof options.minLsn === 'bigint'
          ? options.minLsn
          : parseLsn(options.minLsn);
    const eligible = this.replicas.filter(
      (r) => this.eligible(r) && (minLsn === null || (r.replayLsn ?? -1n) >= minLsn),
    );
    if (eligible.length === 0) return { name: 'primary', db: this.options.primary };
    const chosen = eligible[this.turn++ % eligible.length]!;
    return { name: chosen.settings.name, db: chosen.pool };
  }

  /** Lag per replica, for metrics and /ready. */
  lag(): ReplicaLag[] {
    return this.replicas.map((r) => ({
      name: r.settings.name,
      up: r.up,
      lagBytes: r.lagBytes,
      lagMs: r.lagMs,
      replayLsn: r.replayLsn === null ? null : formatLsn(r.replayLsn),
      eligible: this.eligible(r),
    }));
  }

  /** Measures now (tests; also what the timer runs). */
  async poll(): Promise<void> {
    if (this.polling !== null) return this.polling;
    this.polling = this.measure().finally(() => (this.polling = null));
    return this.polling;
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.polling;
    await Promise.all(this.replicas.map((r) => r.pool.end()));
  }

  private eligible(r: ReplicaState): boolean {
    if (!r.up || r.lagMs === null || r.lagMs > this.options.lagMsMax) return false;
    const bytesMax = this.options.lagBytesMax;
    return bytesMax === undefined || (r.lagBytes !== null && r.lagBytes <= bytesMax);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.poll().then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, this.options.pollMs);
    this.timer.unref();
  }

  private async measure(): Promise<void> {
    // Replicas first: a position the primary had before the replica's was read cannot count
    // against the replica. Then the primary's position is at least every replayed one.
    const replays = await Promise.all(this.replicas.map((r) => this.replayOf(r)));
    let primaryLsn: bigint | null = null;
    try {
      const { rows } = await this.options.primary.query<{ lsn: string }>(
        'SELECT pg_current_wal_lsn()::text AS lsn',
      );
      primaryLsn = parseLsn(rows[0]!.lsn);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'replica router: primary WAL position unknown');
    }
    const atMs = this.now();
    if (primaryLsn !== null) this.remember(primaryLsn, atMs);
    this.replicas.forEach((r, i) => this.judge(r, replays[i]!, primaryLsn, atMs));
  }

  private async replayOf(r: ReplicaState): Promise<bigint | null> {
    try {
      const { rows } = await withTimeout(
        r.pool.query<{ lsn: string | null; standby: boolean }>(
          'SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_is_in_recovery() AS standby',
        ),
        this.options.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS,
      );
      const row = rows[0]!;
      // A promoted replica is a primary of its own: never read from it as a replica.
      if (!row.standby || row.lsn === null) return null;
      return parseLsn(row.lsn);
    } catch (error) {
      if (r.up) this.options.logger?.warn({ err: error, replica: r.settings.name }, 'replica down');
      return null;
    }
  }

  private judge(r: ReplicaState, replay: bigint | null, primary: bigint | null, atMs: number) {
    if (replay === null || primary === null) {
      r.up = replay !== null;
      r.replayLsn = replay ?? r.replayLsn;
      r.lagBytes = null;
      r.lagMs = null;
      return;
    }
    if (!r.up) this.options.logger?.info({ replica: r.settings.name }, 'replica up');
    r.up = true;
    r.replayLsn = replay;
    r.lagBytes = primary > replay ? Number(primary - replay) : 0;
    // The oldest sample the replica has not reached: it is missing WAL that existed then.
    const behind = this.samples.find((sample) => sample.lsn > replay);
    r.lagMs = behind === undefined ? 0 : atMs - behind.atMs;
  }

  private remember(lsn: bigint, atMs: number): void {
    const last = this.samples[this.samples.length - 1];
    // One sample per position: the first time the primary was seen there is what counts.
    if (last === undefined || last.lsn < lsn) this.samples.push({ lsn, atMs });
    if (this.samples.length > SAMPLES_MAX) this.samples.shift();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
