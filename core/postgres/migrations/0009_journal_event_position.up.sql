-- A consistency token names an outcome event by its Kafka position: a statement read carrying one
-- finds the event's journal by it (bridge/src/statements/routes.ts), one index probe.
CREATE INDEX journal_event_position_idx ON journal_event (topic, partition, kafka_offset);
