/**
 * Reads the projection workers' reconciliation gauge from their /metrics (projections/src/
 * metrics.ts), so the bridge's own SLO view knows the reconciler's verdict: the reconciler runs in
 * the worker, not here. Only one unlabelled gauge is needed, so this scans lines instead of
 * parsing the whole exposition format. Each fetch is bounded; an unreachable worker is reported
 * and counts as unknown.
 */

/** The worker's gauge (projections/src/metrics.ts). */
export const WORKER_MISMATCH_GAUGE = 'ledger_projections_reconcile_mismatches';
export const WORKER_FETCH_TIMEOUT_MS = 1_000;

export interface WorkerGauges {
  /** The largest count any worker reports; null when none knows (no run yet, or unreachable). */
  mismatches: number | null;
  failures: Error[];
}

export async function readWorkerGauges(
  urls: readonly string[],
  timeoutMs = WORKER_FETCH_TIMEOUT_MS,
): Promise<WorkerGauges> {
  const failures: Error[] = [];
  const values = await Promise.all(
    urls.map(async (url) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (!res.ok) throw new Error(`${url} answered ${res.status}`);
        return gaugeValue(text, WORKER_MISMATCH_GAUGE);
      } catch (error) {
        failures.push(error instanceof Error ? error : new Error(String(error)));
        return null;
      }
    }),
  );
  const known = values.filter((v): v is number => v !== null);
  return { mismatches: known.length === 0 ? null : Math.max(...known), failures };
}

/** The value of an unlabelled (or constant-labelled) sample; null when absent or NaN. */
export function gaugeValue(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    return Number.isFinite(value) ? value : null;
  }
  return null;
}
