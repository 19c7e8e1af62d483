-- Read models fed by the projection runner from the journal outcome events (projections/src/
-- read-models/). Each model owns its tables, an applied-events table (idempotence by event id)
-- and, where a hold's post or void needs it, the holds it has seen. Every value is derived from
-- the events alone (TigerBeetle ids, amounts and timestamps), never from now() or serials, so a
-- rebuild gives byte-identical tables. Amounts are numeric(39,0) (u128); sums over many accounts
-- are unbounded numeric. TigerBeetle timestamps (u64 ns) are numeric(20,0).

-- account-balance: TigerBeetle's four totals per account, as the events moved them.
CREATE TABLE rm_account_balance (
  ledger_account_id numeric(39,0) PRIMARY KEY,
  -- The journal line's account id; null only for a hold resolved whose hold was never seen.
  account_id        text,
  ledger            integer       NOT NULL,
  debits_pending    numeric(39,0) NOT NULL CHECK (debits_pending >= 0),
  debits_posted     numeric(39,0) NOT NULL CHECK (debits_posted >= 0),
  credits_pending   numeric(39,0) NOT NULL CHECK (credits_pending >= 0),
  credits_posted    numeric(39,0) NOT NULL CHECK (credits_posted >= 0),
  -- The latest TigerBeetle timestamp that moved this account.
  last_tb_timestamp numeric(20,0) NOT NULL
);
CREATE UNIQUE INDEX rm_account_balance_account_id_idx ON rm_account_balance (account_id);
CREATE TABLE rm_account_balance_hold (
  transfer_id       numeric(39,0) PRIMARY KEY,
  journal_id        text          NOT NULL,
  ledger            integer       NOT NULL,
  debit_ledger_id   numeric(39,0) NOT NULL,
  credit_ledger_id  numeric(39,0) NOT NULL,
  debit_account_id  text          NOT NULL,
  credit_account_id text          NOT NULL,
  debit_line        integer       NOT NULL,
  credit_line       integer       NOT NULL,
  amount            numeric(39,0) NOT NULL,
  description       text          NOT NULL
);
CREATE TABLE rm_account_balance_applied (event_id text PRIMARY KEY);

-- statement: one row per account per posting, with running totals through that row in
-- (tb_timestamp, transfer_id) order; the balance on the normal side is computed when read.
CREATE TABLE rm_statement_entry (
  account_id        text          NOT NULL,
  tb_timestamp      numeric(20,0) NOT NULL,
  transfer_id       numeric(39,0) NOT NULL,
  ledger_account_id numeric(39,0) NOT NULL,
  ledger            integer       NOT NULL,
  journal_id        text          NOT NULL,
  line_number       integer       NOT NULL,
  side              text          NOT NULL CHECK (side IN ('DEBIT', 'CREDIT')),
  amount            numeric(39,0) NOT NULL CHECK (amount >= 0),
  -- 'posted' (a journal) or 'hold_posted' (a hold's post).
  kind              text          NOT NULL CHECK (kind IN ('posted', 'hold_posted')),
  description       text          NOT NULL,
  running_debits    numeric       NOT NULL,
  running_credits   numeric       NOT NULL,
  -- The primary key is also the keyset pagination index of a statement.
  PRIMARY KEY (account_id, tb_timestamp, transfer_id)
);
CREATE TABLE rm_statement_hold (LIKE rm_account_balance_hold INCLUDING ALL);
CREATE TABLE rm_statement_applied (event_id text PRIMARY KEY);

-- daily-summary: per UTC day (of the event's TigerBeetle timestamp), ledger and outcome kind.
CREATE TABLE rm_daily_summary (
  day            date    NOT NULL,
  ledger         integer NOT NULL,
  kind           text    NOT NULL
    CHECK (kind IN ('posted', 'held', 'hold_posted', 'hold_voided', 'rejected')),
  journal_count  bigint  NOT NULL CHECK (journal_count >= 0),
  transfer_count bigint  NOT NULL CHECK (transfer_count >= 0),
  amount         numeric NOT NULL CHECK (amount >= 0),
  PRIMARY KEY (day, ledger, kind)
);
CREATE TABLE rm_daily_summary_applied (event_id text PRIMARY KEY);

-- holder-dashboard: per holder, the accounts that moved, totals per asset, last activity.
CREATE TABLE rm_holder (
  holder_id         text          PRIMARY KEY,
  account_count     integer       NOT NULL CHECK (account_count >= 0),
  event_count       bigint        NOT NULL CHECK (event_count >= 0),
  last_tb_timestamp numeric(20,0) NOT NULL
);
CREATE TABLE rm_holder_account (
  account_id         text          PRIMARY KEY,
  holder_id          text          NOT NULL,
  asset              text          NOT NULL,
  first_tb_timestamp numeric(20,0) NOT NULL,
  last_tb_timestamp  numeric(20,0) NOT NULL
);
CREATE INDEX rm_holder_account_holder_idx ON rm_holder_account (holder_id);
CREATE TABLE rm_holder_asset (
  holder_id         text          NOT NULL,
  asset             text          NOT NULL,
  debits_pending    numeric       NOT NULL CHECK (debits_pending >= 0),
  debits_posted     numeric       NOT NULL CHECK (debits_posted >= 0),
  credits_pending   numeric       NOT NULL CHECK (credits_pending >= 0),
  credits_posted    numeric       NOT NULL CHECK (credits_posted >= 0),
  -- Posted balance on each account's normal side, summed (signed).
  balance_posted    numeric       NOT NULL,
  last_tb_timestamp numeric(20,0) NOT NULL,
  PRIMARY KEY (holder_id, asset)
);
CREATE TABLE rm_holder_hold (LIKE rm_account_balance_hold INCLUDING ALL);
CREATE TABLE rm_holder_applied (event_id text PRIMARY KEY);
