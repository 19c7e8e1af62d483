/**
 * Proves the relay's rules without brokers, through a fake RabbitMQ side and a fake Kafka side:
 * TigerBeetle's captured messages become two records each, keyed by debit then credit account,
 * body unchanged; nothing is acknowledged before Kafka has it, and then with one acknowledgement
 * up to the batch's last tag; sends never overlap and keep delivery order; a failed send is
 * retried, the same batch, with nothing acknowledged meanwhile; a lost channel voids its queued
 * deliveries and its acknowledgement; poison goes to the DLQ in the batch's own send, oversized
 * messages to the AMQP dead letter at once; batches respect their event and byte limits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import pino from 'pino';
import { CHANGE_HEADERS, CHANGE_SCHEMA, changeKeys, decodeChange } from '../../../events/change';
import { RELAY_DLQ_HEADERS, route } from '../../../changefeed/records';
import {
  type BatchReport,
  type BatchSink,
  ChangeRelay,
  type DeliverySource,
  type RelayDelivery,
} from '../../../changefeed/relay';
import { encodeChange } from '../../../events/change';
import { syntheticFeed } from '../../support/changefeed/harness';

const silent = pino({ level: 'silent' });
const captured: string[] = readFileSync(
  join(__dirname, '../../fixtures/cdc/tigerbeetle-0.17.9.jsonl'),
  'utf8',
)
  .trim()
  .split('\n')
  .map((line) => (JSON.parse(line) as { body: string }).body);

class FakeSource implements DeliverySource {
  generation = 1;
  acks: { generation: number; tag: number }[] = [];
  rejects: number[] = [];
  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }
  ackUpTo(generation: number, tag: number): boolean {
    if (!this.isCurrent(generation)) return false;
    this.acks.push({ generation, tag });
    return true;
  }
  reject(generation: number, tag: number): boolean {
    this.rejects.push(tag);
    return this.isCurrent(generation);
  }
}

/** Each send waits until the test settles it. */
class FakeSink implements BatchSink {
  sends: { changes: Message[]; dead: Message[]; settle: (error?: Error) => void }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  send(changes: Message[], dead: Message[]): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve, reject) => {
      this.sends.push({
        changes,
        dead,
        settle: (error) => {
          this.inFlight -= 1;
          if (error) reject(error);
          else resolve();
        },
      });
    });
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function delivery(tag: number, body: Buffer | string, generation = 1): RelayDelivery {
  return {
    generation,
    deliveryTag: tag,
    body: Buffer.from(body),
    exchange: 'ledger.cdc',
    queue: 'ledger.cdc.relay',
    redelivered: false,
    timestampS: 1,
  };
}

function setup(limits = {}) {
  const source = new FakeSource();
  const sink = new FakeSink();
  const reports: BatchReport[] = [];
  const relay = new ChangeRelay(source, sink, {
    logger: silent,
    limits: { retryMinMs: 1, retryMaxMs: 4, ...limits },
    onBatch: (report) => reports.push(report),
  });
  return { source, sink, relay, reports };
}

describe('records', () => {
  it.each(captured.map((body, i) => [i, body] as const))(
    'captured message %i: two records, debit key first, the body as is',
    (_, body) => {
      const routed = route(delivery(1, body));
      if (routed.kind !== 'change') throw new Error('not routed as a change');
      const keys = changeKeys(decodeChange(body));
      expect(routed.records.map((r) => r.key)).toEqual([keys.debit, keys.credit]);
      for (const record of routed.records) {
        expect((record.value as Buffer).toString()).toBe(body);
        expect(record.headers).toEqual({
          [CHANGE_HEADERS.schema]: CHANGE_SCHEMA,
          [CHANGE_HEADERS.contentType]: 'application/json',
          [CHANGE_HEADERS.type]: decodeChange(body).type,
        });
      }
    },
  );

  it.each([
    ['not JSON', '{"timestamp":', 'malformed'],
    ['an array', '[]', 'malformed'],
    ['a wrong type', captured[0]!.replace('single_phase', 'refund'), 'invalid_event'],
  ])('%s is a dead letter with its reason and origin', (_, body, reason) => {
    const routed = route(delivery(3, body));
    if (routed.kind !== 'dead') throw new Error('not dead-lettered');
    expect(routed.record.key).toBeNull();
    expect((routed.record.value as Buffer).toString()).toBe(body);
    expect(routed.record.headers).toMatchObject({
      [RELAY_DLQ_HEADERS.reason]: reason,
      [RELAY_DLQ_HEADERS.queue]: 'ledger.cdc.relay',
      [RELAY_DLQ_HEADERS.exchange]: 'ledger.cdc',
      [RELAY_DLQ_HEADERS.redelivered]: 'false',
      [RELAY_DLQ_HEADERS.timestamp]: '1',
    });
  });
});

