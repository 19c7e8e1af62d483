/**
 * Dependency health for /metrics: at each scrape, `SELECT 1` on each registered pool (PgBouncer,
 * the replicas), bounded by a timeout. Checks of one scrape run in parallel; a check still running
 * from an earlier scrape is awaited rather than doubled, so a hung database never piles up
 * queries.
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { BridgeMetrics } from './metrics';

/** A health check slower than this counts as down (ms): a scrape must not hang on it. */
export const HEALTH_TIMEOUT_MS_DEFAULT = 1_000;

export interface HealthResult {
  up: boolean;
  ms: number;
}

export function checkPool(
  pool: Queryable,
  timeoutMs = HEALTH_TIMEOUT_MS_DEFAULT,
): Promise<HealthResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const query = pool.query('SELECT 1').then(
    () => true,
    () => false,
  );
  return Promise.race([query, timeout]).then((up) => {
    clearTimeout(timer);
    return { up, ms: performance.now() - started };
  });
}

/** Registers pools by dependency name; their gauges are refreshed when /metrics is collected. */
export function dependencyHealth(
  m: BridgeMetrics,
  pools: Record<string, Queryable>,
  timeoutMs = HEALTH_TIMEOUT_MS_DEFAULT,
): { check(): Promise<Record<string, HealthResult>> } {
  const running = new Map<string, Promise<HealthResult>>();
  const check = async (): Promise<Record<string, HealthResult>> => {
    const entries = await Promise.all(
      Object.entries(pools).map(async ([name, pool]) => {
        let pending = running.get(name);
        if (pending === undefined) {
          pending = checkPool(pool, timeoutMs).finally(() => running.delete(name));
          running.set(name, pending);
        }
        const result = await pending;
        m.dependencyUp.set({ dependency: name }, result.up ? 1 : 0);
        m.dependencyCheckDuration.set({ dependency: name }, result.ms / 1_000);
        return [name, result] as const;
      }),
    );
    return Object.fromEntries(entries);
  };
  // prom-client awaits an async collect(): the gauges are fresh in the same scrape.
  const gauge = m.dependencyUp as unknown as { collect?: () => Promise<void> };
  gauge.collect = async () => {
    await check();
  };
  return { check };
}
