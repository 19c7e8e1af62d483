-- The audit trail: every journal outcome event, hash-chained, append-only, range-partitioned by
-- month of its TigerBeetle timestamp. Written by projections/src/hash-chain/ (chain.ts states the
-- chain rule and the exact hash encoding), checked by `ledger-bridge verify`.
-- Every column except created_at / verified_at is derived from the events alone, so a rebuild
-- from Kafka writes the same rows and the same hashes.
-- No partitions here: the partition manager (projections/src/partitions/) creates each month's
-- on demand and three months ahead. There is deliberately no DEFAULT partition: a missing month
-- fails loudly instead of piling rows into a table nobody maintains.

-- Append-only guard for ledger_event, ledger_event_id and ledger_block_checkpoint: UPDATE, DELETE
-- and TRUNCATE raise, unless the transaction has said `SET LOCAL ledger_bridge.maintenance =
-- 'rewrite'` (a projection rebuild truncating its tables does this). This stops mistakes, not
-- attackers: the table owner can disable the trigger and a superuser can set
-- session_replication_role = replica; that is why `ledger-bridge verify` exists.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('ledger_bridge.maintenance', true) = 'rewrite' THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'a rebuild sets ledger_bridge.maintenance = rewrite for its transaction';
END
$$;

CREATE TABLE ledger_event (
  -- The chain this event belongs to: '<topic>/<partition>' of the Kafka record.
  chain          text          NOT NULL CHECK (char_length(chain) BETWEEN 1 AND 300),
  -- 1, 2, 3, … within the chain, in Kafka offset order, duplicates skipped.
  position       bigint        NOT NULL CHECK (position > 0),
  event_id       text          NOT NULL,
  -- The event's occurredAt: TigerBeetle's timestamp (u64 ns), exact; it is hashed.
  occurred_at_ns numeric(20,0) NOT NULL CHECK (occurred_at_ns >= 0),
  -- The same instant truncated to microseconds: the partition key.
  occurred_at    timestamptz   NOT NULL,
  kafka_offset   bigint        NOT NULL CHECK (kafka_offset >= 0),
  journal_id     text          NOT NULL,
  kind           text          NOT NULL,
  -- The canonical bytes of the event (serializeOutcomeEvent): UTF-8 JSON, hashed as stored.
  payload        bytea         NOT NULL,
  previous_hash  bytea         NOT NULL CHECK (octet_length(previous_hash) = 32),
  event_hash     bytea         NOT NULL CHECK (octet_length(event_hash) = 32)
) PARTITION BY RANGE (occurred_at);

-- Not unique: PostgreSQL cannot enforce uniqueness across partitions without the partition key,
-- and verification must be able to see (and report) a forged duplicate anyway. Positions are
-- unique by construction (the chain head is locked while they are assigned). The index serves
-- verification's keyset walk in (position, event_hash) order.
CREATE INDEX ledger_event_chain_position_idx ON ledger_event (chain, position, event_hash);
CREATE INDEX ledger_event_journal_id_idx ON ledger_event (journal_id);

CREATE TRIGGER ledger_event_append_only BEFORE UPDATE OR DELETE ON ledger_event
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
-- Statement triggers are not cloned to partitions: the partition manager adds this one to each.
CREATE TRIGGER ledger_event_no_truncate BEFORE TRUNCATE ON ledger_event
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Idempotency: one row per event id ever appended (first one wins). A separate table because a
-- unique key on ledger_event would have to include occurred_at.
CREATE TABLE ledger_event_id (
  event_id text   PRIMARY KEY,
  chain    text   NOT NULL,
  position bigint NOT NULL CHECK (position > 0)
);

CREATE TRIGGER ledger_event_id_append_only BEFORE UPDATE OR DELETE ON ledger_event_id
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_event_id_no_truncate BEFORE TRUNCATE ON ledger_event_id
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- The last event of each chain. Locked FOR UPDATE by the batch that appends to the chain.
-- block_position: the last position covered by a block checkpoint.
CREATE TABLE ledger_chain_head (
  chain          text   PRIMARY KEY,
  position       bigint NOT NULL CHECK (position >= 0),
  event_hash     bytea  NOT NULL CHECK (octet_length(event_hash) = 32),
  block_position bigint NOT NULL CHECK (block_position >= 0 AND block_position <= position)
);

-- Every N events (the projection's blockSize) a block: SHA-256 over its events' hashes.
CREATE TABLE ledger_block_checkpoint (
  chain          text        NOT NULL,
  block_number   bigint      NOT NULL CHECK (block_number > 0),
  first_position bigint      NOT NULL CHECK (first_position > 0),
  last_position  bigint      NOT NULL CHECK (last_position >= first_position),
  block_hash     bytea       NOT NULL CHECK (octet_length(block_hash) = 32),
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain, block_number)
);

CREATE INDEX ledger_block_checkpoint_last_idx ON ledger_block_checkpoint (chain, last_position);

CREATE TRIGGER ledger_block_checkpoint_append_only BEFORE UPDATE OR DELETE
  ON ledger_block_checkpoint FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_block_checkpoint_no_truncate BEFORE TRUNCATE ON ledger_block_checkpoint
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Points verification found good: `verify` starts from the latest one, `verify --full` from 1.
CREATE TABLE ledger_hash_snapshot (
  chain       text        NOT NULL,
  position    bigint      NOT NULL CHECK (position > 0),
  event_hash  bytea       NOT NULL CHECK (octet_length(event_hash) = 32),
  verified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain, position)
);
