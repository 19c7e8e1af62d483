/**
 * One fidelity session: generate the seed's steps, run them against a fresh embedded engine and
 * the TigerBeetle cluster, and on a divergence shrink it to a reproducer. The CLI (./main.ts) and
 * the CI test (test/integration/conformance/fidelity.test.ts) both call `runFidelity`.
 *
 * The session opens one TigerBeetle client (one per process) and keeps it for every trial; each
 * trial gets its own engine in a new temporary directory and its own ids and ledger numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Ledger } from '../port';
import { openTigerBeetleLedger } from '../tigerbeetle/client';
import { openEmbeddedLedger } from '../engine';
import { freshBinding } from './bind';
import { generateSteps } from './generator';
import type { Divergence, Step } from './model';
import { emptyStats, runSteps, type Stats } from './run';
import { type Shrunk, shrink } from './shrink';

export interface FidelityOptions {
  batches: number;
  seed: number;
  clusterId: bigint;
  addresses: string[];
  /** Time allowed for shrinking a divergence; default 180 s. */
  shrinkBudgetMs?: number;
}

export interface FidelityReport {
  seed: number;
  batches: number;
  stats: Stats;
  elapsedMs: number;
  divergence: Divergence | null;
  /** The failing prefix as generated (the step that diverged is its last). */
  failing?: Step[];
  shrunk?: Shrunk;
}

const SHRINK_BUDGET_MS_DEFAULT = 180_000;

/** Runs `steps` against a new engine (fsync off: it is thrown away) and the cluster. */
async function runOnFreshEngine(
  steps: Step[],
  cluster: Ledger,
  stats?: Stats,
): Promise<Divergence | null> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fidelity-engine-'));
  const engine = await openEmbeddedLedger({ dataDir, fsync: false });
  try {
    return await runSteps(steps, { engine, cluster }, freshBinding(), stats);
  } finally {
    await engine.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runFidelity(options: FidelityOptions): Promise<FidelityReport> {
  const startMs = Date.now();
  const steps = generateSteps(options.seed, options.batches);
  const cluster = await openTigerBeetleLedger({
    clusterId: options.clusterId,
    addresses: options.addresses,
  });
  try {
    const stats = emptyStats();
    const divergence = await runOnFreshEngine(steps, cluster, stats);
    const report: FidelityReport = {
      seed: options.seed,
      batches: options.batches,
      stats,
      elapsedMs: Date.now() - startMs,
      divergence,
    };
    if (divergence === null) return report;
    report.failing = steps.slice(0, divergence.step + 1);
    report.shrunk = await shrink(
      steps,
      divergence,
      (candidate) => runOnFreshEngine(candidate, cluster),
      options.shrinkBudgetMs ?? SHRINK_BUDGET_MS_DEFAULT,
    );
    return report;
  } finally {
    await cluster.close();
  }
}
