/**
 * `npm run tb:status`: is the TigerBeetle cluster in TB_ADDRESSES answering? A lookup round trip
 * through the same adapter the bridge uses. Exit 0 when it answers, 1 when it does not.
 */
import { loadConfig } from '../bridge/src/config';
import { openTigerBeetleLedger } from '../bridge/src/ledger/tigerbeetle';

async function main(): Promise<number> {
  const config = loadConfig();
  if (config.TB_ADDRESSES === undefined) {
    console.error('TB_ADDRESSES is not set: nothing to check (the bridge would use the engine).');
    return 2;
  }
  const ledger = await openTigerBeetleLedger({
    clusterId: config.TB_CLUSTER_ID,
    addresses: config.TB_ADDRESSES,
    requestTimeoutMs: config.LEDGER_REQUEST_TIMEOUT_MS,
  });
  const started = process.hrtime.bigint();
  try {
    await ledger.lookupAccounts([1n]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(
      `cluster ${config.TB_CLUSTER_ID} at ${config.TB_ADDRESSES.join(',')}: ` +
        `answering (lookup round trip ${ms.toFixed(1)} ms)`,
    );
    return 0;
  } catch (error) {
    console.error(`cluster ${config.TB_CLUSTER_ID}: not answering: ${(error as Error).message}`);
    return 1;
  } finally {
    await ledger.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
