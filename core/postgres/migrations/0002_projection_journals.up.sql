-- Projection bookkeeping and the journal store, fed from the journal outcome topic by
-- projections/src/runner.ts and projections/src/journal/projection.ts.
-- Every data column is derived from the events alone (TigerBeetle timestamps, never now()), so a
-- rebuild from Kafka gives the same rows. Only projection_checkpoint.updated_at is wall clock.

-- Where each consumer group stands in each partition: the offset of the next event to apply.
-- Advanced in the same transaction as the projections' writes, with a fenced UPDATE
-- (`WHERE next_offset = <expected>`), so a worker that lost its partition cannot move it.
CREATE TABLE projection_checkpoint (
  consumer_group text        NOT NULL CHECK (char_length(consumer_group) BETWEEN 1 AND 255),
  topic          text        NOT NULL CHECK (char_length(topic) BETWEEN 1 AND 249),
  partition      integer     NOT NULL CHECK (partition >= 0),
  next_offset    bigint      NOT NULL CHECK (next_offset >= 0),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);

-- One row per distinct outcome event the journal projection applied: its idempotency key
-- (first one wins; a republished duplicate is a no-op) and the trail of each journal's steps,
-- rejections included (which never reach journal_transfer: TigerBeetle holds no such transfer).
CREATE TABLE journal_event (
  event_id     text          PRIMARY KEY,
  journal_id   text          NOT NULL,
  kind         text          NOT NULL
    CHECK (kind IN ('posted', 'held', 'hold_posted', 'hold_voided', 'rejected')),
  step         text          NOT NULL CHECK (step IN ('create', 'post', 'void')),
  -- The latest TigerBeetle timestamp among the event's transfers (u64 ns).
  occurred_at  numeric(20,0) NOT NULL CHECK (occurred_at >= 0),
  -- Each transfer's CreateTransferStatus name, in chain order.
  statuses     text[]        NOT NULL,
  topic        text          NOT NULL,
  partition    integer       NOT NULL,
  kafka_offset bigint        NOT NULL
);

CREATE INDEX journal_event_journal_id_idx ON journal_event (journal_id, occurred_at);

-- A journal and its latest state. Metadata is null only for a stub: a hold's post or void whose
-- `held` event this store never saw (dead-lettered); the reconciler reports those.
CREATE TABLE journal_entry (
  journal_id              text          PRIMARY KEY,
  status                  text          NOT NULL
    CHECK (status IN ('posted', 'held', 'hold_posted', 'hold_voided', 'rejected')),
  date                    text,
  description             text,
  source                  text,
  -- Set for a hold (a pending journal): its timeout as the client sent it.
  pending_timeout_seconds bigint        CHECK (pending_timeout_seconds >= 0),
  first_event_id          text          NOT NULL,
  last_event_id           text          NOT NULL,
  -- TigerBeetle time (u64 ns) of the creating event, and of the latest applied event.
  tb_timestamp            numeric(20,0) NOT NULL CHECK (tb_timestamp >= 0),
  updated_tb_timestamp    numeric(20,0) NOT NULL CHECK (updated_tb_timestamp >= 0),
  -- The latest rejection of any step (create, post or void) and its transfers' statuses.
  rejected_step           text          CHECK (rejected_step IN ('create', 'post', 'void')),
  rejected_statuses       text[],
  -- Wall-clock renderings of the two TigerBeetle timestamps (derived, hence deterministic).
  created_at              timestamptz   NOT NULL,
  updated_at              timestamptz   NOT NULL
);

CREATE INDEX journal_entry_tb_timestamp_idx ON journal_entry (tb_timestamp);

CREATE TABLE journal_line (
  journal_id  text          NOT NULL REFERENCES journal_entry (journal_id),
  line_number integer       NOT NULL CHECK (line_number >= 0),
  account_id  text          NOT NULL,
  line_type   text          NOT NULL CHECK (line_type IN ('DEBIT', 'CREDIT')),
  amount      numeric(39,0) NOT NULL CHECK (amount >= 0),
  PRIMARY KEY (journal_id, line_number)
);

-- Every transfer TigerBeetle accepted for a journal (created or exists): the creation's and a
-- hold's post or void. A post/void carries no line numbers in its event; they are copied from the
-- held transfer it names (pending_id), as are the bridge account ids.
CREATE TABLE journal_transfer (
  transfer_id              numeric(39,0) PRIMARY KEY,
  journal_id               text          NOT NULL REFERENCES journal_entry (journal_id),
  step                     text          NOT NULL CHECK (step IN ('create', 'post', 'void')),
  -- Position in the event's chain (0-based): the order TigerBeetle applied them in.
  chain_index              integer       NOT NULL CHECK (chain_index >= 0),
  debit_line               integer,
  credit_line              integer,
  debit_account_id         text,
  credit_account_id        text,
  debit_account_ledger_id  numeric(39,0) NOT NULL,
  credit_account_ledger_id numeric(39,0) NOT NULL,
  amount                   numeric(39,0) NOT NULL CHECK (amount >= 0),
  pending_id               numeric(39,0) NOT NULL,
  ledger                   bigint        NOT NULL,
  code                     integer       NOT NULL,
  flags                    integer       NOT NULL,
  timeout                  bigint        NOT NULL,
  user_data_128            numeric(39,0) NOT NULL,
  user_data_64             numeric(20,0) NOT NULL,
  user_data_32             bigint        NOT NULL,
  tb_timestamp             numeric(20,0) NOT NULL CHECK (tb_timestamp >= 0),
  status                   text          NOT NULL CHECK (status IN ('created', 'exists')),
  event_id                 text          NOT NULL
);

CREATE INDEX journal_transfer_journal_id_idx ON journal_transfer (journal_id, step, chain_index);
CREATE INDEX journal_transfer_tb_timestamp_idx ON journal_transfer (tb_timestamp);
CREATE INDEX journal_transfer_pending_id_idx ON journal_transfer (pending_id)
  WHERE pending_id <> 0;
