/**
 * Proves that a ledger that does not answer turns into 503 with Retry-After, and that nothing is
 * half-written: no outcome event reaches Kafka for a journal the ledger never confirmed. The
 * bridge runs against a "TigerBeetle cluster" on a port where nothing listens.
 */
import { Kafka, logLevel } from 'kafkajs';
import { call, type Harness, startHarness } from '../../support/http/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ TB_ADDRESSES: '127.0.0.1:1', LEDGER_REQUEST_TIMEOUT_MS: '300' });
}, 60_000);

afterAll(async () => {
  await h?.dispose();
});

describe('ledger unreachable', () => {
  it('answers 503 + Retry-After to account creation, journals and readiness', async () => {
    const base = h.bridge.url;
    const account = (name: string) => ({
      accountId: `${h.run}-${name}`,
      name,
      holderId: 'h',
      accountType: 'asset',
      asset: 'USD',
    });
    // The metadata row is written, the ledger account is not: 503, and the retry completes it.
    for (const name of ['a', 'b']) {
      const res = await call(base, 'POST', '/api/accounts', account(name));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body.error.code).toBe('ledger_unavailable');
    }
    const journal = {
      journalId: `${h.run}-j`,
      date: '2026-11-21',
      description: 'ledger down',
      source: 'test/http',
      lines: [
        { accountId: `${h.run}-a`, lineType: 'DEBIT', amount: 5, lineNumber: 1 },
        { accountId: `${h.run}-b`, lineType: 'CREDIT', amount: 5, lineNumber: 2 },
      ],
    };
    const res = await call(base, 'POST', '/api/journal', journal);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body.error.code).toBe('ledger_unavailable');

    const ready = await call(base, 'GET', '/ready');
    expect(ready.status).toBe(503);

    // Nothing reached the outcome topic.
    const kafka = new Kafka({
      clientId: 'test-ledger-down',
      brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:59092').split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(h.topic);
      expect(offsets.every((o) => o.high === '0')).toBe(true);
    } finally {
      await admin.disconnect();
    }
  }, 30_000);
});
