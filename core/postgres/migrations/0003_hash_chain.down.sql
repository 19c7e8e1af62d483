-- Reverts 0003: drops the audit trail, its partitions and its guard.
DROP TABLE ledger_hash_snapshot;
DROP TABLE ledger_block_checkpoint;
DROP TABLE ledger_chain_head;
DROP TABLE ledger_event_id;
DROP TABLE ledger_event;
DROP FUNCTION ledger_append_only();
