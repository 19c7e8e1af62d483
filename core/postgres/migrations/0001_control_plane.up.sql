-- The control plane: the asset and account-type registry, and account metadata.
-- TigerBeetle holds the balances; these rows say what each TigerBeetle account is.
-- Unqualified names: tables land in the first schema of search_path (tests use one each).

CREATE TABLE asset (
  code   text     PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9]{1,11}$'),
  -- The TigerBeetle ledger (u32, non-zero) every account of this asset lives in.
  ledger integer  NOT NULL UNIQUE CHECK (ledger > 0),
  -- Minor units per major unit are 10^scale (USD 2, JPY 0, BTC 8).
  scale  smallint NOT NULL CHECK (scale BETWEEN 0 AND 18),
  name   text     NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200)
);

CREATE TABLE account_type (
  code          text     PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
  -- The side on which the balance grows: DEBIT for assets and expenses, CREDIT for the rest.
  normal_side   text     NOT NULL CHECK (normal_side IN ('DEBIT', 'CREDIT')),
  -- The TigerBeetle account `code` (u16, non-zero) of accounts of this type.
  tb_code       smallint NOT NULL UNIQUE CHECK (tb_code > 0),
  -- TigerBeetle AccountFlags applied by default: only debits_must_not_exceed_credits (2),
  -- credits_must_not_exceed_debits (4) and history (8), and never 2 with 4.
  default_flags integer  NOT NULL DEFAULT 0
    CHECK ((default_flags & ~14) = 0 AND (default_flags & 6) <> 6),
  description   text     NOT NULL CHECK (char_length(description) BETWEEN 1 AND 200)
);

CREATE TABLE account (
  -- Client-supplied, same alphabet as journal ids.
  account_id   text          PRIMARY KEY CHECK (account_id ~ '^[A-Za-z0-9._:-]{1,128}$'),
  -- The TigerBeetle account id (u128, derived from account_id): neither 0 nor 2^128 - 1.
  ledger_id    numeric(39,0) NOT NULL UNIQUE
    CHECK (ledger_id > 0 AND ledger_id < 340282366920938463463374607431768211455),
  name         text          NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  holder_id    text          NOT NULL CHECK (char_length(holder_id) BETWEEN 1 AND 128),
  account_type text          NOT NULL REFERENCES account_type (code),
  asset        text          NOT NULL REFERENCES asset (code),
  -- The TigerBeetle AccountFlags the account was created with (same bits as default_flags).
  flags        integer       NOT NULL CHECK ((flags & ~14) = 0 AND (flags & 6) <> 6),
  created_at   timestamptz   NOT NULL DEFAULT now(),
  metadata     jsonb         NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX account_holder_id_idx ON account (holder_id);

INSERT INTO asset (code, ledger, scale, name) VALUES
  ('USD', 1, 2, 'US dollar'),
  ('EUR', 2, 2, 'Euro'),
  ('JPY', 3, 0, 'Japanese yen'),
  ('BTC', 4, 8, 'Bitcoin');

-- Accounts we owe to someone (liabilities: customer wallets) must not go negative by default:
-- debits_must_not_exceed_credits (2). The rest may be overdrawn unless an account asks otherwise.
INSERT INTO account_type (code, normal_side, tb_code, default_flags, description) VALUES
  ('asset',     'DEBIT',  1, 0, 'What the operator owns or is owed (bank, receivables)'),
  ('liability', 'CREDIT', 2, 2, 'What the operator owes (customer wallets); never negative'),
  ('equity',    'CREDIT', 3, 0, 'Owners'' capital and retained earnings'),
  ('revenue',   'CREDIT', 4, 0, 'Income earned'),
  ('expense',   'DEBIT',  5, 0, 'Costs incurred'),
  ('house',     'CREDIT', 6, 0, 'The operator''s own house account (a hot account)'),
  ('fee',       'CREDIT', 7, 0, 'Fees collected (a hot account)'),
  ('world',     'DEBIT',  8, 0, 'The outside world: source and sink of money entering or leaving');
