/**
 * Proves the whole change feed on the stack's real parts: transfers committed to the stack's
 * TigerBeetle cluster are published by the stack's ONE supervised `tigerbeetle amqp` job (only one
 * may run per cluster: the test never starts its own) to the `ledger.cdc` exchange, and a relay
 * on a run-unique queue bound to that exchange writes each event to a run-unique Kafka topic,
 * twice, keyed by each account: a single-phase transfer, a pending one posted, one voided, and one
 * with a 1 s timeout that TigerBeetle expires by itself (two_phase_expired). The test's queue
 * expires on its own should the run die before deleting it. Without a cluster the test fails in
 * CI and is skipped, visibly, elsewhere.
 */
import pino from 'pino';
import { loadConfig } from '../../../core/config';
import { type ChangeType, decodeChange, type LedgerChange } from '../../../events/change';
import { openTigerBeetleLedger } from '../../../ledger/tigerbeetle/client';
import { type Ledger, type Transfer, TransferFlags as F } from '../../../ledger/port';
import { type RelayService, startRelayService } from '../../../changefeed/service';
import { readTopic, useFeedRun } from '../../support/changefeed/harness';
import { clusterAddresses, describeOnCluster } from '../../support/cluster';
import { account, id, resolve, transfer } from '../../support/conformance/fixtures';
import { stackSettings } from '../../support/infra/settings';

const EXCHANGE = process.env.AMQP_CDC_EXCHANGE ?? 'ledger.cdc';
const LEDGER = 703;
/** The types the scenario makes, in commit order. */
const EXPECTED: ChangeType[] = [
  'single_phase',
  'two_phase_pending',
  'two_phase_posted',
  'two_phase_pending',
  'two_phase_voided',
  'two_phase_pending',
  'two_phase_expired',
];
const silent = pino({ level: 'silent' });

const describeWithCluster = describeOnCluster('the change feed end to end');

describeWithCluster('the change feed, ledger to Kafka, on the stack', () => {
  let opened: Ledger | null = null;
  let service: RelayService | null = null;
  // The exchange is the stack's: the run removes its own queues and topics only.
  const feedRun = useFeedRun('e2e', {
    exchange: EXCHANGE,
    beforeCleanup: async () => {
      await service?.stop();
      await opened?.close();
    },
  });

  beforeAll(async () => {
    const { queue, topic } = feedRun();
    opened = await openTigerBeetleLedger({
      clusterId: BigInt(process.env.TB_CLUSTER_ID ?? '0'),
      addresses: clusterAddresses(),
    });
    service = await startRelayService({
      config: {
        ...loadConfig({ ...process.env, KAFKA_BROKERS: stackSettings.kafkaBrokers.join(',') }),
        AMQP_URL: stackSettings.amqpUrl,
        AMQP_CDC_EXCHANGE: EXCHANGE,
        AMQP_CDC_QUEUE: queue,
        KAFKA_CHANGES_TOPIC: topic,
        RELAY_METRICS_PORT: 0,
      },
      logger: silent,
      defaultMetrics: false,
      // Bound to the live exchange: should the run die before its clean-up, RabbitMQ drops it.
      queueExpiresMs: 120_000,
    });
    // Bound from here on: the scenario's events all reach the test's queue.
    await service.consuming;
  }, 30_000);

  it('carries every change type, expiry included, twice each, to Kafka', async () => {
    const { topic, kafka } = feedRun();
    const ledger = opened!;
    const a = account({ ledger: LEDGER, code: 10 });
    const b = account({ ledger: LEDGER, code: 11 });
    expect((await ledger.createAccounts([a, b])).map((r) => r.status)).toEqual([
      0xffff_ffff, 0xffff_ffff,
    ]);
    const t = (over: Partial<Transfer>): Transfer =>
      transfer({
        id: id(),
        ledger: LEDGER,
        code: 1,
        debit_account_id: a.id,
        ...over,
        credit_account_id: b.id,
      });
    const held = t({ amount: 5n, flags: F.pending });
    const voided = t({ amount: 4n, flags: F.pending });
    const expiring = t({ amount: 2n, flags: F.pending, timeout: 1 });
    for (const batch of [
      [t({ amount: 10n })],
      [held],
      [t({ ...resolve('post', held.id, { amount: 3n }), id: id() })],
      [voided],
      [t({ ...resolve('void', voided.id), id: id() })],
      [expiring],
    ]) {
      const results = await ledger.createTransfers(batch);
      expect(results.map((r) => r.status)).toEqual([0xffff_ffff]);
    }

    const keys = new Set([a.id.toString(), b.id.toString()]);
    const ours = (key: string | null) => key !== null && keys.has(key);
    const records = await readTopic(
      kafka,
      topic,
      (r) => r.filter((x) => ours(x.key)).length >= 2 * EXPECTED.length,
      30_000,
    );
    const mine = records.filter((r) => ours(r.key));
    expect(mine).toHaveLength(2 * EXPECTED.length);
    const byKey = (key: bigint): LedgerChange[] =>
      mine.filter((r) => r.key === key.toString()).map((r) => decodeChange(r.value));
    for (const side of [a.id, b.id]) {
      const events = byKey(side);
      expect(events.map((e) => e.type)).toEqual(EXPECTED);
      const stamps = events.map((e) => e.timestamp);
      expect([...stamps].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(stamps);
    }
    const expired = byKey(a.id).at(-1)!;
    expect(expired.transfer.id).toBe(expiring.id);
    expect(expired.timestamp).toBeGreaterThan(expired.transfer.timestamp);
    expect(expired.debitAccount.debitsPending).toBe(0n);
    expect(expired.debitAccount.debitsPosted).toBe(13n);
  }, 60_000);
});
