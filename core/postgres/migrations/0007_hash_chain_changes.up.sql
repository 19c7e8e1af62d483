-- The hash chain also chains the ledger's own change events (one chain per partition of the change
-- topic, projections/src/hash-chain): those have no journal, so journal_id may be null.
ALTER TABLE ledger_event ALTER COLUMN journal_id DROP NOT NULL;
