-- Every record a projection runner skipped (projections/src/runner.ts): undecodable, oversized, or
-- failing alone with a data error when applied. Written in the transaction that moves the
-- partition's checkpoint past the record, so the rows not replayed are exactly what the
-- projections did not apply (the record also goes to `<topic>.dlq`, before that transaction).
-- `ledger-bridge projections replay-dlq` applies them once the cause is fixed and sets
-- replayed_at; the reconciler counts the rows where it is null (`dead_lettered_event`).
CREATE TABLE projection_dead_letter (
  consumer_group      text        NOT NULL CHECK (char_length(consumer_group) BETWEEN 1 AND 255),
  topic               text        NOT NULL CHECK (char_length(topic) BETWEEN 1 AND 249),
  partition           integer     NOT NULL CHECK (partition >= 0),
  kafka_offset        bigint      NOT NULL CHECK (kafka_offset >= 0),
  -- A code, not an enum: a reason added in code needs no migration (projections/src/dead-letter.ts).
  reason              text        NOT NULL CHECK (reason ~ '^[a-z_]{1,64}$'),
  message             text        NOT NULL,
  -- The Kafka record as it was: timestamp (ms since epoch), key, value and headers (a JSON object:
  -- name -> UTF-8 text, or {"base64": ...} for bytes that are not text PostgreSQL can hold).
  record_timestamp_ms bigint      NOT NULL,
  key                 bytea,
  value               bytea,
  headers             jsonb       NOT NULL DEFAULT '{}',
  dead_lettered_at    timestamptz NOT NULL DEFAULT now(),
  replay_attempts     integer     NOT NULL DEFAULT 0 CHECK (replay_attempts >= 0),
  last_replay_error   text,
  replayed_at         timestamptz,
  PRIMARY KEY (consumer_group, topic, partition, kafka_offset)
);

-- What replay-dlq, the reconciler and the worker's gauge read: the rows not replayed, in order.
CREATE INDEX projection_dead_letter_pending_idx
  ON projection_dead_letter (topic, partition, kafka_offset)
  WHERE replayed_at IS NULL;
