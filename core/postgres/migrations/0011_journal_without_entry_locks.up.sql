-- journal_line and journal_transfer no longer reference journal_entry by foreign key. Each row's
-- check took a FOR KEY SHARE lock on its entry (a WAL record and a dirtied entry tuple per line and
-- per transfer, replayed again by every replica): about a tenth of the projection's cost. The
-- journal projection (projections/src/journal/projection.ts) writes, in one transaction, every
-- entry before its lines and transfers (a hold's post or void without its `held` entry gets a
-- stub first), and nothing else writes these tables, so the reference holds by construction; the
-- rebuild truncates all four tables together.
ALTER TABLE journal_line DROP CONSTRAINT journal_line_journal_id_fkey;
ALTER TABLE journal_transfer DROP CONSTRAINT journal_transfer_journal_id_fkey;
