/**
 * A feed: one Kafka topic the projections follow, and how its records become the values a
 * projection applies. Two feeds exist:
 *
 * - `outcomeFeed`: the bridge's journal outcome events (events/schema.ts), keyed by journal: the
 *   journal metadata;
 * - `changeFeed` (./changes/feed.ts): the ledger's own change events (TigerBeetle CDC), relayed
 *   twice, keyed by each account: balances, statements, daily summaries, the ledger-event chain.
 *
 * `decode` gives the events of one record, in order (an outcome record may be a batch envelope of
 * many, events/envelope.ts), and throws an `EventDecodeError` for a record it cannot read, whole:
 * the runner dead-letters it;
 * `fromStore` turns a payload the hash chain stored back into the records it stands for, so a
 * projection can be rebuilt from the event store as well as from Kafka.
 */
import { decodeOutcomeRecord } from '../../events/envelope';
import type { Located, ProjectedEvent } from './projection';

export interface FeedRecord {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
}

export interface Feed<E extends Located> {
  readonly name: 'outcomes' | 'changes';
  decode(record: FeedRecord, topic: string, partition: number): E[];
  fromStore(payload: Buffer, topic: string, partition: number, offset: string): E[];
}

export const outcomeFeed: Feed<ProjectedEvent> = {
  name: 'outcomes',
  decode(record, topic, partition) {
    const { offset, timestamp } = record;
    return decodeOutcomeRecord(record.value).map((event) => ({
      event,
      topic,
      partition,
      offset,
      timestamp,
    }));
  },
  fromStore(payload, topic, partition, offset) {
    return outcomeFeed.decode(
      { key: null, value: payload, offset, timestamp: '0' },
      topic,
      partition,
    );
  },
};

/** The consumer group (and checkpoint namespace) of the change feed's runner. */
export function changeGroupOf(projectionsGroupId: string): string {
  return `${projectionsGroupId}.changes`;
}

/** The topic and consumer group of each feed the worker follows. */
export function projectionFeeds(config: {
  KAFKA_OUTCOMES_TOPIC: string;
  KAFKA_CHANGES_TOPIC: string;
  PROJECTIONS_GROUP_ID: string;
}): { topic: string; consumerGroup: string }[] {
  return [
    { topic: config.KAFKA_OUTCOMES_TOPIC, consumerGroup: config.PROJECTIONS_GROUP_ID },
    {
      topic: config.KAFKA_CHANGES_TOPIC,
      consumerGroup: changeGroupOf(config.PROJECTIONS_GROUP_ID),
    },
  ];
}
