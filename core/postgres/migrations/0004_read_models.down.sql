-- Reverts 0004: drops every read model table (they are rebuilt from the events).
DROP TABLE rm_holder_applied;
DROP TABLE rm_holder_hold;
DROP TABLE rm_holder_asset;
DROP TABLE rm_holder_account;
DROP TABLE rm_holder;
DROP TABLE rm_daily_summary_applied;
DROP TABLE rm_daily_summary;
DROP TABLE rm_statement_applied;
DROP TABLE rm_statement_hold;
DROP TABLE rm_statement_entry;
DROP TABLE rm_account_balance_applied;
DROP TABLE rm_account_balance_hold;
DROP TABLE rm_account_balance;
