-- Reverts 0002: the journal store and the projection checkpoints (rebuildable from Kafka).
DROP TABLE journal_transfer;
DROP TABLE journal_line;
DROP TABLE journal_entry;
DROP TABLE journal_event;
DROP TABLE projection_checkpoint;
