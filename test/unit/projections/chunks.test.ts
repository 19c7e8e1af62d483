/**
 * Proves how the runner cuts a partition's batch into transactions: consecutive, in order, every
 * record once, at most `batchEventsMax` records and — past a chunk's first record — at most
 * `batchBytesMax` bytes, so a batch of large envelopes still makes bounded transactions and a
 * record above the byte budget still goes through alone.
 */
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { chunksOf } from '../../../projections/src/runner';

function message(offset: number, bytes: number): KafkaMessage {
  return {
    key: null,
    value: Buffer.alloc(bytes),
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
    headers: {},
  } as KafkaMessage;
}

const sizeOf = (m: KafkaMessage) => m.value!.length;

describe('chunksOf', () => {
  it('keeps every record once, in order, within both limits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20_000 }),
        (sizes, batchEventsMax, batchBytesMax) => {
          const messages = sizes.map((bytes, offset) => message(offset, bytes));
          const chunks = chunksOf(messages, { batchEventsMax, batchBytesMax });
          expect(chunks.flat()).toEqual(messages);
          for (const chunk of chunks) {
            expect(chunk.length).toBeGreaterThan(0);
            expect(chunk.length).toBeLessThanOrEqual(batchEventsMax);
            const bytes = chunk.reduce((sum, m) => sum + sizeOf(m), 0);
            if (chunk.length > 1) expect(bytes).toBeLessThanOrEqual(batchBytesMax);
          }
        },
      ),
    );
  });

  it('gives a record above the byte budget a chunk of its own', () => {
    const messages = [message(0, 10), message(1, 100), message(2, 10)];
    const chunks = chunksOf(messages, { batchEventsMax: 10, batchBytesMax: 50 });
    expect(chunks.map((c) => c.map((m) => m.offset))).toEqual([['0'], ['1'], ['2']]);
  });

  it('returns nothing for nothing', () => {
    expect(chunksOf([], { batchEventsMax: 1, batchBytesMax: 1 })).toEqual([]);
  });
});
