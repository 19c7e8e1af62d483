-- The balance, statement and daily-summary read models now follow the ledger's change feed
-- (projections/src/read-models), whose events carry both accounts' balances AS OF the event:
-- a row is the ledger's own number, never a sum this store kept, so holds that expire, raw
-- transfers and closing flags all show. They are rebuilt from the change topic (the CDC job
-- replays the ledger's whole history on its first start), so the old rows are dropped.
DROP TABLE rm_account_balance, rm_account_balance_hold, rm_account_balance_applied;
DROP TABLE rm_statement_entry, rm_statement_hold, rm_statement_applied;
DROP TABLE rm_daily_summary, rm_daily_summary_applied;

-- account-balance: per TigerBeetle account, its four totals and flags as of its latest event.
CREATE TABLE rm_account_balance (
  ledger_account_id numeric(39,0) PRIMARY KEY,
  ledger            bigint        NOT NULL,
  debits_pending    numeric(39,0) NOT NULL CHECK (debits_pending >= 0),
  debits_posted     numeric(39,0) NOT NULL CHECK (debits_posted >= 0),
  credits_pending   numeric(39,0) NOT NULL CHECK (credits_pending >= 0),
  credits_posted    numeric(39,0) NOT NULL CHECK (credits_posted >= 0),
  flags             integer       NOT NULL,
  -- The event the row stands at: a row only moves to a later one.
  last_tb_timestamp numeric(20,0) NOT NULL
);

-- statement: one row per account per event that moved its posted totals (a single-phase
-- transfer, a hold's post), with the account's posted totals as of that event. Journal, line and
-- description are joined when read (journal_transfer), so a transfer without journal metadata is
-- a visible raw movement.
CREATE TABLE rm_statement_entry (
  ledger_account_id numeric(39,0) NOT NULL,
  tb_timestamp      numeric(20,0) NOT NULL,
  transfer_id       numeric(39,0) NOT NULL,
  ledger            bigint        NOT NULL,
  side              text          NOT NULL CHECK (side IN ('DEBIT', 'CREDIT')),
  amount            numeric(39,0) NOT NULL CHECK (amount >= 0),
  type              text          NOT NULL CHECK (type IN ('single_phase', 'two_phase_posted')),
  running_debits    numeric(39,0) NOT NULL,
  running_credits   numeric(39,0) NOT NULL,
  PRIMARY KEY (ledger_account_id, tb_timestamp, transfer_id)
);

-- daily-summary: per UTC day (of the event's TigerBeetle timestamp), ledger and change type. Each
-- partition's worker counts into its own row (shard = the change topic's partition): one cell
-- shared by every partition would serialize all their transactions on its row lock. Readers use
-- the view, which adds the shards up.
CREATE TABLE rm_daily_summary_shard (
  day            date    NOT NULL,
  ledger         bigint  NOT NULL,
  type           text    NOT NULL CHECK (type IN ('single_phase', 'two_phase_pending',
                   'two_phase_posted', 'two_phase_voided', 'two_phase_expired')),
  shard          integer NOT NULL CHECK (shard >= 0),
  transfer_count bigint  NOT NULL CHECK (transfer_count >= 0),
  amount         numeric NOT NULL CHECK (amount >= 0),
  PRIMARY KEY (day, ledger, type, shard)
);
CREATE VIEW rm_daily_summary AS
  SELECT day, ledger, type, sum(transfer_count)::bigint AS transfer_count, sum(amount) AS amount
    FROM rm_daily_summary_shard GROUP BY day, ledger, type;
CREATE TABLE rm_daily_summary_applied (event_timestamp numeric(20,0) PRIMARY KEY);
