/**
 * The change feed: TigerBeetle's CDC events as the relay (changefeed/relay.ts) writes them to the
 * change topic, each event twice, keyed by its debit and by its credit account id. A record is
 * one SIDE of one event: `side` says which account the record is for, so per-account projections
 * (balances, statements) take every record, and per-event ones (the change store, the chain, the
 * daily summary) take the debit side only, once per event.
 *
 * The value is TigerBeetle's message as published, kept as `payload` for the hash chain. A record
 * whose key names neither account is refused like an unreadable one (dead-lettered).
 */
import {
  type ChangeSide,
  decodeChange,
  type LedgerChange,
  sideOfKey,
} from '../../../events/change';
import { EventDecodeError } from '../../../events/errors';
import type { Feed } from '../feed';
import type { Located } from '../projection';

export interface ProjectedChange extends Located {
  change: LedgerChange;
  side: ChangeSide;
  /** TigerBeetle's message bytes, as relayed. */
  payload: Buffer;
}

export const changeFeed: Feed<ProjectedChange> = {
  name: 'changes',
  decode(record, topic, partition) {
    const change = decodeChange(record.value);
    const key = record.key?.toString('utf8') ?? '';
    const side = sideOfKey(change, key);
    if (side === null) {
      throw new EventDecodeError(
        'invalid_event',
        `record key '${key.slice(0, 64)}' names neither account`,
        {
          issues: [`key: not ${change.debitAccount.id} nor ${change.creditAccount.id}`],
        },
      );
    }
    const { offset, timestamp } = record;
    return [{ change, side, payload: record.value!, topic, partition, offset, timestamp }];
  },
  // The chain keeps one record per event (the debit side): it stands for both sides.
  fromStore(payload, topic, partition, offset) {
    const change = decodeChange(payload);
    const located = { topic, partition, offset, timestamp: '0', change, payload };
    return [
      { ...located, side: 'debit' },
      { ...located, side: 'credit' },
    ];
  },
};

/** The records of a batch that stand for whole events: one per event, the debit side. */
export function eventsOf(records: readonly ProjectedChange[]): ProjectedChange[] {
  return records.filter((record) => record.side === 'debit');
}

/** The account a record is about, as of its event. */
export function accountOf(record: ProjectedChange) {
  return record.side === 'debit' ? record.change.debitAccount : record.change.creditAccount;
}
