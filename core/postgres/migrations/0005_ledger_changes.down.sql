DROP TABLE ledger_change;
