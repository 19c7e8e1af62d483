/**
 * Proves the embedded engine's change feed is TigerBeetle's: one scenario (every event type, a
 * clamped balancing transfer, closing transfers voided and expired, two timeouts, a failed chain)
 * runs on the stack's cluster and on the engine at once. The cluster's events are read from what
 * the stack's one `tigerbeetle amqp` publishes to RabbitMQ (a temporary queue bound to
 * AMQP_CDC_EXCHANGE, filtered by the scenario's account ids); the engine's from its
 * get_change_events over the engine server's wire. Types, transfers, amounts, as-of balances and
 * flags must be equal, timestamps in the same order. Then the engine's own CDC job publishes the
 * engine's events to a run-unique exchange: every message must be, byte for byte and property for
 * property, what `encodeChange` makes of the engine's event, in order. Without a cluster the test
 * fails in CI and is skipped, visibly, elsewhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import {
  changeAmqpProperties,
  decodeChange,
  encodeChange,
  type LedgerChange,
} from '../../../events/change';
import { startEngineFeed } from '../../../changefeed/engine-feed';
import { openEngineClient, type EngineClientLedger } from '../../../ledger/engine/client';
import { randomEngineSecret } from '../../../ledger/engine/handshake';
import { CHANGE_EVENTS_MAX } from '../../../ledger/engine/changes';
import { type EngineServer, startEngineServer } from '../../../ledger/engine/server';
import { openTigerBeetleLedger } from '../../../ledger/tigerbeetle/client';
import type { Ledger } from '../../../ledger/port';
import {
  ExchangeTap,
  normalizeChanges,
  ofScenario,
  runChangeScenario,
  type ScenarioRun,
} from '../../support/conformance/changes';
import { sleepMs } from '../../support/conformance/fixtures';
import { runName } from '../../support/changefeed/harness';
import { stackSettings } from '../../support/infra/settings';

const TEST_TIMEOUT_MS = 90_000;
/** How long the stack's job may take to publish the scenario's last event (ms). */
const CLUSTER_FEED_WAIT_MS = 30_000;
const EXCHANGE = process.env.AMQP_CDC_EXCHANGE ?? 'ledger.cdc';
const SILENT = { info: () => undefined, warn: () => undefined, error: () => undefined };

const addresses = (process.env.TB_ADDRESSES ?? '')
  .split(',')
  .map((address) => address.trim())
  .filter((address) => address !== '');
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

const describeWithCluster = addresses.length > 0 ? describe : describe.skip;
if (addresses.length === 0) {
  if (ci) throw new Error('CI runs the change-feed conformance on a real cluster, and none runs');
  console.warn('change feed conformance: skipped — set TB_ADDRESSES to run it');
}

describeWithCluster('change events: the engine as TigerBeetle publishes them', () => {
  let dataDir: string;
  let cluster: Ledger;
  let server: EngineServer;
  let engine: EngineClientLedger;
  let tap: ExchangeTap;
  let clusterRun: ScenarioRun;
  let engineRun: ScenarioRun;
  let engineEvents: LedgerChange[];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-changes-'));
    cluster = await openTigerBeetleLedger({
      clusterId: BigInt(process.env.TB_CLUSTER_ID ?? '0'),
      addresses,
    });
    const secret = randomEngineSecret();
    server = await startEngineServer({ dataDir, fsync: false, port: 0, log: SILENT, secret });
    engine = await openEngineClient({
      address: `${server.address.host}:${server.address.port}`,
      secret,
    });
    tap = await ExchangeTap.open(stackSettings.amqpUrl, EXCHANGE);
    [clusterRun, engineRun] = await Promise.all([
      runChangeScenario(cluster),
      runChangeScenario(engine),
    ]);
    engineEvents = ofScenario(await engine.changes(0n, CHANGE_EVENTS_MAX), engineRun);
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await tap?.close();
    await engine?.close();
    await server?.close();
    await cluster?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the engine records 16 events: every type, the failed chain none', () => {
    expect(engineEvents.map((e) => [e.type, engineRun.names.get(e.transfer.id)])).toEqual([
      ['single_phase', 't1'],
      ['two_phase_pending', 't4'],
      ['two_phase_posted', 't5'],
      ['two_phase_pending', 't6'],
      ['two_phase_voided', 't7'],
      ['single_phase', 't8'],
      ['single_phase', 't9'],
      ['single_phase', 't10'],
      ['two_phase_pending', 't11'],
      ['two_phase_voided', 't12'],
      ['two_phase_pending', 't13'],
      ['two_phase_pending', 't14'],
      ['two_phase_expired', 't13'],
      ['two_phase_expired', 't14'],
      ['two_phase_pending', 't15'],
      ['two_phase_posted', 't16'],
    ]);
  });

  it(
    "the cluster's `tigerbeetle amqp` publishes the same events, as of the same balances",
    async () => {
      const published = await tap.waitFor(clusterRun, engineEvents.length, CLUSTER_FEED_WAIT_MS);
      expect(normalizeChanges(published, clusterRun)).toEqual(
        normalizeChanges(engineEvents, engineRun),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "the engine's CDC job publishes them as TigerBeetle does, byte for byte",
    async () => {
      const connection: ChannelModel = await amqp.connect(stackSettings.amqpUrl);
      const exchange = runName('cdc', 'engine-feed');
      const engineId = `test-${process.pid}-${Date.now()}`;
      const setup = await connection.createChannel();
      await setup.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
      const ownTap = await ExchangeTap.open(stackSettings.amqpUrl, exchange);
      const feed = await startEngineFeed({
        source: engine,
        connection,
        engineId,
        exchange,
        idleIntervalMs: 20,
      });
      try {
        const all = await engine.changes(0n, CHANGE_EVENTS_MAX);
        const deadline = Date.now() + 20_000;
        while (ownTap.messages.length < all.length && Date.now() < deadline) await sleepMs(20);
        expect(ownTap.messages.map((m) => m.body.toString())).toEqual(
          all.map((e) => encodeChange(e).toString()),
        );
        ownTap.messages.forEach((m, i) => {
          const expected = changeAmqpProperties(all[i]!);
          expect(m.properties).toMatchObject({
            contentType: expected.contentType,
            appId: expected.appId,
            deliveryMode: expected.deliveryMode,
            timestamp: expected.timestamp,
            headers: expected.headers,
          });
        });
        const decoded = ofScenario(
          ownTap.messages.map((m) => decodeChange(m.body)),
          engineRun,
        );
        expect(decoded).toEqual(engineEvents);
        // Its progress follows the confirms of the batch, and of the progress message itself.
        const last = all[all.length - 1]!.timestamp;
        while (feed.timestampLast() < last && Date.now() < deadline) await sleepMs(20);
        expect(feed.timestampLast()).toBe(last);
      } finally {
        await feed.stop();
        await ownTap.close();
        await setup.deleteQueue(`ledger.engine.internal.progress.${engineId}`).catch(() => 0);
        await setup.deleteExchange(exchange).catch(() => undefined);
        await connection.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
