/**
 * Our murmur2 against kafkajs's (the Java client's algorithm in 64-bit Longs), as the oracle: the
 * same partition for every key, or a journal's events would change partition with the client.
 */
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { kafkaPartitionOf, murmur2 } from '../../../events/murmur2';

const kafkajsPartitioner = Partitioners.DefaultPartitioner();

function kafkajsPartitionOf(key: string, partitions: number): number {
  return kafkajsPartitioner({
    topic: 't',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [],
      isr: [],
    })),
    message: { key, value: null },
  });
}

describe('murmur2', () => {
  it("gives the Java client's values for known keys", () => {
    // Values of org.apache.kafka.common.utils.Utils.murmur2 (its own test vectors).
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('a-little-bit-longer-string')).toBe(-1486304829);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
    expect(murmur2('abc')).toBe(479470107);
  });

  it('chooses the partition kafkajs chooses, for any key and partition count', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.ulid(),
        ),
        fc.integer({ min: 1, max: 64 }),
        (key, partitions) => {
          expect(kafkaPartitionOf(key, partitions)).toBe(kafkajsPartitionOf(key, partitions));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
