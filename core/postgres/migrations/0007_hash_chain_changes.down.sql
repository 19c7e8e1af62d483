DELETE FROM ledger_event WHERE journal_id IS NULL;
ALTER TABLE ledger_event ALTER COLUMN journal_id SET NOT NULL;
