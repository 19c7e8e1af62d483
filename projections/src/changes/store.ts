/**
 * ledger-change: every event of the ledger's change feed, one row per event
 * (`ledger_change`, migration 0005), from its debit-side record. Reconcile reads it to tell a raw
 * movement (in the feed, no journal metadata) from a transfer the feed never delivered, and
 * journal reads read it to say a hold `expired`. Idempotent by the event's TigerBeetle timestamp.
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { Projection } from '../projection';
import { eventsOf, type ProjectedChange } from './feed';

export const LEDGER_CHANGE_TABLE = 'ledger_change';

export const ledgerChangeProjection: Projection<ProjectedChange> = {
  name: 'ledger-change',
  tables: [LEDGER_CHANGE_TABLE],
  async apply(tx: Queryable, records: readonly ProjectedChange[]): Promise<void> {
    const events = eventsOf(records);
    if (events.length === 0) return;
    const cols = Array.from({ length: 15 }, () => [] as string[]);
    for (const { change } of events) {
      const t = change.transfer;
      const values = [
        change.timestamp,
        change.type,
        change.ledger,
        t.id,
        t.timestamp,
        change.debitAccount.id,
        change.creditAccount.id,
        t.amount,
        t.pendingId,
        t.code,
        t.flags,
        t.timeout,
        t.userData128,
        t.userData64,
        t.userData32,
      ];
      values.forEach((value, i) => cols[i]!.push(String(value)));
    }
    await tx.query(
      `INSERT INTO ledger_change (event_timestamp, type, ledger, transfer_id, transfer_timestamp,
         debit_ledger_id, credit_ledger_id, amount, pending_id, code, flags, timeout,
         user_data_128, user_data_64, user_data_32)
       SELECT * FROM unnest($1::numeric[], $2::text[], $3::bigint[], $4::numeric[],
         $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::int[],
         $11::int[], $12::bigint[], $13::numeric[], $14::numeric[], $15::bigint[])
       ON CONFLICT (event_timestamp) DO NOTHING`,
      cols,
    );
  },
};
