DROP INDEX ledger_event_journal_id_idx;
CREATE INDEX ledger_event_journal_id_idx ON ledger_event (journal_id);
