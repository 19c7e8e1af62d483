-- Half of the chained events (the ledger's change events, migration 0007) have no journal: the
-- index by journal now leaves them out instead of indexing a null per event. A lookup by journal
-- (`journal_id = $1`) implies NOT NULL and still uses it.
DROP INDEX ledger_event_journal_id_idx;
CREATE INDEX ledger_event_journal_id_idx ON ledger_event (journal_id) WHERE journal_id IS NOT NULL;