describe('the relay', () => {
  // Timestamps of one width: every body has the same length.
  const feed = syntheticFeed(10, 4, 100n, 10_000n).map(encodeChange);

  it('acks only after Kafka, up to the last tag of each batch, one send at a time', async () => {
    const { source, sink, relay, reports } = setup();
    relay.accept(delivery(1, feed[0]!));
    relay.accept(delivery(2, feed[1]!));
    relay.accept(delivery(3, feed[2]!));
    await tick();
    expect(sink.sends).toHaveLength(1);
    expect(sink.sends[0]!.changes).toHaveLength(2);
    expect(source.acks).toEqual([]);
    sink.sends[0]!.settle();
    await tick();
    expect(source.acks).toEqual([{ generation: 1, tag: 1 }]);
    // Deliveries 2 and 3 queued behind the first send go out together.
    expect(sink.sends).toHaveLength(2);
    expect(sink.sends[1]!.changes.map((r) => r.value)).toEqual([
      feed[1],
      feed[1],
      feed[2],
      feed[2],
    ]);
    sink.sends[1]!.settle();
    await tick();
    expect(source.acks.at(-1)).toEqual({ generation: 1, tag: 3 });
    expect(sink.maxInFlight).toBe(1);
    expect(reports.map((r) => r.events)).toEqual([1, 2]);
    expect(relay.stats()).toMatchObject({ eventsOut: 3, recordsOut: 6, held: 0 });
  });

  it('retries a failed send as the same batch, acknowledging nothing until it lands', async () => {
    const { source, sink, relay } = setup();
    relay.accept(delivery(1, feed[0]!));
    relay.accept(delivery(2, feed[1]!));
    await tick();
    sink.sends[0]!.settle(new Error('broker down'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(source.acks).toEqual([]);
    expect(sink.sends).toHaveLength(2);
    expect(sink.sends[1]!.changes).toEqual(sink.sends[0]!.changes);
    sink.sends[1]!.settle();
    await tick();
    expect(source.acks).toEqual([{ generation: 1, tag: 1 }]);
    expect(relay.stats().sendFailures).toBe(1);
  });

  it('drops what a lost channel delivered and never acknowledges it on the next one', async () => {
    const { source, sink, relay } = setup();
    relay.accept(delivery(1, feed[0]!));
    relay.accept(delivery(2, feed[1]!));
    await tick();
    source.generation = 2;
    relay.lost(1);
    sink.sends[0]!.settle();
    await tick();
    expect(source.acks).toEqual([]);
    expect(relay.stats()).toMatchObject({ acksLost: 1, held: 0 });
    relay.accept(delivery(1, feed[0]!, 2));
    await tick();
    sink.sends[1]!.settle();
    await tick();
    expect(source.acks).toEqual([{ generation: 2, tag: 1 }]);
  });

  it('sends poison to the DLQ with its batch and rejects oversized messages at once', async () => {
    const { source, sink, relay } = setup({ messageBytesMax: 4_096 });
    relay.accept(delivery(1, feed[0]!));
    relay.accept(delivery(2, 'not json'));
    relay.accept(delivery(3, Buffer.alloc(5_000, 32)));
    relay.accept(delivery(4, feed[1]!));
    expect(source.rejects).toEqual([3]);
    sink.sends[0]!.settle();
    await tick();
    expect(sink.sends[1]!.dead).toHaveLength(1);
    expect(sink.sends[1]!.changes).toHaveLength(2);
    sink.sends[1]!.settle();
    await tick();
    expect(source.acks.at(-1)).toEqual({ generation: 1, tag: 4 });
    expect(relay.stats()).toMatchObject({ deadLetteredKafka: 1, deadLetteredAmqp: 1 });
  });

  it('keeps each send within its event and byte limits', async () => {
    const bytes = feed[0]!.length * 2;
    const { sink, relay } = setup({ batchEventsMax: 3, batchBytesMax: bytes * 2 });
    relay.accept(delivery(1, feed[0]!));
    for (let tag = 2; tag <= 9; tag++) relay.accept(delivery(tag, feed[tag]!));
    for (let i = 0; i < 5 && i < sink.sends.length; i++) {
      sink.sends[i]!.settle();
      await tick();
    }
    expect(sink.sends.map((s) => s.changes.length / 2)).toEqual([1, 2, 2, 2, 2]);
  });

  it('stops after the send in flight, acknowledging it, and sends nothing more', async () => {
    const { source, sink, relay } = setup();
    relay.accept(delivery(1, feed[0]!));
    relay.accept(delivery(2, feed[1]!));
    await tick();
    const stopped = relay.stop();
    sink.sends[0]!.settle();
    await stopped;
    expect(source.acks).toEqual([{ generation: 1, tag: 1 }]);
    expect(sink.sends).toHaveLength(1);
  });
});
