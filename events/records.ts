/**
 * What one send of outcome messages becomes on the topic, whichever Kafka client writes it: the
 * partition of each message (Java's murmur2 of the journal id, as any Kafka client computes it),
 * the records (one per message, or one batch envelope per partition: ./envelope.ts), and which
 * record carries each message, so the client's acknowledged offsets become each event's position.
 */
import { assert } from '../core/assert';
import { kafkaPartitionOf } from './murmur2';
import { encodeOutcomeBatch, OUTCOME_HEADERS_V2, type OutcomeRecordFormat } from './envelope';
import type { OutcomeMessage } from './schema';
import type { EventPosition } from './sink';

export interface OutcomeRecord {
  partition: number;
  key: string | null;
  value: Buffer;
  headers: Readonly<Record<string, string>>;
}

export interface PlannedSend {
  /** In send order; within a partition, in message order. */
  records: OutcomeRecord[];
  /** For each message, the index of the record that carries it. */
  recordOf: number[];
}

/** Java's partitioner over a topic of `partitions` partitions. */
export class OutcomePartitioner {
  constructor(
    topic: string,
    private readonly partitions: number,
  ) {
    assert(
      Number.isSafeInteger(partitions) && partitions > 0,
      () => `topic ${topic}: ${partitions} partitions`,
    );
  }

  partitionOf(key: string): number {
    return kafkaPartitionOf(key, this.partitions);
  }
}

export function planSend(
  messages: readonly OutcomeMessage[],
  partitioner: OutcomePartitioner,
  format: OutcomeRecordFormat,
): PlannedSend {
  const partitions = messages.map((message) => partitioner.partitionOf(message.key));
  if (format === 'single') {
    return {
      records: messages.map((message, i) => ({ ...message, partition: partitions[i]! })),
      recordOf: messages.map((_, i) => i),
    };
  }
  const envelopes = new Map<number, { index: number; values: Buffer[] }>();
  const recordOf = partitions.map((partition, i) => {
    let envelope = envelopes.get(partition);
    if (envelope === undefined) {
      envelope = { index: envelopes.size, values: [] };
      envelopes.set(partition, envelope);
    }
    envelope.values.push(messages[i]!.value);
    return envelope.index;
  });
  const records = [...envelopes].map(([partition, { values }]) => ({
    partition,
    key: null,
    value: encodeOutcomeBatch(values),
    headers: OUTCOME_HEADERS_V2,
  }));
  return { records, recordOf };
}

/** Each message's position, from each record's acknowledged offset. */
export function positionsOf(plan: PlannedSend, recordOffsets: readonly string[]): EventPosition[] {
  return plan.recordOf.map((index) => {
    const offset = recordOffsets[index];
    if (offset === undefined) throw new Error(`no acknowledged offset for record ${index}`);
    return { partition: plan.records[index]!.partition, offset };
  });
}
