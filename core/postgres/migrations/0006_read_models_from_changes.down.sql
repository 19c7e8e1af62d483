DROP VIEW rm_daily_summary;
DROP TABLE rm_account_balance, rm_statement_entry, rm_daily_summary_shard,
  rm_daily_summary_applied;

CREATE TABLE rm_account_balance (
  ledger_account_id numeric(39,0) PRIMARY KEY,
  account_id        text,
  ledger            integer       NOT NULL,
  debits_pending    numeric(39,0) NOT NULL CHECK (debits_pending >= 0),
  debits_posted     numeric(39,0) NOT NULL CHECK (debits_posted >= 0),
  credits_pending   numeric(39,0) NOT NULL CHECK (credits_pending >= 0),
  credits_posted    numeric(39,0) NOT NULL CHECK (credits_posted >= 0),
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
  kind              text          NOT NULL CHECK (kind IN ('posted', 'hold_posted')),
  description       text          NOT NULL,
  running_debits    numeric       NOT NULL,
  running_credits   numeric       NOT NULL,
  PRIMARY KEY (account_id, tb_timestamp, transfer_id)
);
CREATE TABLE rm_statement_hold (LIKE rm_account_balance_hold INCLUDING ALL);
CREATE TABLE rm_statement_applied (event_id text PRIMARY KEY);
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
