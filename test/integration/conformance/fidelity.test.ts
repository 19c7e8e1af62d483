/**
 * Proves the embedded engine answers as the real TigerBeetle cluster does, by a short run of the
 * differential fuzzer (ledger/fidelity/): the same 300 seeded random batches go to a fresh
 * engine and to the cluster (TB_ADDRESSES / TB_CLUSTER_ID), and every result, balance, lookup and
 * query is compared. The seed is SEED, else random; a failure prints it, a replay line and a shrunk
 * reproducer. Without TB_ADDRESSES the test fails in CI (CI always has a cluster) and is skipped,
 * visibly, elsewhere.
 */
import crypto from 'node:crypto';
import { runFidelity } from '../../../ledger/fidelity/fidelity';
import { formatFailure, formatSummary } from '../../../ledger/fidelity/report';

/** About 5 s alone on this 2-core machine, a third of it waiting out pending deadlines. */
const BATCHES = 300;
const SHRINK_BUDGET_MS = 30_000;
const TEST_TIMEOUT_MS = 120_000;

const addresses = (process.env.TB_ADDRESSES ?? '')
  .split(',')
  .map((address) => address.trim())
  .filter((address) => address !== '');
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

function seedFromEnv(): number {
  const text = process.env.SEED;
  if (text === undefined || text === '') return crypto.randomBytes(4).readUInt32LE();
  if (!/^\d+$/.test(text) || Number(text) > 0xffff_ffff) {
    throw new Error(`SEED must be a u32, got ${text}`);
  }
  return Number(text);
}

if (addresses.length > 0) {
  describe('fidelity: embedded engine vs TigerBeetle cluster', () => {
    const seed = seedFromEnv();
    it(
      `${BATCHES} random batches answer alike on both (seed ${seed})`,
      async () => {
        const report = await runFidelity({
          batches: BATCHES,
          seed,
          clusterId: BigInt(process.env.TB_CLUSTER_ID ?? '0'),
          addresses,
          shrinkBudgetMs: SHRINK_BUDGET_MS,
        });
        if (report.divergence !== null) {
          throw new Error(`${formatFailure(report)}\n\n${formatSummary(report)}`);
        }
        expect(report.stats.steps).toBe(BATCHES);
      },
      TEST_TIMEOUT_MS,
    );
  });
} else if (ci) {
  describe('fidelity: embedded engine vs TigerBeetle cluster', () => {
    it('needs a TigerBeetle cluster', () => {
      throw new Error(
        'TB_ADDRESSES is not set, but CI always runs a TigerBeetle cluster: the differential ' +
          'fuzzer cannot compare the engine against nothing (is infra/stack.sh up?)',
      );
    });
  });
} else {
  console.warn('fidelity: skipped — set TB_ADDRESSES to compare the engine with a cluster');
  describe('fidelity: embedded engine vs TigerBeetle cluster', () => {
    it.skip('skipped — set TB_ADDRESSES to run', () => undefined);
  });
}
