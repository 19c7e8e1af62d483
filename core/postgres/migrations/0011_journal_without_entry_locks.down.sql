ALTER TABLE journal_line ADD CONSTRAINT journal_line_journal_id_fkey
  FOREIGN KEY (journal_id) REFERENCES journal_entry (journal_id);
ALTER TABLE journal_transfer ADD CONSTRAINT journal_transfer_journal_id_fkey
  FOREIGN KEY (journal_id) REFERENCES journal_entry (journal_id);
