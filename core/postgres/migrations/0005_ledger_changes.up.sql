-- Every event of the ledger's own change feed (TigerBeetle CDC, events/change.ts), one row per
-- event, written by projections/src/changes from the change topic. It is what makes a transfer
-- with no journal metadata (a raw transfer, a journal whose outcome was never published) visible
-- and reconcilable, and what says a hold expired. Keyed by the event's TigerBeetle timestamp,
-- which is unique per event, so a redelivered event is a no-op.
CREATE TABLE ledger_change (
  event_timestamp    numeric(20,0) PRIMARY KEY CHECK (event_timestamp > 0),
  type               text          NOT NULL CHECK (type IN ('single_phase', 'two_phase_pending',
                       'two_phase_posted', 'two_phase_voided', 'two_phase_expired')),
  ledger             bigint        NOT NULL,
  transfer_id        numeric(39,0) NOT NULL,
  -- The transfer's own timestamp: the event's, except for an expiry (the pending transfer's).
  transfer_timestamp numeric(20,0) NOT NULL,
  debit_ledger_id    numeric(39,0) NOT NULL,
  credit_ledger_id   numeric(39,0) NOT NULL,
  amount             numeric(39,0) NOT NULL CHECK (amount >= 0),
  pending_id         numeric(39,0) NOT NULL,
  code               integer       NOT NULL,
  flags              integer       NOT NULL,
  timeout            bigint        NOT NULL,
  user_data_128      numeric(39,0) NOT NULL,
  user_data_64       numeric(20,0) NOT NULL,
  user_data_32       bigint        NOT NULL
);
CREATE INDEX ledger_change_transfer_idx ON ledger_change (transfer_id);
