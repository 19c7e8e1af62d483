/**
 * Proves the TigerBeetle adapter, and the suite's own expectations, against a real cluster: the
 * same Ledger conformance suite the embedded engine must pass, run when TB_ADDRESSES lists the
 * replicas (TB_CLUSTER_ID, default 0). Every test uses fresh time-ordered ids, so a shared cluster
 * holding earlier data is fine. Without TB_ADDRESSES the run is skipped, visibly.
 */
import { openTigerBeetleLedger } from '../../../ledger/tigerbeetle/client';
import { defineLedgerConformance } from '../../support/conformance/suite';

const addresses = (process.env.TB_ADDRESSES ?? '')
  .split(',')
  .map((address) => address.trim())
  .filter((address) => address !== '');

if (addresses.length > 0) {
  const clusterId = BigInt(process.env.TB_CLUSTER_ID ?? '0');
  defineLedgerConformance(`TigerBeetle cluster ${clusterId} at ${addresses.join(',')}`, () =>
    openTigerBeetleLedger({ clusterId, addresses }),
  );
} else {
  console.warn('TigerBeetle cluster: skipped — set TB_ADDRESSES to run the conformance suite');
  describe('TigerBeetle cluster', () => {
    it.skip('skipped — set TB_ADDRESSES to run', () => undefined);
  });
}
